#include "storage/local_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "core/checksum.h"
#include "storage/local_path_codec.h"

namespace fs = std::filesystem;

namespace dim {
namespace {

constexpr const char* kTmpDir = ".dim-tmp";
// A file being written is handed to the disk in pieces of at least this size (early writeback).
constexpr int64_t kWritebackBytes = 4 << 20;

// Streams a file (or part of it) in chunks.
class FileSource final : public ByteSource {
 public:
  FileSource(int fd, int64_t left, std::string site) : fd_(fd), left_(left), site_(std::move(site)) {}
  ~FileSource() override { ::close(fd_); }
  // At the end, checks that the file is still the one `opened` describes, at `path`, unchanged.
  void Watch(fs::path path, std::string blob, const struct stat& opened) {
    watch_ = true;
    path_ = std::move(path);
    blob_ = std::move(blob);
    opened_ = opened;
  }
  Result<size_t> Read(char* buf, size_t n) override {
    if (left_ <= 0) {
      DIM_RETURN_IF_ERROR(AtEnd());
      return size_t{0};
    }
    size_t want = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
    for (;;) {
      ssize_t k = ::read(fd_, buf, want);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return Status::Unavailable("site " + site_ + ": read: " + std::strerror(errno));
      left_ -= k;
      if (k == 0) left_ = 0;  // file shrank under us; the checksum will tell
      if (k == 0) DIM_RETURN_IF_ERROR(AtEnd());
      return static_cast<size_t>(k);
    }
  }

 private:
  // The end of the file was reached: checks it once when watched.
  Status AtEnd() {
    if (!watch_) return Status::OK();
    watch_ = false;
    return CheckUnchanged();
  }
  Status CheckUnchanged() const {
    auto changed = [&](const std::string& how) {
      return Status::FailedPrecondition("site " + site_ + ": " + blob_ + " " + how +
                                        " while it was being read");
    };
    struct stat now;
    if (::fstat(fd_, &now) != 0) return changed("could not be checked (fstat failed)");
    if (now.st_size != opened_.st_size || now.st_mtim.tv_sec != opened_.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != opened_.st_mtim.tv_nsec) {
      return changed("changed (" + std::to_string(opened_.st_size) + " -> " +
                     std::to_string(now.st_size) + " bytes)");
    }
    struct stat at_path;
    if (::stat(path_.c_str(), &at_path) != 0) return changed("disappeared");
    if (at_path.st_ino != opened_.st_ino || at_path.st_dev != opened_.st_dev) {
      return changed("was replaced");
    }
    return Status::OK();
  }

  bool watch_ = false;
  fs::path path_;
  std::string blob_;
  struct stat opened_ {};
  int fd_;
  int64_t left_;
  std::string site_;
};

Status WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return Status::Unavailable(std::string("write: ") + std::strerror(errno));
    p += k;
    n -= static_cast<size_t>(k);
  }
  return Status::OK();
}

// A regular file's stat as the blob's ObjectInfo (no etag).
ObjectInfo InfoFromStat(const std::string& blob, const struct stat& st) {
  ObjectInfo info;
  info.name = blob;
  info.size = st.st_size;
  info.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return info;
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::Unavailable("open dir " + dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::Unavailable("fsync dir: " + std::string(std::strerror(errno)));
  return Status::OK();
}

bool ValidUploadId(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Make(const std::string& site_name,
                                                                  const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / kTmpDir / "mpu", ec);
  if (ec) {
    return Status::Unavailable("site " + site_name + ": cannot create " + root.string() + ": " +
                               ec.message());
  }
  fs::path canon = fs::weakly_canonical(root, ec);
  if (ec) canon = root;
  return std::unique_ptr<LocalObjectStore>(new LocalObjectStore(site_name, canon));
}

Status LocalObjectStore::Error(StatusCode code, const std::string& what) const {
  return Status(code, "site " + name_ + ": " + what);
}

Status LocalObjectStore::ErrnoError(const std::string& what, int err) const {
  StatusCode code = StatusCode::kUnavailable;
  if (err == ENOENT) code = StatusCode::kNotFound;
  else if (err == ENOTDIR || err == EISDIR || err == EEXIST || err == ENOTEMPTY) code = StatusCode::kFailedPrecondition;
  else if (err == ENOSPC || err == EDQUOT) code = StatusCode::kResourceExhausted;
  else if (err == ENAMETOOLONG) code = StatusCode::kInvalidArgument;
  else if (err == EACCES || err == EPERM) code = StatusCode::kPermissionDenied;
  return Error(code, what + ": " + std::strerror(err));
}

fs::path LocalObjectStore::PathOf(const std::string& blob) const {
  return root_ / EncodeBlobPath(blob);
}

Result<std::optional<ObjectInfo>> LocalObjectStore::Head(const std::string& blob) {
  struct stat st;
  if (::stat(PathOf(blob).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<ObjectInfo>();
    return ErrnoError("stat " + blob, errno);
  }
  if (!S_ISREG(st.st_mode)) return std::optional<ObjectInfo>();
  return std::optional<ObjectInfo>(InfoFromStat(blob, st));
}

Result<int> LocalObjectStore::OpenForRead(const fs::path& path, const std::string& blob,
                                          struct stat* st) const {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) {
      return Error(StatusCode::kNotFound, "no blob " + blob);
    }
    return ErrnoError("open " + blob, err);
  }
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    ::close(fd);
    return Error(StatusCode::kNotFound, "no blob " + blob);
  }
  return fd;
}

Result<std::unique_ptr<ByteSource>> LocalObjectStore::Get(const std::string& blob,
                                                          std::optional<ByteRange> range) {
  struct stat st;
  DIM_ASSIGN_OR_RETURN(int fd, OpenForRead(PathOf(blob), blob, &st));
  int64_t size = st.st_size;
  int64_t offset = 0, length = size;
  if (range) {
    offset = range->offset;
    if (offset < 0 || (offset >= size && size > 0) || (size == 0 && offset > 0)) {
      ::close(fd);
      return Error(StatusCode::kOutOfRange, "range starts at " + std::to_string(offset) +
                                                " beyond the end of " + blob + " (" +
                                                std::to_string(size) + " bytes)");
    }
    length = range->length < 0 ? size - offset : std::min(range->length, size - offset);
    if (::lseek(fd, offset, SEEK_SET) < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("seek " + blob, err);
    }
  }
  ::posix_fadvise(fd, offset, length, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ByteSource>(new FileSource(fd, length, name_));
}

Result<BlobReader> LocalObjectStore::GetWithInfo(const std::string& blob) {
  const fs::path path = PathOf(blob);
  struct stat st;
  DIM_ASSIGN_OR_RETURN(int fd, OpenForRead(path, blob, &st));
  ::posix_fadvise(fd, 0, st.st_size, POSIX_FADV_SEQUENTIAL);
  BlobReader r;
  r.info = InfoFromStat(blob, st);
  auto src = std::make_unique<FileSource>(fd, st.st_size, name_);
  src->Watch(path, blob, st);
  r.body = std::move(src);
  return r;
}

Result<std::pair<fs::path, PutResult>> LocalObjectStore::WriteTemp(ByteSource& data,
                                                                   bool want_md5) {
  fs::path tmp = root_ / kTmpDir / ("put-" + RandomHex(12));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create temp file", errno);
  Sha256 sha;
  Md5 md5;
  int64_t total = 0;
  int64_t written_back = 0;  // bytes handed to sync_file_range
  // Not zero-filled: a small body touches only the pages it uses.
  auto buf = std::make_unique_for_overwrite<char[]>(kStreamChunk);
  Status st;
  for (;;) {
    auto r = data.Read(buf.get(), kStreamChunk);
    if (!r.ok()) {
      st = r.status();
      break;
    }
    if (*r == 0) break;
    sha.Update(buf.get(), *r);
    if (want_md5) md5.Update(buf.get(), *r);
    total += static_cast<int64_t>(*r);
    st = WriteAll(fd, buf.get(), *r);
    if (!st.ok()) {
      st = Error(st.code(), st.message());
      break;
    }
    if (total - written_back >= kWritebackBytes) {
      // Early writeback: the disk starts on these bytes while the rest is still being copied,
      // instead of taking the whole file at the fsync below (which still decides durability;
      // this is only a hint, its failure is not an error).
      ::sync_file_range(fd, written_back, total - written_back, SYNC_FILE_RANGE_WRITE);
      written_back = total;
    }
  }
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("fsync", errno);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  PutResult pr;
  pr.size = total;
  pr.sha256 = sha.FinishHex();
  if (want_md5) pr.md5 = md5.FinishHex();
  return std::make_pair(tmp, pr);
}

Status LocalObjectStore::Publish(const fs::path& tmp, const std::string& blob) {
  fs::path dst = PathOf(blob);
  // Belt and braces: the codec cannot produce an escaping path, but check anyway.
  fs::path norm = dst.lexically_normal();
  auto rel = norm.lexically_relative(root_);
  if (rel.empty() || *rel.begin() == ".." || norm.string().rfind(root_.string(), 0) != 0) {
    ::unlink(tmp.c_str());
    return Error(StatusCode::kInvalidArgument, "blob name escapes the site root: " + blob);
  }
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  if (ec) {
    ::unlink(tmp.c_str());
    return Error(ec == std::errc::not_a_directory || ec == std::errc::file_exists
                     ? StatusCode::kFailedPrecondition
                     : StatusCode::kUnavailable,
                 "cannot create directory for " + blob + ": " + ec.message() +
                     " (a blob name is a prefix of another)");
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("rename into place " + blob, err);
  }
  return FsyncDir(dst.parent_path());
}

Result<PutResult> LocalObjectStore::Put(const std::string& blob, ByteSource& data,
                                        const PutOptions& options) {
  if (blob.empty()) return Error(StatusCode::kInvalidArgument, "empty blob name");
  DIM_ASSIGN_OR_RETURN(auto written, WriteTemp(data, options.need_md5));
  auto& [tmp, pr] = written;
  if (options.size >= 0 && pr.size != options.size) {
    ::unlink(tmp.c_str());
    return Error(StatusCode::kDataLoss, "put " + blob + ": got " + std::to_string(pr.size) +
                                            " bytes, expected " + std::to_string(options.size));
  }
  if (!options.expected_sha256.empty() && pr.sha256 != options.expected_sha256) {
    ::unlink(tmp.c_str());
    return Error(StatusCode::kDataLoss, "put " + blob + ": sha256 " + pr.sha256 +
                                            " does not match expected " + options.expected_sha256);
  }
  DIM_RETURN_IF_ERROR(Publish(tmp, blob));
  return pr;
}

Status LocalObjectStore::Delete(const std::string& blob) {
  fs::path p = PathOf(blob);
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return ErrnoError("delete " + blob, errno);
  }
  // Remove directories left empty, up to the root.
  for (fs::path d = p.parent_path(); d != root_ && d.string().size() > root_.string().size();
       d = d.parent_path()) {
    if (::rmdir(d.c_str()) != 0) break;
  }
  return Status::OK();
}

Result<ListPage> LocalObjectStore::List(const std::string& prefix, const std::string& token,
                                        int max) {
  std::vector<ObjectInfo> all;
  std::error_code ec;
  fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec);
  if (ec) return ErrnoError("list", ec.value());
  for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return ErrnoError("list", ec.value());
    if (it.depth() == 0 && it->path().filename() == kTmpDir) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    auto rel = it->path().lexically_relative(root_).string();
    auto name = DecodeBlobPath(rel);
    if (!name) continue;  // not ours
    if (name->compare(0, prefix.size(), prefix) != 0) continue;
    if (!token.empty() && *name <= token) continue;
    ObjectInfo info;
    info.name = *name;
    info.size = static_cast<int64_t>(it->file_size(ec));
    all.push_back(std::move(info));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  ListPage page;
  size_t n = std::min(all.size(), static_cast<size_t>(std::max(1, max)));
  page.items.assign(std::make_move_iterator(all.begin()), std::make_move_iterator(all.begin() + n));
  if (n < all.size()) page.next_token = page.items.back().name;
  return page;
}

Result<fs::path> LocalObjectStore::UploadDir(const std::string& upload_id) const {
  if (!ValidUploadId(upload_id)) {
    return Error(StatusCode::kNotFound, "no such upload '" + upload_id + "'");
  }
  fs::path d = root_ / kTmpDir / "mpu" / upload_id;
  std::error_code ec;
  if (!fs::is_directory(d, ec)) return Error(StatusCode::kNotFound, "no such upload " + upload_id);
  return d;
}

Result<std::string> LocalObjectStore::CreateMultipart(const std::string& blob, const PutOptions&) {
  std::string id = RandomHex(16);
  fs::path d = root_ / kTmpDir / "mpu" / id;
  std::error_code ec;
  fs::create_directories(d, ec);
  if (ec) return Error(StatusCode::kUnavailable, "create upload dir: " + ec.message());
  // Remember which blob the upload is for.
  fs::path marker = d / "blob";
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return ErrnoError("create upload marker", errno);
  Status st = WriteAll(fd, blob.data(), blob.size());
  ::close(fd);
  DIM_RETURN_IF_ERROR(st);
  return id;
}

Result<PutResult> LocalObjectStore::UploadPart(const std::string& blob, const std::string& upload_id,
                                               int part_number, ByteSource& data, int64_t size) {
  if (part_number < 1 || part_number > 10000) {
    return Error(StatusCode::kInvalidArgument, "part number must be 1..10000");
  }
  DIM_ASSIGN_OR_RETURN(fs::path dir, UploadDir(upload_id));
  (void)blob;
  DIM_ASSIGN_OR_RETURN(auto written, WriteTemp(data));
  auto& [tmp, pr] = written;
  if (size >= 0 && pr.size != size) {
    ::unlink(tmp.c_str());
    return Error(StatusCode::kDataLoss, "part " + std::to_string(part_number) + ": got " +
                                            std::to_string(pr.size) + " bytes, expected " +
                                            std::to_string(size));
  }
  fs::path dst = dir / ("part-" + std::to_string(part_number));
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("store part", err);
  }
  return pr;
}

Result<PutResult> LocalObjectStore::CompleteMultipart(const std::string& blob,
                                                      const std::string& upload_id,
                                                      const std::vector<CompletedPart>& parts) {
  DIM_ASSIGN_OR_RETURN(fs::path dir, UploadDir(upload_id));
  if (parts.empty()) return Error(StatusCode::kInvalidArgument, "no parts to complete");
  fs::path tmp = root_ / kTmpDir / ("mpu-" + RandomHex(12));
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoError("create temp file", errno);
  Sha256 sha;
  Md5 whole_md5;
  std::string md5_concat;
  int64_t total = 0;
  // Not zero-filled: a small body touches only the pages it uses.
  auto buf = std::make_unique_for_overwrite<char[]>(kStreamChunk);
  Status st;
  int last = 0;
  for (const auto& p : parts) {
    if (p.part_number <= last) {
      st = Error(StatusCode::kInvalidArgument, "parts must be in ascending order");
      break;
    }
    last = p.part_number;
    fs::path part = dir / ("part-" + std::to_string(p.part_number));
    int in = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      st = Error(StatusCode::kInvalidArgument, "part " + std::to_string(p.part_number) + " was not uploaded");
      break;
    }
    Md5 part_md5;
    for (;;) {
      ssize_t k = ::read(in, buf.get(), kStreamChunk);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) {
        st = ErrnoError("read part", errno);
        break;
      }
      if (k == 0) break;
      sha.Update(buf.get(), static_cast<size_t>(k));
      part_md5.Update(buf.get(), static_cast<size_t>(k));
      total += k;
      st = WriteAll(out, buf.get(), static_cast<size_t>(k));
      if (!st.ok()) break;
    }
    ::close(in);
    if (!st.ok()) break;
    std::string raw = part_md5.FinishRaw();
    std::string want = p.etag;
    want.erase(std::remove(want.begin(), want.end(), '"'), want.end());
    if (!want.empty() && HexEncode(raw) != want) {
      st = Error(StatusCode::kInvalidArgument, "part " + std::to_string(p.part_number) +
                                                   " ETag does not match the uploaded part");
      break;
    }
    md5_concat += raw;
  }
  if (st.ok() && ::fsync(out) != 0) st = ErrnoError("fsync", errno);
  ::close(out);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  DIM_RETURN_IF_ERROR(Publish(tmp, blob));
  std::error_code ec;
  fs::remove_all(dir, ec);
  PutResult pr;
  pr.size = total;
  pr.sha256 = sha.FinishHex();
  pr.md5 = Md5::Hex(md5_concat) + "-" + std::to_string(parts.size());
  return pr;
}

Status LocalObjectStore::AbortMultipart(const std::string&, const std::string& upload_id) {
  DIM_ASSIGN_OR_RETURN(fs::path dir, UploadDir(upload_id));
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return Error(StatusCode::kUnavailable, "abort upload: " + ec.message());
  return Status::OK();
}

}  // namespace dim
