#include "optimizer/cost_model.h"

#include <gtest/gtest.h>

namespace dim {
namespace {

SitePrices Prices() {
  SitePrices s;
  s.cost_per_gb_month = 0.023;
  s.get_per_1k = 0.0004;
  s.put_per_1k = 0.005;
  s.retrieval_per_gb = 0.01;
  s.egress_per_gb = 0.09;
  s.min_storage_days = 30;
  s.p95_ms = 100;
  s.part_bytes = 16.0 * 1024 * 1024;
  return s;
}

TEST(CostModelTest, TermsOverTheHorizon) {
  CostParams p;  // 30 days, SLA 80 ms, $0.0005 per ms per 1k reads
  Demand d;
  d.size_gb = 2;
  d.reads = 3000;
  d.writes = 10;
  d.read_gb = 2;
  SiteCost c = CostAt(Prices(), d, /*held=*/false, 0, /*source_out_per_gb=*/0.1, p);
  EXPECT_NEAR(c.storage, 2 * 0.023, 1e-12);
  EXPECT_NEAR(c.writes, 10 * 0.005 / 1000, 1e-12);
  // Egress + retrieval out of the source, plus one PUT per 16 MiB part (120 parts).
  EXPECT_NEAR(c.move, 2 * 0.1 + 120 * 0.005 / 1000, 1e-12);
  EXPECT_NEAR(c.requests, 3000 * 0.0004 / 1000, 1e-12);
  EXPECT_NEAR(c.retrieval, 3000 * 2 * 0.01, 1e-9);
  EXPECT_NEAR(c.egress, 3000 * 2 * 0.09, 1e-9);
  EXPECT_NEAR(c.latency, 3 * 20 * 0.0005, 1e-12);
  EXPECT_EQ(c.early_delete, 0);  // not held: nothing to delete early
  EXPECT_NEAR(c.Replica(), c.storage + c.writes + c.move, 1e-12);
  EXPECT_NEAR(c.Primary(), c.requests + c.retrieval + c.egress + c.latency, 1e-12);

  // Held for 10 of 30 minimum days: no move, and dropping it costs the remaining 20 days.
  SiteCost h = CostAt(Prices(), d, /*held=*/true, 10, 0.1, p);
  EXPECT_EQ(h.move, 0);
  EXPECT_NEAR(h.early_delete, 2 * 0.023 * 20 / 30, 1e-12);
  // Old enough: no fee.
  EXPECT_EQ(CostAt(Prices(), d, true, 45, 0.1, p).early_delete, 0);

  // A 60-day horizon doubles storage; recurring per month stays the same.
  CostParams p60 = p;
  p60.horizon_days = 60;
  SiteCost c60 = CostAt(Prices(), d, false, 0, 0.1, p60);
  EXPECT_NEAR(c60.storage, 2 * c.storage, 1e-12);
  EXPECT_NEAR(MonthlyRecurring(c, true, p), c.storage + c.writes + c.Primary(), 1e-9);
  EXPECT_NEAR(MonthlyRecurring(c, false, p), c.storage + c.writes, 1e-12);
}

TEST(CostModelTest, ForecastFromWindowsAndPHot) {
  CostParams p;
  AccessStats s;
  s.access_24h = 100;
  s.access_7d = 700;
  s.reads = 90;
  s.writes = 10;
  s.bytes_read = 90'000'000;  // 1 MB per read: range reads of a 2 GB object
  Demand d = ForecastDemand(2'000'000'000, s, 0.5, p);
  // 0.5 * 100 + 0.5 * 700 / 7 = 100 a day, 3000 over 30 days, 10 % writes.
  EXPECT_NEAR(d.reads + d.writes, 3000, 1e-9);
  EXPECT_NEAR(d.writes, 300, 1e-9);
  EXPECT_NEAR(d.read_gb, 0.001, 1e-12);
  EXPECT_NEAR(d.size_gb, 2, 1e-12);
  // p_hot = 1 trusts the last day; 0 the weekly average.
  EXPECT_NEAR(ForecastDemand(1, s, 1.0, p).reads + ForecastDemand(1, s, 1.0, p).writes, 3000, 1e-9);
  s.access_24h = 0;
  EXPECT_NEAR(ForecastDemand(1, s, 0.0, p).writes, 300, 1e-9);
  // No history at all: no reads, reads default to the whole object.
  AccessStats none;
  Demand z = ForecastDemand(5'000'000'000, none, 0.9, p);
  EXPECT_EQ(z.reads, 0);
  EXPECT_EQ(z.writes, 0);
  EXPECT_NEAR(z.read_gb, 5, 1e-12);
  // Garbage counters (negative) never produce negative demand.
  AccessStats bad;
  bad.access_24h = 10;
  bad.reads = -5;
  bad.bytes_read = -1;
  Demand b = ForecastDemand(-1, bad, 2.0, p);
  EXPECT_GE(b.reads, 0);
  EXPECT_GE(b.writes, 0);
  EXPECT_GE(b.size_gb, 0);
}

TEST(CostModelTest, PricesFromTheCatalog) {
  SiteConfig s;
  s.cost_per_gb_month = 0.0125;
  s.get_per_1k = 0.001;
  s.put_per_1k = 0.01;
  s.retrieval_per_gb = 0.01;
  s.egress_per_gb = 0.09;
  s.min_storage_days = 30;
  s.p95_ms = 70;
  s.part_size_mb = 8;
  SitePrices p = SitePrices::From(s);
  EXPECT_EQ(p.cost_per_gb_month, 0.0125);
  EXPECT_EQ(p.min_storage_days, 30);
  EXPECT_EQ(p.part_bytes, 8.0 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(MoveOutPerGb(p), 0.1);
}

}  // namespace
}  // namespace dim
