#include "gateway/aws_chunked_decoder.h"

#include <algorithm>

#include "storage/s3/sigv4.h"

namespace dim {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr int64_t kMaxChunk = int64_t{1} << 40;

bool ParseHexSize(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 11) return false;
  int64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    v = v * 16 + d;
  }
  *out = v;
  return v <= kMaxChunk;
}

}  // namespace

AwsChunkedDecoder::AwsChunkedDecoder(std::optional<Signing> signing, Sink sink)
    : signing_(std::move(signing)), sink_(std::move(sink)) {
  if (signing_) previous_signature_ = signing_->seed_signature;
}

S3Result<Done> AwsChunkedDecoder::Fail(S3Code code, std::string message) {
  error_ = S3Error(code, std::move(message));
  return *error_;
}

S3Result<Done> AwsChunkedDecoder::Feed(std::string_view data) {
  if (error_) return *error_;
  while (!data.empty()) {
    switch (state_) {
      case State::kData: {
        size_t n =
            static_cast<size_t>(std::min<int64_t>(chunk_left_, static_cast<int64_t>(data.size())));
        if (signing_) chunk_hash_.Update(data.data(), n);
        decoded_ += static_cast<int64_t>(n);
        chunk_left_ -= static_cast<int64_t>(n);
        if (!stopped_ && !sink_(data.data(), n)) stopped_ = true;
        data.remove_prefix(n);
        if (chunk_left_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kHeader:
      case State::kDataEnd:
      case State::kTrailer: {
        size_t nl = data.find('\n');
        std::string_view piece =
            data.substr(0, nl == std::string_view::npos ? data.size() : nl + 1);
        if (line_.size() + piece.size() > kMaxLine) {
          return Fail(S3Code::kInvalidRequest, "aws-chunked framing line longer than 4 KiB");
        }
        line_.append(piece);
        data.remove_prefix(piece.size());
        if (nl == std::string_view::npos) break;  // need more bytes
        if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
          return Fail(S3Code::kInvalidRequest, "aws-chunked framing line does not end with CRLF");
        }
        std::string line = line_.substr(0, line_.size() - 2);
        line_.clear();
        S3Result<Done> r = Done{};
        if (state_ == State::kDataEnd) {
          if (!line.empty())
            return Fail(S3Code::kInvalidRequest, "aws-chunked chunk longer than its declared size");
          r = EndChunk();
        } else if (state_ == State::kHeader) {
          r = OnHeaderLine(line);
        } else {
          r = OnTrailerLine(line);
        }
        if (!r.ok()) return r;
        break;
      }
      case State::kDone:
        // Some clients end with an extra CRLF; anything else is an error.
        if (data.front() != '\r' && data.front() != '\n') {
          return Fail(S3Code::kInvalidRequest, "bytes after the end of the aws-chunked body");
        }
        data.remove_prefix(1);
        break;
    }
  }
  return Done{};
}

S3Result<Done> AwsChunkedDecoder::OnHeaderLine(std::string_view line) {
  // "<hex-size>[;chunk-signature=<sig>]" (other extensions are refused).
  size_t semi = line.find(';');
  std::string_view size = line.substr(0, semi);
  int64_t n = 0;
  if (!ParseHexSize(size, &n)) {
    return Fail(S3Code::kInvalidRequest,
                "malformed aws-chunked chunk size '" + std::string(line.substr(0, 32)) + "'");
  }
  chunk_signature_.clear();
  if (semi != std::string_view::npos) {
    std::string_view ext = line.substr(semi + 1);
    constexpr std::string_view kSig = "chunk-signature=";
    if (ext.substr(0, kSig.size()) != kSig) {
      return Fail(S3Code::kInvalidRequest, "unknown aws-chunked chunk extension");
    }
    chunk_signature_ = std::string(ext.substr(kSig.size()));
  }
  if (signing_ && chunk_signature_.size() != 64) {
    return Fail(S3Code::kSignatureDoesNotMatch,
                "aws-chunked chunk without a valid chunk-signature");
  }
  if (!signing_ && !chunk_signature_.empty()) {
    return Fail(S3Code::kInvalidRequest, "chunk-signature in an unsigned aws-chunked body");
  }
  chunk_left_ = n;
  final_chunk_ = n == 0;
  if (n > 0) {
    state_ = State::kData;
    return Done{};
  }
  // The final chunk carries no data; its signature is checked now.
  if (signing_) {
    auto r = EndChunk();
    if (!r.ok()) return r;
    state_ = State::kDataEnd;  // expects the empty line that ends the body
    return Done{};
  }
  state_ = State::kTrailer;
  return Done{};
}

S3Result<Done> AwsChunkedDecoder::EndChunk() {
  if (signing_ && !(final_chunk_ && state_ == State::kDataEnd)) {
    std::string hash = chunk_left_ == 0 && final_chunk_ ? std::string(sigv4::kEmptySha256)
                                                        : chunk_hash_.FinishHex();
    std::string want = sigv4::ChunkSignature(signing_->signing_key, signing_->amz_date,
                                             signing_->scope, previous_signature_, hash);
    if (!sigv4::SignaturesEqual(want, chunk_signature_)) {
      return Fail(S3Code::kSignatureDoesNotMatch,
                  "the signature of aws-chunked chunk ending at byte " + std::to_string(decoded_) +
                      " does not match");
    }
    previous_signature_ = want;
  }
  if (final_chunk_ && state_ == State::kDataEnd) {
    state_ = State::kDone;  // the empty line after the signed final chunk
    return Done{};
  }
  state_ = State::kHeader;
  return Done{};
}

S3Result<Done> AwsChunkedDecoder::OnTrailerLine(std::string_view line) {
  if (line.empty()) {
    state_ = State::kDone;
    return Done{};
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Fail(S3Code::kInvalidRequest, "malformed aws-chunked trailing header");
  }
  if (trailers_.size() >= 16) return Fail(S3Code::kInvalidRequest, "too many trailing headers");
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  trailers_[name] = std::string(value);
  return Done{};
}

S3Result<Done> AwsChunkedDecoder::Finish() {
  if (error_) return *error_;
  if (state_ == State::kDone) return Done{};
  // Lenient about the very last CRLF: a body that stops right after the final chunk (signed) or
  // the last trailing header is complete.
  if (line_.empty() &&
      ((state_ == State::kDataEnd && final_chunk_ && signing_) || (state_ == State::kTrailer))) {
    state_ = State::kDone;
    return Done{};
  }
  return Fail(S3Code::kIncompleteBody, "the aws-chunked body ended before its final chunk");
}

}  // namespace dim
