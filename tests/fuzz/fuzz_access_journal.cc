// The consumer's access journal entries (stream/access_delta.h): decoding never over-reads or
// crashes, a refused input changes nothing, and what it accepts re-encodes to the same deltas.
#include <cstdint>
#include <string>

#include "stream/access_delta.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  dim::DeltaMap m;
  m["fuzz/preset"].reads = 1;
  const dim::DeltaMap before = m;
  dim::DeltaMap fresh;
  if (!dim::DecodeDeltasInto(bytes, &fresh)) {
    if (dim::DecodeDeltasInto(bytes, &m) || !(m == before)) __builtin_trap();
    return 0;
  }
  dim::DeltaMap again;
  if (!dim::DecodeDeltasInto(dim::EncodeDeltas(fresh), &again) || !(again == fresh)) {
    __builtin_trap();
  }
  return 0;
}
