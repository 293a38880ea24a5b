#include "gateway/s3_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/checksum.h"

namespace dim {

Result<sigv4::Credentials> LoadOrCreateS3Credentials(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & 077) {
      return Status::PermissionDenied(path +
                                      " is readable by others; chmod 600 it (or remove it "
                                      "to get a new key pair)");
    }
    std::ifstream in(path);
    sigv4::Credentials c;
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("aws_access_key_id=", 0) == 0) c.access_key = line.substr(18);
      if (line.rfind("aws_secret_access_key=", 0) == 0) c.secret_key = line.substr(22);
    }
    if (c.access_key.empty() || c.secret_key.empty()) {
      return Status::InvalidArgument(path +
                                     " needs aws_access_key_id= and aws_secret_access_key= lines");
    }
    return c;
  }
  sigv4::Credentials c;
  c.access_key = "DIM" + RandomHex(9).substr(0, 17);
  for (auto& ch : c.access_key)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  c.secret_key = RandomHex(20);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  std::string text =
      "aws_access_key_id=" + c.access_key + "\naws_secret_access_key=" + c.secret_key + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::Unavailable("cannot write " + path);
  return c;
}

}  // namespace dim
