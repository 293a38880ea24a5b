// Per-object placement: choose exactly RF sites (primary first) minimising an objective
//   seed (the seed's):  sum(cost_per_gb) + 0.001 * sum(max(0, p95_ms - sla_ms))
//                       - score_weight * sum(site_score)
//   cost (cost_model.h): $ over the planning horizon: every replica's storage, writes and move
//                       in, the primary's reads (requests, retrieval, egress, latency penalty) and
//                       the early-deletion fees of the replicas it drops
// subject to: only available sites, with room (capacity), encrypted when encryption is enforced;
// at least one chosen site under the SLA when any allowed site is; at most one per provider when
// RF >= 2; the primary on a site of the tier's storage class when any allowed site has it. When
// the rules leave nothing feasible they are relaxed in that order's reverse (diversity, class,
// SLA) and reported. Placer implementations find the same optimum (exact enumeration here; CBC
// in cbc_placer.h) and differ only among equal-objective ties. Solve is thread-safe per instance
// unless an implementation says otherwise.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tier.h"
#include "optimizer/cost_model.h"

namespace dim {

enum class PlacementObjective { kSeed, kCost };
std::string_view PlacementObjectiveName(PlacementObjective o);
std::optional<PlacementObjective> ParsePlacementObjective(std::string_view s);

struct SiteCandidate {
  std::string name;
  std::string provider;
  Tier storage_class = Tier::kHot;
  bool encrypted = false;
  double p95_ms = 0;
  double cost_per_gb = 0;  // $ per GB-month
  double score = 0;        // site preference (higher is better)
  bool available = true;   // false when the site is down or failed by chaos
  bool has_room = true;    // false when the site's capacity cannot take the object
  SiteCost cost;           // the cost objective's $ terms for this object on this site
};

struct PlacementRequest {
  std::vector<SiteCandidate> sites;
  int rf = 1;
  double sla_ms = 80;
  double score_weight = 0.2;
  bool enforce_encryption = false;
  std::optional<Tier> tier;  // the object's tier: its storage class hosts the primary
  bool provider_diversity = true;
  PlacementObjective objective = PlacementObjective::kSeed;
  double horizon_days = 30;  // for the explanation's wording (cost objective)
  bool explain = true;       // runner-up and binding constraints (costs extra solves)
};

// One site's terms in the objective.
struct SiteTerms {
  std::string site;
  double cost = 0;             // $/GB-month (the seed's term)
  double latency_penalty = 0;  // the seed's 0.001 * ms over the SLA
  double score_term = 0;       // -score_weight * score
  double total = 0;            // the seed objective's per-site total
  SiteCost dollars;            // the cost model's terms
  double replica_coef = 0;     // what holding a replica adds to the objective in use
  double primary_coef = 0;     // what being the primary adds on top
  bool allowed = true;
  std::string excluded_because;  // when not allowed
};

struct PlacementResult {
  std::vector<std::string> chosen;  // primary first
  double objective = 0;
  std::string solver;            // "exact" | "cbc"
  std::vector<SiteTerms> terms;  // every site, allowed or not
  // Constraints whose removal would change the choice ("sla", "provider_diversity",
  // "tier_class", "encryption", "availability", "capacity"), and constraints that had to be
  // dropped to find any placement at all.
  std::vector<std::string> binding;
  std::vector<std::string> relaxed;
  std::vector<std::string> runner_up;
  double runner_up_objective = 0;
  std::string runner_up_lost_because;
  bool runner_up_feasible = true;
  std::map<std::string, double> runner_up_extra;  // cost objective: $ more, by term
};

class Placer {
 public:
  virtual ~Placer() = default;
  // FailedPrecondition when no site may hold the object at all.
  virtual Result<PlacementResult> Solve(const PlacementRequest& request) = 0;
};

// Exact enumeration of all RF-subsets; for up to 32 allowed sites, fine for a dozen or two.
class ExactPlacer final : public Placer {
 public:
  Result<PlacementResult> Solve(const PlacementRequest& request) override;
};

}  // namespace dim
