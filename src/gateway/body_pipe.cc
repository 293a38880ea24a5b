#include "gateway/body_pipe.h"

#include <cstring>

namespace dim {

bool BodyPipe::Write(std::string_view data) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!data.empty()) {
    can_write_.wait(lock, [&] { return read_closed_ || buffered_ < capacity_; });
    if (read_closed_) return false;
    size_t n = std::min(data.size(), capacity_ - buffered_);
    chunks_.emplace_back(data.substr(0, n));
    buffered_ += n;
    data.remove_prefix(n);
    can_read_.notify_one();
  }
  return !read_closed_;
}

void BodyPipe::CloseWrite(Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  write_closed_ = true;
  end_status_ = std::move(status);
  can_read_.notify_all();
}

Result<size_t> BodyPipe::Read(char* buf, size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  can_read_.wait(lock, [&] { return !chunks_.empty() || write_closed_; });
  if (chunks_.empty()) {
    if (!end_status_.ok()) return end_status_;
    return size_t{0};
  }
  size_t copied = 0;
  while (copied < n && !chunks_.empty()) {
    const std::string& c = chunks_.front();
    size_t k = std::min(n - copied, c.size() - front_offset_);
    std::memcpy(buf + copied, c.data() + front_offset_, k);
    copied += k;
    front_offset_ += k;
    if (front_offset_ == c.size()) {
      chunks_.pop_front();
      front_offset_ = 0;
    }
  }
  buffered_ -= copied;
  can_write_.notify_one();
  return copied;
}

void BodyPipe::CloseRead() {
  std::lock_guard<std::mutex> lock(mu_);
  read_closed_ = true;
  chunks_.clear();
  buffered_ = 0;
  can_write_.notify_all();
}

}  // namespace dim
