// The S3 operations, without their wire format: what each operation does to buckets, objects
// and multipart uploads, with S3's rules (idempotent deletes, conditional requests, ETags,
// minimum part sizes, part order, copy limits) and S3's errors. The HTTP front (s3_gateway.h)
// turns requests into these calls and results into responses. Reads come from a live replica
// (ReplicaReader), writes go through ObjectWriter. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "gateway/body_verifier.h"
#include "gateway/object_writer.h"
#include "gateway/replica_reader.h"
#include "gateway/s3_conditions.h"
#include "gateway/s3_error.h"
#include "gateway/s3_request.h"
#include "store/metadata_store.h"

namespace dim {

// A request body as the operations see it: the decoded bytes and what the client promised about
// them (checked while they stream; trailers are read at the end).
struct RequestBody {
  ByteSource* source = nullptr;
  BodyExpectations expect;
  const std::map<std::string, std::string>* trailers = nullptr;
};

class S3Service {
 public:
  S3Service(MetadataStore& store, ObjectWriter& writer, ReplicaReader& reader, const Clock& clock,
            int max_attempts);

  // ---- Buckets ---------------------------------------------------------------------------------
  S3Result<std::vector<BucketRecord>> ListBuckets();
  S3Result<Done> CreateBucket(const std::string& bucket);
  S3Result<Done> DeleteBucket(const std::string& bucket);
  S3Result<BucketRecord> HeadBucket(const std::string& bucket);

  // ---- Objects ---------------------------------------------------------------------------------
  struct PutInput {
    ObjectKey key;
    ContentFields content;
    Preconditions conditions;  // If-Match / If-None-Match on writes
  };
  struct PutOutput {
    ObjectRecord object;
    std::string checksum_header;  // e.g. x-amz-checksum-crc32, when the client sent one
    std::string checksum_value;
  };
  S3Result<PutOutput> PutObject(const PutInput& in, const RequestBody& body);

  struct GetInput {
    ObjectKey key;
    std::optional<RangeSpec> range;
    Preconditions conditions;
    bool head = false;  // no bytes wanted
  };
  struct GetOutput {
    ObjectRecord object;
    std::optional<ByteRange> range;    // the bytes served when a range was asked for
    std::unique_ptr<ByteSource> data;  // null for HEAD
    std::string site;                  // where the bytes come from
  };
  // NotModified and PreconditionFailed come back as errors (their HTTP statuses are 304/412).
  S3Result<GetOutput> GetObject(const GetInput& in);

  // Deleting a missing key succeeds (S3 is idempotent); a missing bucket is NoSuchBucket.
  S3Result<Done> DeleteObject(const ObjectKey& key);
  struct DeleteEntry {
    std::string key;
    std::optional<S3Error> error;
  };
  S3Result<std::vector<DeleteEntry>> DeleteObjects(const std::string& bucket,
                                                   const std::vector<std::string>& keys);

  struct CopyInput {
    ObjectKey source;
    ObjectKey dest;
    Preconditions source_conditions;
    bool replace_metadata = false;  // x-amz-metadata-directive: REPLACE
    ContentFields content;          // when replacing
  };
  struct CopyOutput {
    ObjectRecord object;
    ObjectRecord source;
  };
  S3Result<CopyOutput> CopyObject(const CopyInput& in);

  struct ListInput {
    std::string bucket;
    std::string prefix;
    std::string delimiter;
    std::string after;  // exclusive: a key, or a common prefix already returned
    int max_keys = 1000;
  };
  struct ListOutput {
    std::vector<ObjectRecord> objects;
    std::vector<std::string> common_prefixes;
    bool truncated = false;
    std::string last;  // the last key or common prefix returned (V1's NextMarker)
  };
  S3Result<ListOutput> ListObjects(const ListInput& in);

  // ---- Multipart uploads -----------------------------------------------------------------------
  S3Result<UploadRecord> CreateMultipartUpload(const PutInput& in);
  struct PartOutput {
    PartRecord part;
    std::string checksum_header, checksum_value;
  };
  S3Result<PartOutput> UploadPart(const ObjectKey& key, const std::string& upload_id,
                                  int part_number, const RequestBody& body);
  struct PartCopyInput {
    ObjectKey key;
    std::string upload_id;
    int part_number = 0;
    ObjectKey source;
    std::optional<RangeSpec> source_range;  // x-amz-copy-source-range
    bool source_range_given = false;        // given but unparsable is InvalidArgument
    Preconditions source_conditions;
  };
  S3Result<PartRecord> UploadPartCopy(const PartCopyInput& in);
  S3Result<ObjectRecord> CompleteMultipartUpload(const ObjectKey& key, const std::string& upload_id,
                                                 const std::vector<CompletedPart>& parts,
                                                 const Preconditions& conditions);
  S3Result<Done> AbortMultipartUpload(const ObjectKey& key, const std::string& upload_id);
  struct PartsOutput {
    UploadRecord upload;
    std::vector<PartRecord> parts;
    bool truncated = false;
    int next_marker = 0;
  };
  S3Result<PartsOutput> ListParts(const ObjectKey& key, const std::string& upload_id, int marker,
                                  int max_parts);
  struct UploadsInput {
    std::string bucket, prefix, delimiter, key_marker, upload_id_marker;
    int max_uploads = 1000;
  };
  struct UploadsOutput {
    std::vector<UploadRecord> uploads;
    std::vector<std::string> common_prefixes;
    bool truncated = false;
    std::string next_key_marker, next_upload_id_marker;
  };
  S3Result<UploadsOutput> ListMultipartUploads(const UploadsInput& in);

 private:
  S3Result<Done> RequireBucket(const std::string& bucket);
  S3Result<ObjectRecord> RequireObject(const ObjectKey& key);
  S3Result<UploadRecord> RequireUpload(const ObjectKey& key, const std::string& upload_id);
  // The version a conditional write must find (nullopt: unconditional).
  S3Result<std::optional<int64_t>> WriteCondition(const ObjectKey& key, const Preconditions& c);
  // Maps a failed write, telling a broken body promise from a store failure.
  S3Error WriteError(const Status& st, const VerifyingSource& v, const ObjectKey& key);
  // GetObject's core, shared by the copies: reads the record, checks the conditions, resolves
  // the range and opens the bytes, once more if an overwrite raced the open. For a copy source
  // a failed If-None-Match / If-Modified-Since is PreconditionFailed rather than NotModified.
  S3Result<GetOutput> Read(const GetInput& in, bool copy_source);

  MetadataStore& store_;
  ObjectWriter& writer_;
  ReplicaReader& reader_;
  const Clock& clock_;
  int max_attempts_;
};

}  // namespace dim
