// Fuzzes the trace line parsers (csv and IBM COS) and format detection, line by line.
#include <cstdint>
#include <string_view>

#include "replay/trace_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)dim::DetectTraceFormat(text);
  dim::AccessEvent e;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    (void)dim::ParseCsvTraceLine(line, &e);
    (void)dim::ParseIbmTraceLine(line, &e);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
