#include "core/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace dim {
namespace {

TEST(MetricsTest, RendersCountersGaugesHistograms) {
  MetricsRegistry r;
  auto& jobs = r.AddCounter("dim_migration_jobs_total", "Migration outcomes", {"result"});
  jobs.Labels({"done"}).Inc();
  jobs.Labels({"done"}).Inc(2);
  jobs.Labels({"fa\"il"}).Inc();
  r.AddGauge("dim_up", "Up").Get().Set(1);
  auto& h = r.AddHistogram("dim_latency_seconds", "Latency", {}, {0.1, 1});
  h.Get().Observe(0.05);
  h.Get().Observe(0.5);
  h.Get().Observe(5);
  r.AddGaugeCallback("dim_queue", "Queue", {"status"}, [] {
    return std::vector<std::pair<std::vector<std::string>, double>>{{{"queued"}, 3}};
  });
  std::string t = r.RenderText();
  EXPECT_NE(t.find("# TYPE dim_migration_jobs_total counter"), std::string::npos);
  EXPECT_NE(t.find("dim_migration_jobs_total{result=\"done\"} 3"), std::string::npos) << t;
  EXPECT_NE(t.find("dim_migration_jobs_total{result=\"fa\\\"il\"} 1"), std::string::npos) << t;
  EXPECT_NE(t.find("dim_latency_seconds_bucket{le=\"0.1\"} 1"), std::string::npos)
      << t;
  EXPECT_NE(t.find("dim_latency_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos) << t;
  EXPECT_NE(t.find("dim_latency_seconds_count 3"), std::string::npos) << t;
  EXPECT_NE(t.find("dim_queue{status=\"queued\"} 3"), std::string::npos) << t;
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry r;
  auto& c = r.AddCounter("dim_x_total", "x");
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&] {
      for (int j = 0; j < 10000; ++j) c.Get().Inc();
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_DOUBLE_EQ(c.Get().Value(), 40000);
}

}  // namespace
}  // namespace dim
