// Small parsers of the storage layer that read configuration or server answers: endpoint URLs,
// Content-Range, Retry-After, and the chaos state kept in the store's settings (round trip:
// what parses, serialises and parses back to the same state).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "storage/chaos_state.h"
#include "storage/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  auto ep = dim::ParseEndpointUrl(s);
  if (ep.ok()) {
    if (ep->host.empty() || ep->port < 0 || ep->port > 65535) __builtin_trap();
    if (ep->scheme != "http" && ep->scheme != "https") __builtin_trap();
  }
  (void)dim::ParseContentRange(s);
  if (dim::ParseRetryAfterMs(s, 1700000000) < 0) __builtin_trap();
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_discarded()) {
    auto st = dim::ChaosState::FromJson(j);
    if (st.ok()) {
      auto again = dim::ChaosState::FromJson(st->ToJson());
      if (!again.ok() || again->sites != st->sites) __builtin_trap();
    }
  }
  return 0;
}
