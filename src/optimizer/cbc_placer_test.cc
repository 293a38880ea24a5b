// Enumeration and CBC must find the same optimum; no placement ever breaks RF, provider
// diversity, the SLA rule, encryption, availability or capacity unless it reports the relaxation.
#include "optimizer/cbc_placer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "optimizer/placement_engine.h"

namespace dim {
namespace {

PlacementRequest RandomRequest(std::mt19937& rng, PlacementObjective objective) {
  auto uni = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  PlacementRequest r;
  int n = 2 + static_cast<int>(rng() % 8);
  for (int i = 0; i < n; ++i) {
    SiteCandidate s;
    s.name =
        "s" + std::to_string((i * 7) % n) + "_" + std::to_string(i);  // names not in site order
    s.provider = "p" + std::to_string(rng() % 4);
    s.storage_class = static_cast<Tier>(rng() % 3);
    s.encrypted = rng() % 4 != 0;
    s.available = rng() % 10 != 0;
    s.has_room = rng() % 8 != 0;
    s.p95_ms = 20 + static_cast<double>(rng() % 100);
    s.cost_per_gb = static_cast<double>(rng() % 40) / 1000.0;  // ties happen
    s.score = static_cast<double>(rng() % 100) / 100.0;
    s.cost.storage = uni(0, 0.05);
    s.cost.writes = uni(0, 0.01);
    s.cost.move = rng() % 3 == 0 ? 0 : uni(0, 0.2);
    s.cost.requests = uni(0, 0.01);
    s.cost.retrieval = rng() % 2 ? 0 : uni(0, 0.3);
    s.cost.egress = uni(0, 0.5);
    s.cost.latency = uni(0, 0.05);
    s.cost.early_delete = s.cost.move == 0 ? uni(0, 0.03) : 0;
    r.sites.push_back(std::move(s));
  }
  r.rf = 1 + static_cast<int>(rng() % 4);
  r.sla_ms = 30 + static_cast<double>(rng() % 60);
  r.score_weight = static_cast<double>(rng() % 10) / 10.0;
  r.enforce_encryption = rng() % 3 == 0;
  if (rng() % 5 != 0) r.tier = static_cast<Tier>(rng() % 3);
  r.provider_diversity = rng() % 6 != 0;
  r.objective = objective;
  return r;
}

const SiteCandidate& Find(const PlacementRequest& r, const std::string& name) {
  return *std::find_if(r.sites.begin(), r.sites.end(), [&](auto& s) { return s.name == name; });
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The rules every decision must obey (those not reported as relaxed).
void ExpectObeysRules(const PlacementRequest& r, const PlacementResult& res, int iter) {
  std::vector<const SiteCandidate*> allowed;
  for (const auto& s : r.sites) {
    if (s.available && s.has_room && (!r.enforce_encryption || s.encrypted)) allowed.push_back(&s);
  }
  size_t k = std::min<size_t>(static_cast<size_t>(r.rf), allowed.size());
  ASSERT_EQ(res.chosen.size(), k) << iter;
  std::set<std::string> distinct(res.chosen.begin(), res.chosen.end());
  EXPECT_EQ(distinct.size(), k) << iter;
  bool any_sla = false, any_class = false;
  for (auto* s : allowed) {
    any_sla |= s->p95_ms <= r.sla_ms;
    any_class |= r.tier && s->storage_class == *r.tier;
  }
  std::set<std::string> providers;
  bool has_sla = false;
  for (const auto& name : res.chosen) {
    const auto& s = Find(r, name);
    EXPECT_TRUE(s.available) << iter;
    EXPECT_TRUE(s.has_room) << iter;
    EXPECT_TRUE(!r.enforce_encryption || s.encrypted) << iter;
    providers.insert(s.provider);
    has_sla |= s.p95_ms <= r.sla_ms;
  }
  if (r.provider_diversity && k >= 2 && !Has(res.relaxed, "provider_diversity")) {
    EXPECT_EQ(providers.size(), k) << "diversity broken at " << iter;
  }
  if (any_sla && !Has(res.relaxed, "sla")) {
    EXPECT_TRUE(has_sla) << "SLA rule broken at " << iter;
  }
  if (any_class && !Has(res.relaxed, "tier_class")) {
    EXPECT_EQ(Find(r, res.chosen[0]).storage_class, *r.tier) << "primary off its class at " << iter;
  }
}

class AgreementTest : public ::testing::TestWithParam<PlacementObjective> {};

TEST_P(AgreementTest, EnumerationAndCbcAgreeOnAThousandRandomInstances) {
  std::mt19937 rng(GetParam() == PlacementObjective::kSeed ? 20240601 : 77);
  ExactPlacer exact;
  CbcPlacer cbc;
  int unique_compared = 0, solved = 0;
  for (int iter = 0; iter < 1000; ++iter) {
    PlacementRequest r = RandomRequest(rng, GetParam());
    r.explain = iter % 4 == 0;  // explanations cost extra solves; check them on a quarter
    auto e = exact.Solve(r);
    auto c = cbc.Solve(r);
    ASSERT_EQ(e.ok(), c.ok()) << iter << ": " << e.status().ToString() << " vs "
                              << c.status().ToString();
    if (!e.ok()) {
      EXPECT_EQ(e.status().code(), StatusCode::kFailedPrecondition) << iter;
      EXPECT_EQ(c.status().code(), e.status().code()) << iter;
      continue;
    }
    ++solved;
    EXPECT_EQ(c->solver, "cbc");
    const double tol = 1e-9 * (1 + std::abs(e->objective));
    EXPECT_NEAR(c->objective, e->objective, tol) << "iteration " << iter;
    EXPECT_EQ(c->relaxed, e->relaxed) << iter;
    ExpectObeysRules(r, *e, iter);
    ExpectObeysRules(r, *c, iter);
    // Where the optimum is unique (the runner-up is strictly worse), the choice is the same.
    PlacementRequest explained = r;
    explained.explain = true;
    auto full = exact.Solve(explained).value();
    bool unique = full.runner_up.empty() || !full.runner_up_feasible ||
                  full.runner_up_objective > full.objective + 1e-7 * (1 + std::abs(full.objective));
    if (unique) {
      EXPECT_EQ(c->chosen, e->chosen) << "iteration " << iter;
      ++unique_compared;
    }
    if (r.explain) {
      EXPECT_EQ(c->runner_up.empty(), e->runner_up.empty()) << iter;
      EXPECT_EQ(c->runner_up_feasible, e->runner_up_feasible) << iter;
      if (!e->runner_up.empty()) {
        EXPECT_NEAR(c->runner_up_objective, e->runner_up_objective,
                    1e-9 * (1 + std::abs(e->runner_up_objective)))
            << iter;
      }
      if (unique) {
        std::set<std::string> eb(e->binding.begin(), e->binding.end()),
            cb(c->binding.begin(), c->binding.end());
        EXPECT_EQ(cb, eb) << iter;
      }
    }
  }
  // The generator must exercise both paths meaningfully.
  EXPECT_GT(solved, 800);
  EXPECT_GT(unique_compared, 500);
}

INSTANTIATE_TEST_SUITE_P(Objectives, AgreementTest,
                         ::testing::Values(PlacementObjective::kSeed, PlacementObjective::kCost),
                         [](const auto& info) {
                           return std::string(PlacementObjectiveName(info.param));
                         });

// An independent brute force over bitmasks for the cost objective: nothing feasible is cheaper.
TEST(CostObjectiveTest, MatchesBruteForce) {
  std::mt19937 rng(5);
  ExactPlacer exact;
  for (int iter = 0; iter < 300; ++iter) {
    PlacementRequest r = RandomRequest(rng, PlacementObjective::kCost);
    auto res = exact.Solve(r);
    if (!res.ok()) continue;
    std::vector<size_t> allowed;
    for (size_t i = 0; i < r.sites.size(); ++i) {
      const auto& s = r.sites[i];
      if (s.available && s.has_room && (!r.enforce_encryption || s.encrypted)) allowed.push_back(i);
    }
    size_t k = std::min<size_t>(r.rf, allowed.size());
    bool div = r.provider_diversity && k >= 2 && !Has(res->relaxed, "provider_diversity");
    bool any_sla = false, any_cls = false;
    for (size_t i : allowed) {
      any_sla |= r.sites[i].p95_ms <= r.sla_ms;
      any_cls |= r.tier && r.sites[i].storage_class == *r.tier;
    }
    bool sla = any_sla && !Has(res->relaxed, "sla");
    bool cls = any_cls && !Has(res->relaxed, "tier_class");
    double all_fees = 0;
    for (const auto& s : r.sites) all_fees += s.cost.early_delete;
    double best = 1e18;
    for (uint32_t mask = 0; mask < (1u << allowed.size()); ++mask) {
      if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
      std::set<std::string> prov;
      bool has_sla = false;
      double v = all_fees, best_primary = 1e18;
      for (size_t b = 0; b < allowed.size(); ++b) {
        if (!(mask & (1u << b))) continue;
        const auto& s = r.sites[allowed[b]];
        prov.insert(s.provider);
        has_sla |= s.p95_ms <= r.sla_ms;
        v += s.cost.Replica() - s.cost.early_delete;
        if (!cls || s.storage_class == *r.tier)
          best_primary = std::min(best_primary, s.cost.Primary());
      }
      if ((div && prov.size() < k) || (sla && !has_sla) || best_primary >= 1e18) continue;
      best = std::min(best, v + best_primary);
    }
    EXPECT_NEAR(res->objective, best, 1e-9) << iter;
  }
}

TEST(CbcPlacerTest, ScalesTinyDollarTerms) {
  // A 1 KB object: every term is around 1e-8 $; CBC must still see the differences.
  PlacementRequest r;
  r.objective = PlacementObjective::kCost;
  r.rf = 1;
  for (int i = 0; i < 4; ++i) {
    SiteCandidate s;
    s.name = "s" + std::to_string(i);
    s.provider = "p" + std::to_string(i);
    s.cost.storage = (4 - i) * 1e-9;
    r.sites.push_back(s);
  }
  auto c = CbcPlacer().Solve(r).value();
  EXPECT_EQ(c.chosen, std::vector<std::string>{"s3"});
  EXPECT_EQ(ExactPlacer().Solve(r)->chosen, c.chosen);
}

TEST(CbcPlacerTest, AutoPicksEnumerationForFewSitesAndCbcBeyond) {
  std::mt19937 rng(9);
  PlacementRequest r = RandomRequest(rng, PlacementObjective::kCost);
  for (auto& s : r.sites) {
    s.available = true;
    s.has_room = true;
  }
  AutoPlacer few(64), none(0);
  EXPECT_EQ(few.Solve(r)->solver, "exact");
  EXPECT_EQ(none.Solve(r)->solver, "cbc");
  // 40 sites: beyond enumeration's comfort, CBC solves it, and it obeys the rules.
  PlacementRequest big;
  big.objective = PlacementObjective::kCost;
  big.rf = 3;
  big.sla_ms = 50;
  big.tier = Tier::kWarm;
  for (int i = 0; i < 40; ++i) {
    SiteCandidate s;
    s.name = "site" + std::to_string(i);
    s.provider = "prov" + std::to_string(i % 7);
    s.storage_class = static_cast<Tier>(i % 3);
    s.p95_ms = 30 + (i * 13) % 60;
    s.cost.storage = 0.001 * ((i * 31) % 17 + 1);
    s.cost.egress = 0.002 * ((i * 11) % 5);
    big.sites.push_back(s);
  }
  auto res = AutoPlacer(12).Solve(big);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->solver, "cbc");
  ExpectObeysRules(big, *res, -1);
  EXPECT_TRUE(res->relaxed.empty());
  auto check = ExactPlacer().Solve(big).value();  // C(40,3) = 9880 sets: still enumerable
  EXPECT_NEAR(res->objective, check.objective, 1e-9);
}

TEST(CbcPlacerTest, MoreThanSixtyFourSitesIsAClearError) {
  PlacementRequest r;
  for (int i = 0; i < 65; ++i) {
    SiteCandidate s;
    s.name = "s" + std::to_string(i);
    s.provider = "p";
    r.sites.push_back(s);
  }
  EXPECT_EQ(CbcPlacer().Solve(r).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ExactPlacer().Solve(r).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dim
