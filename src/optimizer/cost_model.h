// The dollar cost of keeping one object on one site over a planning horizon (docs/optimizer.md):
//   every replica pays  storage (size x $/GB-month x horizon) + write requests (PUTs for the
//                       predicted writes) + the one-off move in (egress and retrieval at the
//                       cheapest current site, one PUT per part) when it does not hold the object;
//   the primary also pays the reads it serves: GET requests, retrieval $/GB, egress $/GB to the
//                       readers, and a latency penalty per read per ms its p95 is over the SLA;
//   dropping a replica younger than the site's minimum storage days costs the early-deletion fee
//                       (the remaining days at the storage price).
// Accesses are predicted from the windows and p_hot. Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "core/config.h"
#include "store/records.h"

namespace dim {

struct CostParams {
  double horizon_days = 30;
  // $ for 1,000 reads served 1 ms over the SLA (what slowness costs the business).
  double latency_penalty_per_ms_1k = 0.0005;
  double sla_ms = 80;
};

// A site's prices, in the units of the catalog (SiteConfig).
struct SitePrices {
  double cost_per_gb_month = 0;
  double get_per_1k = 0;
  double put_per_1k = 0;
  double retrieval_per_gb = 0;
  double egress_per_gb = 0;
  double min_storage_days = 0;
  double p95_ms = 0;
  double part_bytes = 16.0 * 1024 * 1024;  // multipart part size: PUTs per copy
  static SitePrices From(const SiteConfig& s);
};

// Predicted use of one object over the horizon.
struct Demand {
  double size_gb = 0;  // 1 GB = 1e9 bytes
  double reads = 0;    // GETs over the horizon
  double writes = 0;   // PUTs over the horizon
  double read_gb = 0;  // GB per read (range reads read less than the object)
};

// accesses/day = p_hot * access_24h + (1 - p_hot) * access_7d / 7, split into reads and writes by
// the object's lifetime read/write counts; bytes per read from bytes_read / reads (else the size).
// `stats` must be as of now (StatsAsOf).
Demand ForecastDemand(int64_t size_bytes, const AccessStats& stats, double p_hot,
                      const CostParams& p);
// The same from the few numbers it needs (the planner's columns): write_share in [0, 1],
// bytes_per_read <= 0 meaning the whole object.
Demand ForecastDemand(int64_t size_bytes, double access_24h, double access_7d, double write_share,
                      double bytes_per_read, double p_hot, const CostParams& p);

// One site's terms, in $ over the horizon.
struct SiteCost {
  double storage = 0;
  double writes = 0;
  double move = 0;          // one-off copy in; 0 when the site already holds the object
  double requests = 0;      // GETs (primary only)
  double retrieval = 0;     // (primary only)
  double egress = 0;        // to readers (primary only)
  double latency = 0;       // over-SLA penalty (primary only)
  double early_delete = 0;  // charged if a held replica is dropped now
  double Replica() const { return storage + writes + move; }
  double Primary() const { return requests + retrieval + egress + latency; }
};

// Per-GB cost of reading the object out of a site that holds it (egress + retrieval).
inline double MoveOutPerGb(const SitePrices& s) { return s.egress_per_gb + s.retrieval_per_gb; }

// `held`: the site has a live replica of the current content, `age_days` old.
// `source_out_per_gb`: MoveOutPerGb of the cheapest site holding the object (0 if none does).
SiteCost CostAt(const SitePrices& site, const Demand& d, bool held, double age_days,
                double source_out_per_gb, const CostParams& p);

// The recurring part per 30 days (storage, writes, and the primary's read terms), for the audit
// log's expected monthly saving.
double MonthlyRecurring(const SiteCost& c, bool primary, const CostParams& p);

}  // namespace dim
