#include "api/admin_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/checksum.h"

namespace dim {

Result<std::string> LoadOrCreateAdminToken(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (st.st_mode & 077) {
      return Status::PermissionDenied(path + " is readable by others (mode " +
                                      std::to_string(st.st_mode & 0777) +
                                      "); chmod 600 it or remove it to get a new token");
    }
    std::ifstream in(path);
    std::string token;
    std::getline(in, token);
    if (token.size() < 16) return Status::InvalidArgument(path + " does not hold a valid token");
    return token;
  }
  std::string token = RandomHex(32);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::Unavailable("cannot write " + path);
  return token;
}

bool BearerMatches(std::string_view header, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() != kPrefix.size() + token.size() || header.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(header[kPrefix.size() + i] ^ token[i]);
  }
  return diff == 0;
}

}  // namespace dim
