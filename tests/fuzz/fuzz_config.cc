// The TOML configuration loader: any text gives a result with line-numbered errors, never a
// crash or an exception.
#include <cstdint>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto no_names = [] { return std::vector<std::string>{}; };
  auto r = dim::LoadConfigText(text, "fuzz.toml", no_env, no_names);
  if (!r.ok()) {
    for (const auto& e : r.errors) {
      if (e.message.empty()) __builtin_trap();  // every error must say something
    }
  }
  return 0;
}
