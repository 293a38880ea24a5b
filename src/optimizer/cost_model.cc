#include "optimizer/cost_model.h"

#include <algorithm>
#include <cmath>

namespace dim {

SitePrices SitePrices::From(const SiteConfig& s) {
  SitePrices p;
  p.cost_per_gb_month = s.cost_per_gb_month;
  p.get_per_1k = s.get_per_1k;
  p.put_per_1k = s.put_per_1k;
  p.retrieval_per_gb = s.retrieval_per_gb;
  p.egress_per_gb = s.egress_per_gb;
  p.min_storage_days = static_cast<double>(s.min_storage_days);
  p.p95_ms = s.p95_ms;
  p.part_bytes = static_cast<double>(std::max<int64_t>(1, s.part_size_mb)) * 1024 * 1024;
  return p;
}

Demand ForecastDemand(int64_t size_bytes, double access_24h, double access_7d, double write_share,
                      double bytes_per_read, double p_hot, const CostParams& p) {
  Demand d;
  double size = static_cast<double>(std::max<int64_t>(0, size_bytes));
  d.size_gb = size / 1e9;
  double ph = std::clamp(p_hot, 0.0, 1.0);
  double per_day = ph * std::max(0.0, access_24h) + (1 - ph) * std::max(0.0, access_7d) / 7.0;
  double total = per_day * std::max(0.0, p.horizon_days);
  d.writes = total * std::clamp(write_share, 0.0, 1.0);
  d.reads = total - d.writes;
  double per_read = bytes_per_read;
  if (!(per_read > 0) || (size > 0 && per_read > size)) per_read = size;
  d.read_gb = per_read / 1e9;
  return d;
}

Demand ForecastDemand(int64_t size_bytes, const AccessStats& stats, double p_hot,
                      const CostParams& p) {
  double r = static_cast<double>(std::max<int64_t>(0, stats.reads));
  double w = static_cast<double>(std::max<int64_t>(0, stats.writes));
  double write_share = (r + w) > 0 ? w / (r + w) : 0.0;
  double per_read = r > 0 ? static_cast<double>(std::max<int64_t>(0, stats.bytes_read)) / r : 0.0;
  return ForecastDemand(size_bytes, static_cast<double>(stats.access_24h),
                        static_cast<double>(stats.access_7d), write_share, per_read, p_hot, p);
}

SiteCost CostAt(const SitePrices& s, const Demand& d, bool held, double age_days,
                double source_out_per_gb, const CostParams& p) {
  SiteCost c;
  double months = std::max(0.0, p.horizon_days) / 30.0;
  c.storage = d.size_gb * s.cost_per_gb_month * months;
  c.writes = d.writes * s.put_per_1k / 1000.0;
  if (!held) {
    double parts = std::max(1.0, std::ceil(d.size_gb * 1e9 / s.part_bytes));
    c.move = d.size_gb * source_out_per_gb + parts * s.put_per_1k / 1000.0;
  }
  c.requests = d.reads * s.get_per_1k / 1000.0;
  c.retrieval = d.reads * d.read_gb * s.retrieval_per_gb;
  c.egress = d.reads * d.read_gb * s.egress_per_gb;
  c.latency = d.reads / 1000.0 * std::max(0.0, s.p95_ms - p.sla_ms) * p.latency_penalty_per_ms_1k;
  if (held) {
    double remaining = std::max(0.0, s.min_storage_days - std::max(0.0, age_days));
    c.early_delete = d.size_gb * s.cost_per_gb_month * remaining / 30.0;
  }
  return c;
}

double MonthlyRecurring(const SiteCost& c, bool primary, const CostParams& p) {
  if (p.horizon_days <= 0) return 0;
  double per_month = 30.0 / p.horizon_days;
  double v = c.storage + c.writes;
  if (primary) v += c.Primary();
  return v * per_month;
}

}  // namespace dim
