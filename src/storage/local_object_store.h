// ObjectStore on a local directory. Writes go to DIR/.dim-tmp, are fsynced, verified against
// PutOptions::expected_sha256 when given, then renamed into place (and the directory fsynced):
// a crash leaves the old bytes or the new, never a torn file. Names are mapped to paths by
// local_path_codec.h, so no blob name reaches outside DIR.
// Limitation: a blob name that is a proper prefix directory of another ("a@1" and "a@1/b") cannot
// coexist; the second put fails with FailedPrecondition.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace dim {

class LocalObjectStore final : public ObjectStore {
 public:
  // Creates DIR if needed.
  static Result<std::unique_ptr<LocalObjectStore>> Make(const std::string& site_name,
                                                        const std::filesystem::path& root);

  const std::string& name() const override { return name_; }
  Result<std::optional<ObjectInfo>> Head(const std::string& blob) override;
  // The stream checks at its end that the file was not changed or replaced (FailedPrecondition).
  Result<BlobReader> GetWithInfo(const std::string& blob) override;
  Result<std::unique_ptr<ByteSource>> Get(const std::string& blob,
                                          std::optional<ByteRange> range) override;
  Result<PutResult> Put(const std::string& blob, ByteSource& data, const PutOptions& options) override;
  Status Delete(const std::string& blob) override;
  Result<ListPage> List(const std::string& prefix, const std::string& token, int max) override;
  Result<std::string> CreateMultipart(const std::string& blob, const PutOptions& options) override;
  Result<PutResult> UploadPart(const std::string& blob, const std::string& upload_id,
                               int part_number, ByteSource& data, int64_t size) override;
  Result<PutResult> CompleteMultipart(const std::string& blob, const std::string& upload_id,
                                      const std::vector<CompletedPart>& parts) override;
  Status AbortMultipart(const std::string& blob, const std::string& upload_id) override;

  const std::filesystem::path& root() const { return root_; }
  // The file holding a blob (for tests and tools).
  std::filesystem::path PathOf(const std::string& blob) const;

 private:
  LocalObjectStore(std::string name, std::filesystem::path root)
      : name_(std::move(name)), root_(std::move(root)) {}
  Status Error(StatusCode code, const std::string& what) const;
  Status ErrnoError(const std::string& what, int err) const;
  // An open descriptor of the regular file at `path` (NotFound if there is none) and its stat.
  Result<int> OpenForRead(const std::filesystem::path& path, const std::string& blob,
                          struct stat* st) const;
  // Streams `data` into a new temp file; returns its path and digests.
  // md5: also compute PutResult::md5 (otherwise left empty).
  Result<std::pair<std::filesystem::path, PutResult>> WriteTemp(ByteSource& data, bool md5 = true);
  Status Publish(const std::filesystem::path& tmp, const std::string& blob);
  Result<std::filesystem::path> UploadDir(const std::string& upload_id) const;

  std::string name_;
  std::filesystem::path root_;
};

}  // namespace dim
