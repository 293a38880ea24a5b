#include "storage/byte_stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace dim {

Result<size_t> StringSource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<size_t> HashingSource::Read(char* buf, size_t n) {
  DIM_ASSIGN_OR_RETURN(size_t k, inner_.Read(buf, n));
  sha_.Update(buf, k);
  if (md5_on_) md5_.Update(buf, k);
  bytes_ += static_cast<int64_t>(k);
  return k;
}

void HashingSource::StartMd5(std::string_view already_read) {
  if (md5_on_) return;
  md5_on_ = true;
  md5_.Update(already_read);
}

Status HoldbackVerifyingSource::Finish() {
  if (verified_ || !failed_.ok()) return failed_;
  auto fail = [&](std::string why) {
    failed_ = Status::DataLoss(what_ + ": " + why);
    return failed_;
  };
  if (hashing_.bytes() != size_) {
    return fail("the data ended after " + std::to_string(hashing_.bytes()) + " of " +
                std::to_string(size_) + " bytes");
  }
  char probe;
  auto more = inner_.Read(&probe, 1);
  if (!more.ok()) return more.status();  // the source's own error: not a verdict
  if (*more > 0)
    return fail("the data is longer than the " + std::to_string(size_) + " bytes expected");
  sha256_ = hashing_.Sha256Hex();
  if (md5_on_) md5_ = hashing_.Md5Hex();
  if (!expected_.empty() && sha256_ != expected_) {
    return fail("sha256 " + sha256_ + " does not match expected " + expected_ +
                (spoil_ ? "; the last bytes were spoiled so that the upload is refused"
                        : "; the last bytes were held back, nothing became visible"));
  }
  verified_ = true;
  return Status::OK();
}

Result<size_t> HoldbackVerifyingSource::Read(char* buf, size_t n) {
  const int64_t left = size_ - hashing_.bytes() - padded_;
  if (!failed_.ok()) {
    if (!spoil_) return failed_;
    // A short source, spoiled: zeros up to the size.
    const size_t k =
        static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(left, 0), static_cast<int64_t>(n)));
    std::memset(buf, 0, k);
    padded_ += static_cast<int64_t>(k);
    return k;
  }
  if (left <= 0) {
    DIM_RETURN_IF_ERROR(Finish());
    return size_t{0};
  }
  if (n == 0) return size_t{0};
  DIM_ASSIGN_OR_RETURN(
      size_t k,
      hashing_.Read(buf, static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(n)))));
  if (k > 0 && hashing_.bytes() < size_) return k;
  Status s = Finish();  // the source ended early, or these are the last bytes
  if (s.ok()) return k;
  if (!spoil_ || failed_.ok()) return s;  // not spoiling, or the source's own error
  if (k == 0) return Read(buf, n);        // short: zeros from here
  buf[k - 1] ^= 0x01;
  return k;
}

Result<size_t> LimitedSource::Read(char* buf, size_t n) {
  if (left_ <= 0) return size_t{0};
  size_t want = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
  DIM_ASSIGN_OR_RETURN(size_t k, inner_.Read(buf, want));
  left_ -= static_cast<int64_t>(k);
  return k;
}

Result<size_t> WindowSource::Read(char* buf, size_t n) {
  while (skip_ > 0) {
    char scratch[16384];
    DIM_ASSIGN_OR_RETURN(
        size_t k,
        inner_->Read(scratch, static_cast<size_t>(std::min<int64_t>(skip_, sizeof scratch))));
    if (k == 0) return size_t{0};
    skip_ -= static_cast<int64_t>(k);
  }
  if (left_ == 0) return size_t{0};
  size_t want =
      left_ < 0 ? n : static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
  DIM_ASSIGN_OR_RETURN(size_t k, inner_->Read(buf, want));
  if (left_ > 0) left_ -= static_cast<int64_t>(k);
  return k;
}

Result<size_t> PatternSource::Read(char* buf, size_t n) {
  const size_t k = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(n)));
  // Eight bytes per xorshift step, least significant first (the stream depends only on the
  // seed, not on read sizes): the rest of the current step, then whole steps, then a tail.
  auto step = [this] {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
  };
  size_t i = 0;
  for (; i < k && used_ < 8; ++i) buf[i] = static_cast<char>(state_ >> (8 * used_++));
  for (; k - i >= 8; i += 8) {
    step();
    for (int b = 0; b < 8; ++b) buf[i + b] = static_cast<char>(state_ >> (8 * b));  // one store
  }
  for (; i < k; ++i) {
    if (used_ == 8) {
      step();
      used_ = 0;
    }
    buf[i] = static_cast<char>(state_ >> (8 * used_++));
  }
  left_ -= static_cast<int64_t>(k);
  return k;
}

Result<std::string> ReadAll(ByteSource& src, size_t max_bytes) {
  std::string out;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    DIM_ASSIGN_OR_RETURN(size_t k, src.Read(buf.data(), buf.size()));
    if (k == 0) return out;
    if (out.size() + k > max_bytes) {
      return Status::ResourceExhausted("stream exceeds " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf.data(), k);
  }
}

Status Drain(ByteSource& src, const std::function<Status(std::string_view)>& sink) {
  std::vector<char> buf(kStreamChunk);
  for (;;) {
    DIM_ASSIGN_OR_RETURN(size_t k, src.Read(buf.data(), buf.size()));
    if (k == 0) return Status::OK();
    DIM_RETURN_IF_ERROR(sink(std::string_view(buf.data(), k)));
  }
}

}  // namespace dim
