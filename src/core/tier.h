// Storage tiers. An object's tier says how hot it is; a site's storage class says which tier it
// is meant to serve.
#pragma once

#include <optional>
#include <string_view>

namespace dim {

enum class Tier { kHot = 0, kWarm = 1, kCold = 2 };

inline std::string_view TierName(Tier t) {
  switch (t) {
    case Tier::kHot: return "hot";
    case Tier::kWarm: return "warm";
    case Tier::kCold: return "cold";
  }
  return "cold";
}

inline std::optional<Tier> ParseTier(std::string_view s) {
  if (s == "hot") return Tier::kHot;
  if (s == "warm") return Tier::kWarm;
  if (s == "cold") return Tier::kCold;
  return std::nullopt;
}

}  // namespace dim
