// A bounded hand-off of a request body from the thread that reads it off the socket (writer)
// to the thread that stores it (reader, through the ByteSource interface). At most `capacity`
// bytes wait in between, so memory does not grow with the body; each side blocks while the
// other catches up. Either side may stop early: the writer with an error (the reader's next
// Read fails with it), the reader by CloseRead (further writes are refused). Thread-safe for
// one writer and one reader.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/byte_stream.h"

namespace dim {

class BodyPipe final : public ByteSource {
 public:
  explicit BodyPipe(size_t capacity) : capacity_(capacity) {}

  // Writer side. Blocks while full; false once the reader has closed.
  bool Write(std::string_view data);
  // The end of the body: OK, or the error the reader should see.
  void CloseWrite(Status status);

  // Reader side. Blocks while empty; 0 at the end.
  Result<size_t> Read(char* buf, size_t n) override;
  // The reader needs no more bytes: wakes and refuses the writer.
  void CloseRead();

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable can_read_, can_write_;
  std::deque<std::string> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  size_t buffered_ = 0;
  bool write_closed_ = false, read_closed_ = false;
  Status end_status_;
};

}  // namespace dim
