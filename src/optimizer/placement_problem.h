// The per-object placement problem in compact form (sites as bits of a 64-bit mask), shared by
// the exact enumerator, the CBC placer and the global planner's batch path:
//   minimise  constant + sum_{s in S} a_s + b_primary(S)
//   over sets S of exactly k allowed sites, subject to the active rules:
//     sla        S has a site with p95 <= SLA (active when any allowed site has one)
//     tier_class the primary is a site of the tier's storage class (active when any allowed
//                site is of that class)
//     diversity  no two sites of S share a provider (active when k >= 2)
// Each set has one canonical primary: the eligible site with the least b, ties broken by the
// listing order (tier's class first, then fastest, cheapest, name). Among equal objectives the
// set whose site names, in site order, compare lexicographically smaller wins (the seed's rule).
// Plain data and pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace dim {

inline constexpr int kMaxCompactSites = 64;

struct PlacementRules {
  bool sla = true;
  bool diversity = true;
  bool tier_class = true;
};

struct CompactProblem {
  int n = 0;             // sites; bit i is site i
  int k = 1;             // replicas to place
  uint64_t allowed = 0;  // sites that may hold the object
  uint64_t sla = 0;      // sites with p95 <= SLA
  uint64_t cls = 0;      // sites of the object's tier's storage class
  bool has_tier = false;
  bool diversity = true;  // the request wants provider diversity
  double constant = 0;
  std::array<double, kMaxCompactSites> a{};           // per replica
  std::array<double, kMaxCompactSites> b{};           // extra when primary
  std::array<uint8_t, kMaxCompactSites> provider{};   // small provider ids
  std::array<uint8_t, kMaxCompactSites> order{};      // listing rank (0 first)
  std::array<uint8_t, kMaxCompactSites> name_rank{};  // rank of the site's name

  bool SlaActive(const PlacementRules& r) const { return r.sla && (allowed & sla) != 0; }
  bool ClassActive(const PlacementRules& r) const {
    return r.tier_class && has_tier && (allowed & cls) != 0;
  }
  bool DiversityActive(const PlacementRules& r) const { return r.diversity && diversity && k >= 2; }
};

struct Choice {
  uint64_t mask = 0;
  int primary = -1;
  double objective = std::numeric_limits<double>::infinity();
  bool ok() const { return mask != 0; }
};

// Whether `mask` (exactly k allowed sites) obeys the active rules; its canonical primary.
bool Feasible(const CompactProblem& p, const PlacementRules& r, uint64_t mask);
int PrimaryOf(const CompactProblem& p, const PlacementRules& r, uint64_t mask);
double ObjectiveOf(const CompactProblem& p, uint64_t mask, int primary);
// a before b: lower objective (beyond 1e-12), else the seed's name order.
bool ChoiceBefore(const CompactProblem& p, const Choice& a, const Choice& b);

// The best `limit` feasible choices in order, skipping the masks in `forbid`. Returns how many
// were found. Enumerates C(|allowed|, k) sets: meant for small site counts (at most 63).
int BestChoices(const CompactProblem& p, const PlacementRules& r, Choice* out, int limit,
                const std::vector<uint64_t>& forbid = {});

// Site indices of a mask, primary first, then in listing order.
std::vector<int> ListedSites(const CompactProblem& p, uint64_t mask, int primary);

}  // namespace dim
