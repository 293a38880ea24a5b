// Per-object placement: choose exactly RF sites minimising the seed's objective
//   sum(cost_per_gb) + 0.001 * sum(max(0, p95_ms - sla_ms)) - score_weight * sum(site_score)
// subject to: only available sites; only encrypted sites when encryption is enforced; at least
// one chosen site under the SLA when any allowed site is; at most one per provider when RF >= 2;
// at least one site of the tier's storage class when any allowed site has it (that site is the
// primary). Placer implementations must agree on the optimum (exact enumeration here; a MILP
// solver for large site counts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tier.h"

namespace dim {

struct SiteCandidate {
  std::string name;
  std::string provider;
  Tier storage_class = Tier::kHot;
  bool encrypted = false;
  double p95_ms = 0;
  double cost_per_gb = 0;  // $ per GB-month
  double score = 0;        // site preference (higher is better)
  bool available = true;   // false when the site is down or failed by chaos
};

struct PlacementRequest {
  std::vector<SiteCandidate> sites;
  int rf = 1;
  double sla_ms = 80;
  double score_weight = 0.2;
  bool enforce_encryption = false;
  std::optional<Tier> tier;  // the object's tier: its storage class hosts the primary
  bool provider_diversity = true;
};

// One site's terms in the objective.
struct SiteTerms {
  std::string site;
  double cost = 0;
  double latency_penalty = 0;
  double score_term = 0;  // -score_weight * score
  double total = 0;
  bool allowed = true;
  std::string excluded_because;  // when not allowed
};

struct PlacementResult {
  std::vector<std::string> chosen;  // primary first
  double objective = 0;
  std::vector<SiteTerms> terms;     // every site, allowed or not
  // Constraints whose removal would change the choice ("sla", "provider_diversity",
  // "tier_class", "encryption", "availability"), and constraints that had to be dropped to find
  // any placement at all.
  std::vector<std::string> binding;
  std::vector<std::string> relaxed;
  std::vector<std::string> runner_up;
  double runner_up_objective = 0;
  std::string runner_up_lost_because;
};

class Placer {
 public:
  virtual ~Placer() = default;
  // FailedPrecondition when no site may hold the object at all.
  virtual Result<PlacementResult> Solve(const PlacementRequest& request) = 0;
};

// Exact enumeration of all RF-subsets; fine for tens of sites.
class ExactPlacer final : public Placer {
 public:
  Result<PlacementResult> Solve(const PlacementRequest& request) override;
};

}  // namespace dim
