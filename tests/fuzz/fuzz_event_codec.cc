// Fuzz target for the event codec: any bytes, binary or JSON, decode without crashing or
// over-reading; whatever decodes re-encodes (binary and JSON) to the same event.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "bus/event_codec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "event codec fuzz check failed: %s\n", what);
    std::abort();
  }
}

bool Same(const dim::AccessEvent& a, const dim::AccessEvent& b) {
  return a.id == b.id && a.key == b.key && a.ts_ms == b.ts_ms && a.op == b.op &&
         a.bytes == b.bytes && a.size == b.size && a.status == b.status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  dim::AccessEvent e;
  dim::DecodeOutcome d = dim::DecodeEvent(in, "demo/record-key", 1'700'000'000'000, &e);
  if (!d.ok()) {
    Check(!d.detail.empty(), "a rejection explains itself");
    return 0;
  }
  Check(dim::ValidateEventShape(e).empty(), "a decoded event is valid");
  for (auto enc : {dim::EventEncoding::kBinary, dim::EventEncoding::kJson}) {
    std::string wire = dim::EncodeEvent(e, enc);
    dim::AccessEvent again;
    dim::DecodeOutcome d2 = dim::DecodeEvent(wire, "", 0, &again);
    Check(d2.ok(), "a re-encoded event decodes");
    Check(Same(e, again), "a re-encoded event decodes to itself");
  }
  return 0;
}
