#include "optimizer/fleet.h"

#include <algorithm>
#include <limits>

namespace dim {

void Fleet::Reserve(size_t n) {
  for (auto* v : {&id, &version, &size, &tier_since_ms}) v->reserve(n);
  key.reserve(n);
  tier.reserve(n);
  placed.reserve(n);
  held.reserve(n);
  primary.reserve(n);
  unknown_site.reserve(n);
  held_begin.reserve(n + 1);
  for (auto* v : {&heat, &recency_s, &write_share, &bytes_per_read, &p_hot}) v->reserve(n);
  for (auto* v : {&access_1h, &access_24h, &access_7d}) v->reserve(n);
}

int Fleet::SiteIndex(const std::string& name) const {
  for (size_t i = 0; i < site_names.size(); ++i) {
    if (site_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

void Fleet::Append(const ObjectRecord& o, const AccessStats& s, double recency,
                   const std::vector<std::pair<std::string, int64_t>>& live, double p,
                   int64_t now_ms) {
  id.push_back(o.id);
  version.push_back(o.version);
  size.push_back(std::max<int64_t>(0, o.size));
  tier_since_ms.push_back(o.tier_since_ms);
  key.push_back(o.key.Full());
  tier.push_back(o.tier);
  uint64_t mask = 0;
  int8_t first = -1;
  uint8_t unknown = 0;
  for (size_t i = 0; i < o.sites.size(); ++i) {
    int idx = SiteIndex(o.sites[i]);
    if (idx < 0) {
      unknown = 1;
      continue;
    }
    mask |= uint64_t{1} << idx;
    if (i == 0) first = static_cast<int8_t>(idx);
  }
  placed.push_back(mask);
  primary.push_back(first);
  unknown_site.push_back(unknown);
  uint64_t h = 0;
  for (const auto& [site, since] : live) {
    int idx = SiteIndex(site);
    if (idx < 0 || (h >> idx & 1)) continue;
    h |= uint64_t{1} << idx;
    held_site.push_back(static_cast<uint8_t>(idx));
    held_age_days.push_back(
        static_cast<float>(std::max<int64_t>(0, now_ms - since) / 86'400'000.0));
  }
  held.push_back(h);
  held_begin.push_back(static_cast<uint32_t>(held_site.size()));
  heat.push_back(static_cast<float>(s.heat));
  recency_s.push_back(static_cast<float>(recency));
  double r = static_cast<double>(std::max<int64_t>(0, s.reads));
  double w = static_cast<double>(std::max<int64_t>(0, s.writes));
  write_share.push_back(r + w > 0 ? static_cast<float>(w / (r + w)) : 0.0f);
  bytes_per_read.push_back(
      r > 0 ? static_cast<float>(static_cast<double>(std::max<int64_t>(0, s.bytes_read)) / r)
            : 0.0f);
  auto clamp32 = [](int64_t v) {
    return static_cast<int32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<int32_t>::max()));
  };
  access_1h.push_back(clamp32(s.access_1h));
  access_24h.push_back(clamp32(s.access_24h));
  access_7d.push_back(clamp32(s.access_7d));
  p_hot.push_back(static_cast<float>(std::clamp(p, 0.0, 1.0)));
}

}  // namespace dim
