// Access traces on disk, read as AccessEvents in file order:
//   csv     `ts,key,op,size` (header optional; ts in seconds, fractional allowed, or in ms when
//           >= 1e11; op get|put|head|delete|copy|list or read|write, any case; size optional;
//           a key may be double-quoted, "" inside quotes is a quote; extra columns are ignored)
//   ibm     the IBM Cloud Object Storage traces (SNIA IOTTA): space-separated
//           `Timestamp Operation Object_ID Size Start_Offset End_Offset`, ms since the start of
//           collection, operations REST.GET.OBJECT, REST.HEAD.OBJECT, REST.PUT.OBJECT,
//           REST.COPY.OBJECT, REST.DELETE.OBJECT (Size absent on deletes, range on some GETs).
// A malformed line is skipped and counted with its line number and reason (the first few are
// kept for the report); it never stops the read. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/access_event.h"
#include "core/status.h"

namespace dim {

enum class TraceFormat { kCsv, kIbmCos };
std::string_view TraceFormatName(TraceFormat f);
// "csv" or "ibm"; InvalidArgument otherwise.
Result<TraceFormat> ParseTraceFormat(std::string_view name);
// From a file's first non-empty line: the IBM header or a line of space-separated fields whose
// second is REST.*, else csv.
TraceFormat DetectTraceFormat(std::string_view first_line);

// One line. true: *out holds an event; false: a header, blank or comment line (# ...) to skip.
// InvalidArgument says what is wrong with the line.
Result<bool> ParseCsvTraceLine(std::string_view line, AccessEvent* out);
Result<bool> ParseIbmTraceLine(std::string_view line, AccessEvent* out);

class TraceReader {
 public:
  // format: nullopt detects it from the first line.
  static Result<std::unique_ptr<TraceReader>> Open(const std::string& path,
                                                   std::optional<TraceFormat> format);
  ~TraceReader();

  // The next event; false at the end of the file. Unavailable on a read error.
  Result<bool> Next(AccessEvent* out);

  TraceFormat format() const { return format_; }
  int64_t lines() const { return line_no_; }
  int64_t events() const { return events_; }
  int64_t bad_lines() const { return bad_lines_; }
  // "line N: reason" for the first kMaxReported bad lines.
  const std::vector<std::string>& first_errors() const { return first_errors_; }
  int64_t bytes_read() const { return bytes_read_; }
  int64_t total_bytes() const { return total_bytes_; }

  static constexpr size_t kMaxLineBytes = 1 << 20;
  static constexpr size_t kMaxReported = 5;

 private:
  TraceReader() = default;
  // The next line without its newline; false at the end. Over-long lines come back truncated
  // with *too_long set.
  bool ReadLine(std::string* line, bool* too_long);

  std::FILE* file_ = nullptr;
  TraceFormat format_ = TraceFormat::kCsv;
  std::string pending_first_;  // the line read for detection
  bool has_pending_ = false;
  int64_t line_no_ = 0, events_ = 0, bad_lines_ = 0;
  int64_t bytes_read_ = 0, total_bytes_ = 0;
  std::vector<std::string> first_errors_;
};

}  // namespace dim
