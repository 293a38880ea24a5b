#include "replay/trace_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

namespace dim {

namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr int64_t kMaxTimestampMs = 4'102'444'800'000;  // 2100-01-01
constexpr int64_t kMaxSize = int64_t{1} << 50;          // 1 PiB

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Result<int64_t> ParseInt(std::string_view s, const char* what, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(s.substr(0, 40)) +
                                   "' is not an integer");
  }
  if (v < lo || v > hi) {
    return Status::InvalidArgument(std::string(what) + " " + std::to_string(v) +
                                   " is out of range");
  }
  return v;
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty key");
  if (key.size() > kMaxKeyBytes) return Status::InvalidArgument("key longer than 1024 bytes");
  if (key.find('\0') != std::string_view::npos) return Status::InvalidArgument("key contains NUL");
  return Status::OK();
}

// CSV timestamp: seconds (possibly fractional) or, from 1e11 up, milliseconds.
Result<int64_t> ParseCsvTimestamp(std::string_view s) {
  if (s.empty()) return Status::InvalidArgument("empty timestamp");
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return Status::InvalidArgument("timestamp '" + std::string(s.substr(0, 40)) +
                                   "' is not a number");
  }
  if (v < 0) return Status::InvalidArgument("negative timestamp");
  double ms = v < 1e11 ? v * 1000.0 : v;
  if (ms > static_cast<double>(kMaxTimestampMs)) {
    return Status::InvalidArgument("timestamp beyond the year 2100");
  }
  return static_cast<int64_t>(std::llround(ms));
}

std::optional<AccessOp> ParseOpAnyCase(std::string_view s) {
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ParseAccessOp(lower);
}

std::optional<AccessOp> ParseIbmOp(std::string_view s) {
  if (s == "REST.GET.OBJECT") return AccessOp::kGet;
  if (s == "REST.HEAD.OBJECT") return AccessOp::kHead;
  if (s == "REST.PUT.OBJECT") return AccessOp::kPut;
  if (s == "REST.COPY.OBJECT") return AccessOp::kCopy;
  if (s == "REST.DELETE.OBJECT") return AccessOp::kDelete;
  return std::nullopt;
}

}  // namespace

std::string_view TraceFormatName(TraceFormat f) {
  return f == TraceFormat::kIbmCos ? "ibm" : "csv";
}

Result<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "csv") return TraceFormat::kCsv;
  if (name == "ibm") return TraceFormat::kIbmCos;
  return Status::InvalidArgument("unknown trace format '" + std::string(name) + "' (csv or ibm)");
}

TraceFormat DetectTraceFormat(std::string_view first_line) {
  std::string_view l = Trim(first_line);
  if (l.rfind("Timestamp ", 0) == 0 && l.find("Operation") != std::string_view::npos) {
    return TraceFormat::kIbmCos;
  }
  size_t sp = l.find(' ');
  if (sp != std::string_view::npos && l.find(',') == std::string_view::npos &&
      l.substr(sp + 1).rfind("REST.", 0) == 0) {
    return TraceFormat::kIbmCos;
  }
  return TraceFormat::kCsv;
}

Result<bool> ParseCsvTraceLine(std::string_view raw, AccessEvent* out) {
  std::string_view line = Trim(raw);
  if (line.empty() || line.front() == '#') return false;
  // Split into fields; the key (second field) may be quoted.
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (!closed) return Status::InvalidArgument("unterminated quote");
      if (i < line.size() && line[i] != ',') {
        return Status::InvalidArgument("text after a closing quote");
      }
    } else {
      size_t comma = line.find(',', i);
      size_t end = comma == std::string_view::npos ? line.size() : comma;
      field = std::string(Trim(line.substr(i, end - i)));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the comma
    if (fields.size() > 64) return Status::InvalidArgument("more than 64 fields");
  }
  if (EqualsIgnoreCase(fields[0], "ts") || EqualsIgnoreCase(fields[0], "timestamp")) {
    return false;  // header
  }
  if (fields.size() < 3) {
    return Status::InvalidArgument("expected ts,key,op[,size], got " +
                                   std::to_string(fields.size()) + " field(s)");
  }
  DIM_ASSIGN_OR_RETURN(int64_t ts, ParseCsvTimestamp(fields[0]));
  DIM_RETURN_IF_ERROR(CheckKey(fields[1]));
  auto op = ParseOpAnyCase(fields[2]);
  if (!op) op = ParseIbmOp(fields[2]);
  if (!op) return Status::InvalidArgument("unknown op '" + fields[2].substr(0, 40) + "'");
  int64_t size = 0;
  if (fields.size() >= 4 && !fields[3].empty()) {
    DIM_ASSIGN_OR_RETURN(size, ParseInt(fields[3], "size", 0, kMaxSize));
  }
  *out = AccessEvent();
  out->key = std::move(fields[1]);
  out->ts_ms = ts;
  out->op = *op;
  out->size = size;
  out->bytes = (*op == AccessOp::kGet || IsWrite(*op)) ? size : 0;
  return true;
}

Result<bool> ParseIbmTraceLine(std::string_view raw, AccessEvent* out) {
  std::string_view line = Trim(raw);
  if (line.empty() || line.front() == '#') return false;
  std::vector<std::string_view> f;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    f.push_back(line.substr(i, j - i));
    if (f.size() > 6) return Status::InvalidArgument("more than 6 fields");
    i = j;
  }
  if (!f.empty() && f[0] == "Timestamp") return false;  // header
  if (f.size() < 3) {
    return Status::InvalidArgument(
        "expected Timestamp Operation Object_ID [Size [Start End]], got " +
        std::to_string(f.size()) + " field(s)");
  }
  DIM_ASSIGN_OR_RETURN(int64_t ts, ParseInt(f[0], "timestamp", 0, kMaxTimestampMs));
  auto op = ParseIbmOp(f[1]);
  if (!op)
    return Status::InvalidArgument("unknown operation '" + std::string(f[1].substr(0, 40)) + "'");
  DIM_RETURN_IF_ERROR(CheckKey(f[2]));
  int64_t size = 0;
  if (f.size() >= 4) {
    DIM_ASSIGN_OR_RETURN(size, ParseInt(f[3], "size", 0, kMaxSize));
  } else if (*op != AccessOp::kDelete) {
    return Status::InvalidArgument("missing Size");
  }
  int64_t bytes = (*op == AccessOp::kGet || IsWrite(*op)) ? size : 0;
  if (f.size() == 5) return Status::InvalidArgument("Start_Offset without End_Offset");
  if (f.size() == 6) {
    DIM_ASSIGN_OR_RETURN(int64_t start, ParseInt(f[4], "Start_Offset", 0, kMaxSize));
    DIM_ASSIGN_OR_RETURN(int64_t end, ParseInt(f[5], "End_Offset", 0, kMaxSize));
    if (end < start) return Status::InvalidArgument("End_Offset before Start_Offset");
    bytes = end - start + 1;
  }
  *out = AccessEvent();
  out->key = std::string(f[2]);
  out->ts_ms = ts;
  out->op = *op;
  out->size = size;
  out->bytes = bytes;
  return true;
}

Result<std::unique_ptr<TraceReader>> TraceReader::Open(const std::string& path,
                                                       std::optional<TraceFormat> format) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound("no trace file at " + path);
    return Status::Unavailable("cannot stat " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  std::unique_ptr<TraceReader> r(new TraceReader());
  r->file_ = std::fopen(path.c_str(), "rb");
  if (!r->file_) return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  r->total_bytes_ = static_cast<int64_t>(st.st_size);
  if (format) {
    r->format_ = *format;
  } else {
    // Detect from the first non-empty line, then hand that line back to Next().
    std::string line;
    bool too_long = false;
    while (r->ReadLine(&line, &too_long)) {
      if (!Trim(line).empty()) {
        r->format_ = DetectTraceFormat(line);
        r->pending_first_ = std::move(line);
        r->has_pending_ = true;
        break;
      }
    }
    if (std::ferror(r->file_)) return Status::Unavailable("reading " + path);
  }
  return r;
}

TraceReader::~TraceReader() {
  if (file_) std::fclose(file_);
}

bool TraceReader::ReadLine(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  int c;
  bool any = false;
  while ((c = getc_unlocked(file_)) != EOF) {
    any = true;
    ++bytes_read_;
    if (c == '\n') break;
    if (line->size() < kMaxLineBytes)
      line->push_back(static_cast<char>(c));
    else
      *too_long = true;
  }
  if (!any) return false;
  ++line_no_;
  return true;
}

Result<bool> TraceReader::Next(AccessEvent* out) {
  std::string line;
  bool too_long = false;
  for (;;) {
    if (has_pending_) {
      line = std::move(pending_first_);
      has_pending_ = false;
    } else if (!ReadLine(&line, &too_long)) {
      if (std::ferror(file_)) return Status::Unavailable("read error in the trace");
      return false;
    }
    Result<bool> r = too_long ? Result<bool>(Status::InvalidArgument("line longer than 1 MiB"))
                     : format_ == TraceFormat::kIbmCos ? ParseIbmTraceLine(line, out)
                                                       : ParseCsvTraceLine(line, out);
    if (!r.ok()) {
      ++bad_lines_;
      if (first_errors_.size() < kMaxReported) {
        first_errors_.push_back("line " + std::to_string(line_no_) + ": " + r.status().message());
      }
      continue;
    }
    if (!*r) continue;
    ++events_;
    return true;
  }
}

}  // namespace dim
