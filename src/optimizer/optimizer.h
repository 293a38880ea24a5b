// The optimizer service: for an object, reads its access statistics, predicts p_hot, decides its
// tier (tier_policy.h) and its sites (placement.h), and — when asked to apply — records the
// decision and the new placement in one compare-and-swap (MetadataStore::UpdatePlacement), which
// queues the copies; the migrator does the moving. Also places newly written objects, and runs a
// periodic pass over recently active and non-cold objects. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/metrics.h"
#include "ml/features.h"
#include "ml/predictor.h"
#include "optimizer/cost_model.h"
#include "optimizer/global_planner.h"
#include "optimizer/placement.h"
#include "optimizer/runtime_policy.h"
#include "optimizer/tier_policy.h"
#include "store/metadata_store.h"

namespace dim {

struct OptimizerOptions {
  int rf = 1;
  double sla_ms = 80;
  double score_weight_base = 0.2;
  double score_weight_p = 0.6;
  TierParams tier;
  double heat_tau_s = 1800;
  int max_attempts = 5;
  PlacementObjective objective = PlacementObjective::kCost;
  std::string placer = "auto";  // auto | exact | cbc
  int exact_max_sites = 12;
  CostParams cost;              // its sla_ms follows sla_ms
  PlanOptions global;           // defaults of a global run
  int64_t global_interval_s = 3600;  // periodic global runs; 0: none
  static OptimizerOptions FromConfig(const Config& c);
};

struct Evaluation {
  ObjectRecord object;       // as it was before the evaluation
  AccessStats stats;         // as of now
  ObjectFeatures features;
  std::string predictor;
  double p_hot = 0;
  double p_adj = 0;
  // Per-feature contributions behind p_hot (SHAP for a model), when the caller asked for them.
  std::optional<PredictionExplanation> contributions;
  std::map<std::string, double> scores;  // site -> score
  TierDecision tier;
  PlacementRequest request;
  PlacementResult placement;
  Demand demand;                     // predicted use over the horizon (cost_model.h)
  double monthly_before = 0;         // recurring $/month of the current placement
  double monthly_after = 0;          // ... and of the chosen one
  double expected_saving_month = 0;  // monthly_before - monthly_after
  bool changed = false;
  bool applied = false;
  int64_t evaluated_ms = 0;
};

struct PassResult {
  int evaluated = 0;
  int changed = 0;
  int errors = 0;
};

class Optimizer {
 public:
  Optimizer(MetadataStore& store, std::vector<SiteConfig> sites, PredictorSlot& predictor,
            RuntimePolicy& policy, const Clock& clock, MetricsRegistry& metrics,
            OptimizerOptions options);
  ~Optimizer();

  // Which sites may receive data now (health, chaos). Default: all.
  void SetSiteAvailability(std::function<bool(const std::string&)> available);

  // NotFound for an unknown object. apply: record the decision and queue the moves if it changed.
  // explain: also compute the predictor's per-feature contributions (exact SHAP for a model,
  // ~ms per object, so only on request).
  Result<Evaluation> Evaluate(const ObjectKey& key, bool apply, bool explain = false);
  // Objects accessed since since_ms, plus every hot or warm object (so idle ones cool down).
  Result<PassResult> EvaluateActive(int64_t since_ms);
  Result<PassResult> EvaluateAll();
  // The whole fleet at once (global_planner.h); apply = false is a dry run.
  Result<GlobalPlanReport> PlanAll(const PlanOptions& options, bool apply, const std::string& actor);

  // What an evaluation knows before placement: statistics as of now, features and p_hot. The
  // passes predict in batches (one statistics read and one predictor call per batch of up to
  // kPredictBatch objects), not one call per object.
  struct Prediction {
    AccessStats stats;
    ObjectFeatures features;
    std::string predictor;
    double p_hot = 0;
    int64_t now_ms = 0;
  };
  static constexpr size_t kPredictBatch = 1000;
  Result<std::vector<Prediction>> PredictBatch(const std::vector<ObjectRecord>& objects);
  // Sites for a new object of this tier (and size, for capacity), primary first.
  Result<std::vector<std::string>> PlaceNew(Tier tier, int64_t size = 0);

  const std::vector<SiteConfig>& sites() const { return sites_; }
  const OptimizerOptions& options() const { return options_; }

  // Periodic EvaluateActive (every interval_s) and global runs (every global_interval_s) on a
  // background thread.
  void Start(int64_t interval_s);
  void Stop();

 private:
  struct TierCounts {
    int64_t hot = 0;
    int64_t total = 0;
    double Share() const { return total == 0 ? 0.0 : static_cast<double>(hot) / total; }
  };
  Result<Evaluation> EvaluateObject(const ObjectRecord& object, double hot_share, bool apply,
                                    const Prediction* predicted = nullptr, bool explain = false);
  void RunOne(const ObjectRecord& o, TierCounts& counts, PassResult& pr,
              const Prediction* predicted = nullptr);
  void RunBatch(const std::vector<ObjectRecord>& objects, TierCounts& counts, PassResult& pr);
  Result<double> HotShare();
  Result<TierCounts> CountTiers();
  // Every site as a placement candidate for `object` (null: a new object of `size` bytes).
  Result<std::vector<SiteCandidate>> Candidates(const std::vector<double>& scores,
                                                const ObjectRecord* object, int64_t size,
                                                const std::vector<ReplicaRecord>& replicas,
                                                const Demand& demand, int64_t now_ms);
  // MetadataStore::BytesBySite, cached for a few seconds; empty when no site has a capacity.
  Result<std::map<std::string, int64_t>> SiteUsage(int64_t now_ms);
  void NoteAdded(const std::vector<std::string>& sites, const std::vector<std::string>& before,
                 int64_t size);
  CostParams Costs() const;

  MetadataStore& store_;
  std::vector<SiteConfig> sites_;
  PredictorSlot& predictor_;
  RuntimePolicy& policy_;
  const Clock& clock_;
  OptimizerOptions options_;
  std::unique_ptr<Placer> placer_;
  std::unique_ptr<GlobalPlanner> global_;
  std::vector<SitePrices> prices_;
  bool any_capacity_ = false;
  std::mutex usage_mu_;
  std::map<std::string, int64_t> usage_;
  int64_t usage_at_ms_ = 0;
  bool usage_valid_ = false;
  std::mutex avail_mu_;
  std::function<bool(const std::string&)> available_;

  std::atomic<bool> running_{false};
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  std::thread thread_;

  Family<Counter>& evaluations_;
  Counter& changes_;
  Histogram& eval_seconds_;
};

}  // namespace dim
