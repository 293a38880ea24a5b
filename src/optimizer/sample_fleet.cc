#include "optimizer/sample_fleet.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "ml/predictor.h"

namespace dim {

std::vector<SiteConfig> SixSiteCatalog() {
  auto site = [](const char* name, const char* provider, Tier cls, double p95, double gb_month,
                 double get, double put, double retrieval, double egress, int64_t min_days,
                 bool encrypted) {
    SiteConfig s;
    s.name = name;
    s.provider = provider;
    s.region = name;
    s.storage_class = cls;
    s.p95_ms = p95;
    s.cost_per_gb_month = gb_month;
    s.get_per_1k = get;
    s.put_per_1k = put;
    s.retrieval_per_gb = retrieval;
    s.egress_per_gb = egress;
    s.min_storage_days = min_days;
    s.encrypted = encrypted;
    s.path = name;
    return s;
  };
  return {
      site("aws-standard", "aws", Tier::kHot, 45, 0.023, 0.0004, 0.005, 0.0, 0.09, 0, true),
      site("aws-ia", "aws", Tier::kWarm, 60, 0.0125, 0.001, 0.01, 0.01, 0.09, 30, true),
      site("azure-hot", "azure", Tier::kHot, 50, 0.0208, 0.0004, 0.0065, 0.0, 0.087, 0, true),
      site("azure-cool", "azure", Tier::kCold, 90, 0.0115, 0.001, 0.013, 0.01, 0.087, 30, false),
      site("gcs-nearline", "gcp", Tier::kWarm, 70, 0.010, 0.001, 0.01, 0.01, 0.12, 30, true),
      site("gcs-coldline", "gcp", Tier::kCold, 110, 0.004, 0.005, 0.02, 0.02, 0.12, 90, true),
  };
}

Fleet SampleFleet(const std::vector<SiteConfig>& sites, const SampleFleetOptions& o) {
  Fleet f;
  for (const auto& s : sites) f.site_names.push_back(s.name);
  f.Reserve(o.objects);
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::pair<std::string, int64_t>> live;
  ObjectRecord rec;
  rec.key.bucket = "fleet";
  for (size_t i = 0; i < o.objects; ++i) {
    rec.id = static_cast<int64_t>(i) + 1;
    rec.key.key = "obj-" + std::to_string(i);
    rec.version = 1 + static_cast<int64_t>(rng() % 5);
    rec.size =
        static_cast<int64_t>(std::exp(std::log(1e3) + u(rng) * (std::log(1e10) - std::log(1e3))));
    const bool bursty = u(rng) < o.hot_fraction;
    AccessStats st;
    if (bursty) {
      st.access_1h = 5 + static_cast<int64_t>(200 * std::pow(u(rng), 2));
      st.access_24h = st.access_1h + static_cast<int64_t>(400 * u(rng));
    } else {
      st.access_24h = static_cast<int64_t>(8 * std::pow(u(rng), 3));
      st.access_1h = st.access_24h > 0 && u(rng) < 0.2 ? 1 : 0;
    }
    st.access_7d = st.access_24h + static_cast<int64_t>(30 * std::pow(u(rng), 3));
    st.reads = st.access_7d * 9 + 1;
    st.writes = st.access_7d / 10;
    st.bytes_read = st.reads * std::max<int64_t>(1, rec.size / (u(rng) < 0.3 ? 10 : 1));
    st.heat = st.access_1h * 6.5 + 0.2 * static_cast<double>(st.access_24h - st.access_1h);
    st.last_access_ms =
        st.access_24h > 0 ? o.now_ms - static_cast<int64_t>(u(rng) * 86'400'000) : 0;
    rec.tier = st.heat >= 70 ? Tier::kHot : st.heat >= 25 ? Tier::kWarm : Tier::kCold;
    rec.tier_since_ms = o.now_ms - static_cast<int64_t>(u(rng) * 86'400'000.0 * 30);
    rec.created_ms = rec.tier_since_ms - static_cast<int64_t>(u(rng) * 86'400'000.0 * 200);
    // Placement: a site of the tier's class, then other providers.
    std::vector<int> order(sites.size());
    for (size_t s = 0; s < sites.size(); ++s) order[s] = static_cast<int>(s);
    std::shuffle(order.begin(), order.end(), rng);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return (sites[a].storage_class == rec.tier) > (sites[b].storage_class == rec.tier);
    });
    rec.sites.clear();
    std::vector<std::string> providers;
    for (int s : order) {
      if (static_cast<int>(rec.sites.size()) == o.rf) break;
      if (std::find(providers.begin(), providers.end(), sites[s].provider) != providers.end())
        continue;
      providers.push_back(sites[s].provider);
      rec.sites.push_back(sites[s].name);
    }
    live.clear();
    for (const auto& s : rec.sites) {
      int64_t age = static_cast<int64_t>(u(rng) * 86'400'000.0 * 120);
      live.emplace_back(s, o.now_ms - age);
    }
    ObjectFeatures feat;
    feat.access_1h = static_cast<double>(st.access_1h);
    feat.access_24h = static_cast<double>(st.access_24h);
    feat.size_bytes = static_cast<double>(rec.size);
    double recency = st.last_access_ms > 0 ? (o.now_ms - st.last_access_ms) / 1000.0 : 30.0 * 86400;
    f.Append(rec, st, recency, live, HeuristicPredictor::Score(feat), o.now_ms);
  }
  return f;
}

}  // namespace dim
