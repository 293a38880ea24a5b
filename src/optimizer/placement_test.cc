#include <gtest/gtest.h>

#include <random>
#include <set>

#include "optimizer/placement.h"
#include "optimizer/site_score.h"

namespace dim {
namespace {

SiteCandidate Site(std::string name, std::string provider, Tier cls, double p95, double cost,
                   bool enc = true, double score = 0) {
  SiteCandidate s;
  s.name = std::move(name);
  s.provider = std::move(provider);
  s.storage_class = cls;
  s.p95_ms = p95;
  s.cost_per_gb = cost;
  s.encrypted = enc;
  s.score = score;
  return s;
}

std::vector<SiteCandidate> SeedSites() {
  return {Site("aws", "aws", Tier::kHot, 50, 0.023), Site("azure", "azure", Tier::kCold, 70, 0.020, false),
          Site("gcp", "gcp", Tier::kWarm, 60, 0.026)};
}

TEST(ExactPlacerTest, TierClassPicksThePrimary) {
  ExactPlacer p;
  PlacementRequest r;
  r.sites = SeedSites();
  r.sla_ms = 100;
  r.tier = Tier::kHot;
  EXPECT_EQ(p.Solve(r)->chosen, std::vector<std::string>{"aws"});
  r.tier = Tier::kCold;
  EXPECT_EQ(p.Solve(r)->chosen, std::vector<std::string>{"azure"});
  r.tier = Tier::kWarm;
  EXPECT_EQ(p.Solve(r)->chosen, std::vector<std::string>{"gcp"});
}

TEST(ExactPlacerTest, SeedObjectiveWithoutTier) {
  // Without a tier the seed's objective alone decides: cheapest wins when scores are equal,
  // unless the SLA rule forces an under-SLA site.
  ExactPlacer p;
  PlacementRequest r;
  r.sites = SeedSites();
  r.sla_ms = 100;
  auto res = p.Solve(r).value();
  EXPECT_EQ(res.chosen, std::vector<std::string>{"azure"});
  EXPECT_NEAR(res.objective, 0.020, 1e-12);
  r.sla_ms = 55;  // only aws is under the SLA
  r.sites[1].cost_per_gb = 0.001;  // azure would win on the objective alone
  res = p.Solve(r).value();
  EXPECT_EQ(res.chosen, std::vector<std::string>{"aws"});
  EXPECT_NE(std::find(res.binding.begin(), res.binding.end(), "sla"), res.binding.end());
  ASSERT_EQ(res.runner_up, std::vector<std::string>{"azure"});
  EXPECT_NE(res.runner_up_lost_because.find("breaks sla"), std::string::npos) << res.runner_up_lost_because;
}

TEST(ExactPlacerTest, EncryptionAndAvailability) {
  ExactPlacer p;
  PlacementRequest r;
  r.sites = SeedSites();
  r.sla_ms = 100;
  r.tier = Tier::kCold;
  r.enforce_encryption = true;  // azure is not encrypted
  auto res = p.Solve(r).value();
  EXPECT_NE(res.chosen[0], "azure");
  EXPECT_NE(std::find(res.binding.begin(), res.binding.end(), "encryption"), res.binding.end());
  r.enforce_encryption = false;
  r.sites[1].available = false;
  EXPECT_NE(p.Solve(r)->chosen[0], "azure");
  for (auto& s : r.sites) s.available = false;
  EXPECT_EQ(p.Solve(r).status().code(), StatusCode::kFailedPrecondition);
}

TEST(ExactPlacerTest, ProviderDiversityAndRelaxation) {
  ExactPlacer p;
  PlacementRequest r;
  r.sites = {Site("a1", "aws", Tier::kHot, 40, 0.02), Site("a2", "aws", Tier::kHot, 41, 0.01),
             Site("g1", "gcp", Tier::kWarm, 60, 0.03)};
  r.rf = 2;
  r.sla_ms = 50;
  auto res = p.Solve(r).value();
  ASSERT_EQ(res.chosen.size(), 2u);
  std::set<std::string> chosen(res.chosen.begin(), res.chosen.end());
  EXPECT_TRUE(chosen.count("g1"));  // one per provider
  EXPECT_TRUE(res.relaxed.empty());
  r.sites[2].provider = "aws";  // only one provider left: diversity must be relaxed
  res = p.Solve(r).value();
  EXPECT_EQ(res.relaxed, std::vector<std::string>{"provider_diversity"});
  EXPECT_EQ(res.chosen.size(), 2u);
}

// Property test: on random instances the result obeys every rule and no other feasible set is
// strictly better.
TEST(ExactPlacerTest, RandomInstancesObeyRulesAndAreOptimal) {
  std::mt19937 rng(11);
  ExactPlacer p;
  for (int iter = 0; iter < 500; ++iter) {
    PlacementRequest r;
    int n = 2 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      r.sites.push_back(Site("s" + std::to_string(i), "p" + std::to_string(rng() % 4),
                             static_cast<Tier>(rng() % 3), 20 + rng() % 80, (rng() % 40) / 1000.0,
                             rng() % 4 != 0, (rng() % 100) / 100.0));
    }
    r.rf = 1 + static_cast<int>(rng() % 3);
    r.sla_ms = 30 + rng() % 60;
    r.score_weight = (rng() % 10) / 10.0;
    r.enforce_encryption = rng() % 3 == 0;
    r.tier = static_cast<Tier>(rng() % 3);
    auto res = p.Solve(r);
    std::vector<size_t> allowed;
    for (size_t i = 0; i < r.sites.size(); ++i) {
      if (!r.enforce_encryption || r.sites[i].encrypted) allowed.push_back(i);
    }
    if (allowed.empty()) {
      EXPECT_FALSE(res.ok());
      continue;
    }
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    size_t k = std::min<size_t>(r.rf, allowed.size());
    ASSERT_EQ(res->chosen.size(), k);
    std::set<std::string> providers;
    bool any_sla = false, has_sla = false;
    for (size_t i : allowed) any_sla |= r.sites[i].p95_ms <= r.sla_ms;
    for (const auto& name : res->chosen) {
      const auto& s = *std::find_if(r.sites.begin(), r.sites.end(), [&](auto& x) { return x.name == name; });
      EXPECT_TRUE(!r.enforce_encryption || s.encrypted);
      providers.insert(s.provider);
      has_sla |= s.p95_ms <= r.sla_ms;
    }
    bool relaxed_div = std::find(res->relaxed.begin(), res->relaxed.end(), "provider_diversity") != res->relaxed.end();
    bool relaxed_sla = std::find(res->relaxed.begin(), res->relaxed.end(), "sla") != res->relaxed.end();
    if (k >= 2 && !relaxed_div) {
      EXPECT_EQ(providers.size(), k);
    }
    if (any_sla && !relaxed_sla) {
      EXPECT_TRUE(has_sla);
    }
    bool runner_up_feasible = res->runner_up_lost_because.rfind("infeasible", 0) != 0;
    if (!res->runner_up.empty() && runner_up_feasible) {
      EXPECT_GE(res->runner_up_objective, res->objective - 1e-12);
    }
    // Independent brute force over bitmasks: nothing feasible is strictly better.
    bool relaxed_class = std::find(res->relaxed.begin(), res->relaxed.end(), "tier_class") != res->relaxed.end();
    bool any_class = false;
    for (size_t i : allowed) any_class |= r.sites[i].storage_class == *r.tier;
    double best = 1e18;
    for (uint32_t mask = 0; mask < (1u << allowed.size()); ++mask) {
      if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
      std::set<std::string> prov;
      bool sla = false, cls = false;
      double obj = 0;
      for (size_t b = 0; b < allowed.size(); ++b) {
        if (!(mask & (1u << b))) continue;
        const auto& s = r.sites[allowed[b]];
        prov.insert(s.provider);
        sla |= s.p95_ms <= r.sla_ms;
        cls |= s.storage_class == *r.tier;
        obj += s.cost_per_gb + 0.001 * std::max(0.0, s.p95_ms - r.sla_ms) - r.score_weight * s.score;
      }
      if (k >= 2 && !relaxed_div && prov.size() < k) continue;
      if (any_sla && !relaxed_sla && !sla) continue;
      if (any_class && !relaxed_class && !cls) continue;
      best = std::min(best, obj);
    }
    EXPECT_NEAR(res->objective, best, 1e-9) << "iteration " << iter;
  }
}

TEST(SiteScoreTest, SeedScoring) {
  std::vector<ScoredSite> sites = {{"aws", "", 50, 0.023}, {"azure", "", 70, 0.020}, {"gcp", "", 60, 0.026}};
  auto s = SiteScores(sites, 0.5, "azure");
  // aws: 0.5 + 0.6*1 + 0.4*0.5 - 0.3 ; azure: 0.5 + 0 + 0.4*1 - 0 ; gcp: 0.5 + 0.3 + 0 - 0.3
  EXPECT_NEAR(s[0], 0.5 + 0.6 + 0.2 - 0.3, 1e-12);
  EXPECT_NEAR(s[1], 0.5 + 0.4, 1e-12);
  EXPECT_NEAR(s[2], 0.5 + 0.3 - 0.3, 1e-12);
  EXPECT_NEAR(AdjustedPHot(0.5, s), 0.5 * (0.6 + 0.4 * 0.6), 1e-12);
  EXPECT_NEAR(AdjustedPHot(1.0, {3.3}), 1.0, 1e-12);
}

}  // namespace
}  // namespace dim
