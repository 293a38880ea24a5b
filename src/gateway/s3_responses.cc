#include "gateway/s3_responses.h"

#include "gateway/http_date.h"
#include "gateway/xml_writer.h"

namespace dim {
namespace {

void WriteOwner(XmlWriter& w, const S3Owner& o, const char* element = "Owner") {
  w.Open(element).Element("ID", o.id).Element("DisplayName", o.display_name).Close();
}

std::string MaybeEncode(const std::string& s, bool url) {
  return url ? sigv4::UriEncode(s, /*encode_slash=*/false) : s;
}

void WriteContents(XmlWriter& w, const ObjectRecord& o, bool url, const S3Owner* owner) {
  w.Open("Contents")
      .Element("Key", MaybeEncode(o.key.key, url))
      .Element("LastModified", FormatIso8601(o.modified_ms))
      .Element("ETag", QuotedEtag(o.etag))
      .Number("Size", o.size);
  if (owner) WriteOwner(w, *owner);
  // Every tier is served at once through the gateway, so clients see the standard class.
  w.Element("StorageClass", "STANDARD").Close();
}

}  // namespace

std::string QuotedEtag(const std::string& etag) { return "\"" + etag + "\""; }

std::string RenderError(const S3Error& e, const std::string& resource,
                        const std::string& request_id) {
  XmlWriter w;
  w.Open("Error").Element("Code", e.name()).Element("Message", e.Message());
  for (const auto& [k, v] : e.details) w.Element(k, v);
  if (!resource.empty()) w.Element("Resource", resource);
  w.Element("RequestId", request_id);
  return w.Finish();
}

std::string RenderListBuckets(const std::vector<BucketRecord>& buckets, const S3Owner& owner) {
  XmlWriter w;
  w.Open("ListAllMyBucketsResult", kS3Xmlns);
  WriteOwner(w, owner);
  w.Open("Buckets");
  for (const auto& b : buckets) {
    w.Open("Bucket")
        .Element("Name", b.name)
        .Element("CreationDate", FormatIso8601(b.created_ms))
        .Close();
  }
  w.Close();
  return w.Finish();
}

std::string RenderListObjectsV2(const ListRequestEcho& req, const S3Service::ListOutput& out,
                                const S3Owner& owner) {
  XmlWriter w;
  w.Open("ListBucketResult", kS3Xmlns)
      .Element("Name", req.bucket)
      .Element("Prefix", MaybeEncode(req.prefix, req.url_encode));
  if (!req.delimiter.empty()) w.Element("Delimiter", MaybeEncode(req.delimiter, req.url_encode));
  w.Number("MaxKeys", req.max_keys);
  if (req.url_encode) w.Element("EncodingType", "url");
  w.Number("KeyCount", static_cast<int64_t>(out.objects.size() + out.common_prefixes.size()));
  w.Bool("IsTruncated", out.truncated);
  if (!req.continuation_token.empty()) w.Element("ContinuationToken", req.continuation_token);
  if (!req.next_continuation_token.empty())
    w.Element("NextContinuationToken", req.next_continuation_token);
  if (!req.start_after.empty())
    w.Element("StartAfter", MaybeEncode(req.start_after, req.url_encode));
  for (const auto& o : out.objects)
    WriteContents(w, o, req.url_encode, req.fetch_owner ? &owner : nullptr);
  for (const auto& p : out.common_prefixes) {
    w.Open("CommonPrefixes").Element("Prefix", MaybeEncode(p, req.url_encode)).Close();
  }
  return w.Finish();
}

std::string RenderListObjectsV1(const ListRequestEcho& req, const S3Service::ListOutput& out,
                                const S3Owner& owner) {
  XmlWriter w;
  w.Open("ListBucketResult", kS3Xmlns)
      .Element("Name", req.bucket)
      .Element("Prefix", MaybeEncode(req.prefix, req.url_encode))
      .Element("Marker", MaybeEncode(req.marker, req.url_encode));
  // S3 sends NextMarker only with a delimiter; without one clients continue from the last key.
  if (out.truncated && !req.delimiter.empty())
    w.Element("NextMarker", MaybeEncode(out.last, req.url_encode));
  w.Number("MaxKeys", req.max_keys);
  if (!req.delimiter.empty()) w.Element("Delimiter", MaybeEncode(req.delimiter, req.url_encode));
  if (req.url_encode) w.Element("EncodingType", "url");
  w.Bool("IsTruncated", out.truncated);
  for (const auto& o : out.objects) WriteContents(w, o, req.url_encode, &owner);
  for (const auto& p : out.common_prefixes) {
    w.Open("CommonPrefixes").Element("Prefix", MaybeEncode(p, req.url_encode)).Close();
  }
  return w.Finish();
}

std::string RenderCopyResult(const char* root, const std::string& etag, int64_t modified_ms) {
  XmlWriter w;
  w.Open(root, kS3Xmlns)
      .Element("LastModified", FormatIso8601(modified_ms))
      .Element("ETag", QuotedEtag(etag));
  return w.Finish();
}

std::string RenderInitiateMultipart(const UploadRecord& u) {
  XmlWriter w;
  w.Open("InitiateMultipartUploadResult", kS3Xmlns)
      .Element("Bucket", u.key.bucket)
      .Element("Key", u.key.key)
      .Element("UploadId", u.upload_id);
  return w.Finish();
}

std::string RenderCompleteMultipart(const std::string& location, const ObjectRecord& o) {
  XmlWriter w;
  w.Open("CompleteMultipartUploadResult", kS3Xmlns)
      .Element("Location", location)
      .Element("Bucket", o.key.bucket)
      .Element("Key", o.key.key)
      .Element("ETag", QuotedEtag(o.etag));
  return w.Finish();
}

std::string RenderListParts(const S3Service::PartsOutput& out, int marker, int max_parts,
                            const S3Owner& owner) {
  XmlWriter w;
  w.Open("ListPartsResult", kS3Xmlns)
      .Element("Bucket", out.upload.key.bucket)
      .Element("Key", out.upload.key.key)
      .Element("UploadId", out.upload.upload_id);
  WriteOwner(w, owner, "Initiator");
  WriteOwner(w, owner);
  w.Element("StorageClass", "STANDARD")
      .Number("PartNumberMarker", marker)
      .Number("NextPartNumberMarker", out.next_marker)
      .Number("MaxParts", max_parts)
      .Bool("IsTruncated", out.truncated);
  for (const auto& p : out.parts) {
    w.Open("Part")
        .Number("PartNumber", p.part_number)
        .Element("LastModified", FormatIso8601(p.uploaded_ms))
        .Element("ETag", QuotedEtag(p.etag))
        .Number("Size", p.size)
        .Close();
  }
  return w.Finish();
}

std::string RenderListUploads(const UploadsRequestEcho& req, const S3Service::UploadsOutput& out,
                              const S3Owner& owner) {
  XmlWriter w;
  w.Open("ListMultipartUploadsResult", kS3Xmlns)
      .Element("Bucket", req.bucket)
      .Element("KeyMarker", MaybeEncode(req.key_marker, req.url_encode))
      .Element("UploadIdMarker", req.upload_id_marker);
  if (out.truncated) {
    w.Element("NextKeyMarker", MaybeEncode(out.next_key_marker, req.url_encode))
        .Element("NextUploadIdMarker", out.next_upload_id_marker);
  }
  if (!req.prefix.empty()) w.Element("Prefix", MaybeEncode(req.prefix, req.url_encode));
  if (!req.delimiter.empty()) w.Element("Delimiter", MaybeEncode(req.delimiter, req.url_encode));
  if (req.url_encode) w.Element("EncodingType", "url");
  w.Number("MaxUploads", req.max_uploads).Bool("IsTruncated", out.truncated);
  for (const auto& u : out.uploads) {
    w.Open("Upload")
        .Element("Key", MaybeEncode(u.key.key, req.url_encode))
        .Element("UploadId", u.upload_id);
    WriteOwner(w, owner, "Initiator");
    WriteOwner(w, owner);
    w.Element("StorageClass", "STANDARD")
        .Element("Initiated", FormatIso8601(u.initiated_ms))
        .Close();
  }
  for (const auto& p : out.common_prefixes) {
    w.Open("CommonPrefixes").Element("Prefix", MaybeEncode(p, req.url_encode)).Close();
  }
  return w.Finish();
}

std::string RenderDeleteResult(const std::vector<S3Service::DeleteEntry>& entries, bool quiet) {
  XmlWriter w;
  w.Open("DeleteResult", kS3Xmlns);
  for (const auto& e : entries) {
    if (e.error) {
      w.Open("Error")
          .Element("Key", e.key)
          .Element("Code", e.error->name())
          .Element("Message", e.error->Message())
          .Close();
    } else if (!quiet) {
      w.Open("Deleted").Element("Key", e.key).Close();
    }
  }
  return w.Finish();
}

std::string RenderLocation(const std::string& region) {
  XmlWriter w;
  // us-east-1 is spelled as an empty constraint, as S3 does.
  w.ElementWith("LocationConstraint", {{"xmlns", kS3Xmlns}}, region == "us-east-1" ? "" : region);
  return w.Finish();
}

std::string RenderAcl(const S3Owner& owner) {
  XmlWriter w;
  w.Open("AccessControlPolicy", kS3Xmlns);
  WriteOwner(w, owner);
  w.Open("AccessControlList").Open("Grant");
  w.OpenWith("Grantee", {{"xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"},
                         {"xsi:type", "CanonicalUser"}})
      .Element("ID", owner.id)
      .Element("DisplayName", owner.display_name)
      .Close();
  w.Element("Permission", "FULL_CONTROL");
  return w.Finish();
}

std::string RenderVersioning() {
  XmlWriter w;
  w.Open("VersioningConfiguration", kS3Xmlns);
  return w.Finish();
}

}  // namespace dim
