#include "gateway/body_verifier.h"

#include <cctype>

namespace dim {

S3Result<BodyExpectations> ParseBodyExpectations(const HeaderList& headers) {
  BodyExpectations e;
  if (const std::string* md5 = FindHeader(headers, "content-md5")) {
    if (!Base64Decode(*md5, &e.content_md5) || e.content_md5.size() != 16) {
      return S3Error(S3Code::kInvalidDigest);
    }
  }
  int found = 0;
  for (const auto& [name, value] : headers) {
    if (name.rfind("x-amz-checksum-", 0) != 0) continue;
    if (name == "x-amz-checksum-mode" || name == "x-amz-checksum-type") continue;
    auto alg = ChecksumAlgorithmFromHeader(name);
    if (!alg) {
      return S3Error(S3Code::kNotImplemented,
                     "checksum " + name + " is not supported; use crc32, crc32c, sha1 or sha256");
    }
    std::string raw;
    if (!Base64Decode(value, &raw) || raw.size() != ChecksumSize(*alg)) {
      return S3Error(S3Code::kInvalidRequest, "Value for " + name + " header is invalid.");
    }
    e.checksum = alg;
    e.checksum_value = value;
    ++found;
  }
  if (const std::string* trailer = FindHeader(headers, "x-amz-trailer")) {
    auto alg = ChecksumAlgorithmFromHeader(*trailer);
    if (!alg) {
      return S3Error(S3Code::kNotImplemented,
                     "trailing header '" + *trailer + "' is not supported");
    }
    e.checksum = alg;
    e.checksum_in_trailer = true;
    ++found;
  }
  if (found > 1) {
    return S3Error(S3Code::kInvalidRequest,
                   "Expecting a single x-amz-checksum- header. Multiple "
                   "checksum types are not allowed.");
  }
  return e;
}

VerifyingSource::VerifyingSource(ByteSource& inner, BodyExpectations expect,
                                 const std::map<std::string, std::string>* trailers)
    : inner_(inner), expect_(std::move(expect)), trailers_(trailers) {
  if (!expect_.content_md5.empty()) md5_ = std::make_unique<Md5>();
  if (!expect_.payload_sha256.empty()) sha_ = std::make_unique<Sha256>();
  if (expect_.checksum) checksum_ = std::make_unique<Checksummer>(*expect_.checksum);
}

Result<size_t> VerifyingSource::Read(char* buf, size_t n) {
  if (done_) return size_t{0};
  auto r = inner_.Read(buf, n);
  if (!r.ok()) return r;
  if (*r == 0) {
    done_ = true;
    DIM_RETURN_IF_ERROR(Check());
    return size_t{0};
  }
  bytes_ += static_cast<int64_t>(*r);
  if (expect_.size >= 0 && bytes_ > expect_.size) {
    failure_ = S3Error(S3Code::kInvalidRequest, "the body is longer than its declared length");
    return Status::DataLoss(failure_->message);
  }
  if (md5_) md5_->Update(buf, *r);
  if (sha_) sha_->Update(buf, *r);
  if (checksum_) checksum_->Update(buf, *r);
  return r;
}

Status VerifyingSource::Check() {
  if (expect_.size >= 0 && bytes_ != expect_.size) {
    failure_ = S3Error(S3Code::kIncompleteBody, "got " + std::to_string(bytes_) +
                                                    " bytes of a body declared as " +
                                                    std::to_string(expect_.size));
  } else if (md5_ && md5_->FinishRaw() != expect_.content_md5) {
    failure_ = S3Error(S3Code::kBadDigest,
                       "The Content-MD5 you specified did not match what we received.");
  } else if (sha_ && sha_->FinishHex() != expect_.payload_sha256) {
    failure_ = S3Error(S3Code::kXAmzContentSHA256Mismatch);
  } else if (checksum_) {
    checksum_base64_ = checksum_->FinishBase64();
    std::string want = expect_.checksum_value;
    std::string_view name = ChecksumHeaderName(*expect_.checksum);
    if (expect_.checksum_in_trailer) {
      const std::string* got = nullptr;
      if (trailers_) {
        auto it = trailers_->find(std::string(name));
        if (it != trailers_->end()) got = &it->second;
      }
      if (!got) {
        failure_ = S3Error(S3Code::kInvalidRequest, "the trailing header " + std::string(name) +
                                                        " announced by x-amz-trailer is missing");
        return Status::DataLoss(failure_->message);
      }
      want = *got;
    }
    if (want != checksum_base64_) {
      std::string alg(name.substr(15));
      for (auto& c : alg) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      failure_ = S3Error(S3Code::kBadDigest,
                         "The " + alg + " you specified did not match the calculated checksum.");
    }
  }
  if (failure_) return Status::DataLoss(failure_->Message());
  return Status::OK();
}

}  // namespace dim
