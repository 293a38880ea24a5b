// The consumer's persisted window state: Decode never over-reads or crashes, and whatever it
// accepts re-encodes to a state that decodes to the same windows.
#include <cstdint>
#include <string>

#include "stream/sliding_window.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto w = dim::SlidingWindows::Decode(bytes);
  if (!w) return 0;
  auto again = dim::SlidingWindows::Decode(w->Encode());
  if (!again || !(*again == *w)) __builtin_trap();
  const int64_t now = 1'700'000'000'000;
  volatile int64_t sink = w->Count1h(now) + w->Count24h(now) + w->Count7d(now);
  (void)sink;
  w->Prune(now);
  return 0;
}
