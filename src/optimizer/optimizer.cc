#include "optimizer/optimizer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "optimizer/cbc_placer.h"
#include "optimizer/explanation.h"
#include "optimizer/site_score.h"
#include "stream/access_consumer.h"

namespace dim {

OptimizerOptions OptimizerOptions::FromConfig(const Config& c) {
  OptimizerOptions o;
  o.rf = static_cast<int>(c.policy.rf);
  o.sla_ms = c.policy.sla_ms;
  o.score_weight_base = c.policy.score_weight_base;
  o.score_weight_p = c.policy.score_weight_p;
  o.tier.hot_threshold = c.policy.hot_threshold;
  o.tier.warm_threshold = c.policy.warm_threshold;
  o.tier.heat_pred_boost = c.policy.heat_pred_boost;
  o.tier.max_hot_share = c.policy.max_hot_share;
  o.tier.hot_demote_recency_s = c.policy.hot_demote_recency_s;
  o.tier.warm_demote_recency_s = c.policy.warm_demote_recency_s;
  o.tier.hot_demote_p = c.policy.hot_demote_p;
  o.tier.min_residency_hot_s = c.policy.min_residency_hot_s;
  o.tier.min_residency_warm_s = c.policy.min_residency_warm_s;
  o.tier.min_residency_cold_s = c.policy.min_residency_cold_s;
  o.heat_tau_s = c.stream.heat_tau_s;
  o.max_attempts = static_cast<int>(c.migrator.max_attempts);
  o.objective = ParsePlacementObjective(c.optimizer.objective).value_or(PlacementObjective::kCost);
  o.placer = c.optimizer.placer;
  o.exact_max_sites = static_cast<int>(c.optimizer.exact_max_sites);
  o.cost.horizon_days = c.optimizer.horizon_days;
  o.cost.latency_penalty_per_ms_1k = c.optimizer.latency_penalty_per_ms_1k;
  o.cost.sla_ms = o.sla_ms;
  o.global.budget_bytes = c.optimizer.migration_budget_bytes;
  o.global.budget_dollars = c.optimizer.migration_budget_dollars;
  o.global.time_limit_s = c.optimizer.global_time_limit_s;
  o.global.relative_gap = c.optimizer.global_relative_gap;
  o.global.solver = c.optimizer.global_solver;
  o.global.milp_max_columns = c.optimizer.global_milp_max_columns;
  o.global.patterns = static_cast<int>(c.optimizer.global_patterns);
  o.global.threads = static_cast<int>(c.optimizer.global_threads);
  o.global_interval_s = c.optimizer.global_interval_s;
  return o;
}

namespace {

std::unique_ptr<Placer> MakePlacer(const OptimizerOptions& o) {
  if (o.placer == "exact") return std::make_unique<ExactPlacer>();
  if (o.placer == "cbc") return std::make_unique<CbcPlacer>();
  return std::make_unique<AutoPlacer>(o.exact_max_sites);
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

Optimizer::Optimizer(MetadataStore& store, std::vector<SiteConfig> sites, PredictorSlot& predictor,
                     RuntimePolicy& policy, const Clock& clock, MetricsRegistry& metrics,
                     OptimizerOptions options)
    : store_(store),
      sites_(std::move(sites)),
      predictor_(predictor),
      policy_(policy),
      clock_(clock),
      options_(std::move(options)),
      placer_(MakePlacer(options_)),
      available_([](const std::string&) { return true; }),
      evaluations_(metrics.AddCounter("dim_placement_evaluations_total",
                                      "Placement evaluations, by resulting tier", {"tier"})),
      changes_(metrics.AddCounter("dim_placement_changes_total",
                                  "Evaluations that changed an object's tier or sites").Get()),
      eval_seconds_(metrics.AddHistogram("dim_placement_evaluation_duration_seconds",
                                         "Time to evaluate one object").Get()) {
  for (const auto& s : sites_) {
    prices_.push_back(SitePrices::From(s));
    any_capacity_ |= s.capacity_bytes > 0;
  }
  GlobalPlanner::Settings gs;
  gs.context.sites = sites_;
  gs.context.rf = options_.rf;
  gs.context.sla_ms = options_.sla_ms;
  gs.context.tier = options_.tier;
  gs.context.objective = options_.objective;
  gs.context.cost = Costs();
  gs.context.score_weight_base = options_.score_weight_base;
  gs.context.score_weight_p = options_.score_weight_p;
  gs.heat_tau_s = options_.heat_tau_s;
  gs.max_attempts = options_.max_attempts;
  global_ = std::make_unique<GlobalPlanner>(store_, predictor_, policy_, clock_, metrics, gs);
}

Result<GlobalPlanReport> Optimizer::PlanAll(const PlanOptions& options, bool apply,
                                            const std::string& actor) {
  auto r = global_->Run(options, apply, actor);
  if (r.ok() && apply && r->applied > 0) {
    std::lock_guard<std::mutex> lock(usage_mu_);
    usage_valid_ = false;  // copies were queued
  }
  return r;
}

CostParams Optimizer::Costs() const {
  CostParams p = options_.cost;
  p.sla_ms = options_.sla_ms;
  return p;
}

Result<std::map<std::string, int64_t>> Optimizer::SiteUsage(int64_t now_ms) {
  if (!any_capacity_) return std::map<std::string, int64_t>{};
  std::lock_guard<std::mutex> lock(usage_mu_);
  if (!usage_valid_ || now_ms - usage_at_ms_ > 5000 || now_ms < usage_at_ms_) {
    DIM_ASSIGN_OR_RETURN(usage_, store_.BytesBySite());
    usage_at_ms_ = now_ms;
    usage_valid_ = true;
  }
  return usage_;
}

void Optimizer::NoteAdded(const std::vector<std::string>& sites,
                          const std::vector<std::string>& before, int64_t size) {
  if (!any_capacity_) return;
  std::lock_guard<std::mutex> lock(usage_mu_);
  for (const auto& s : sites) {
    if (!Contains(before, s)) usage_[s] += size;
  }
}

Optimizer::~Optimizer() { Stop(); }

void Optimizer::SetSiteAvailability(std::function<bool(const std::string&)> available) {
  global_->SetSiteAvailability(available);
  std::lock_guard<std::mutex> lock(avail_mu_);
  available_ = std::move(available);
}

Result<double> Optimizer::HotShare() {
  DIM_ASSIGN_OR_RETURN(auto counts, CountTiers());
  return counts.Share();
}

Result<Optimizer::TierCounts> Optimizer::CountTiers() {
  DIM_ASSIGN_OR_RETURN(auto counts, store_.CountObjectsByTier());
  TierCounts t;
  for (auto& [tier, n] : counts) t.total += n;
  t.hot = counts[Tier::kHot];
  return t;
}

Result<std::vector<SiteCandidate>> Optimizer::Candidates(const std::vector<double>& scores,
                                                         const ObjectRecord* object, int64_t size,
                                                         const std::vector<ReplicaRecord>& replicas,
                                                         const Demand& demand, int64_t now_ms) {
  std::function<bool(const std::string&)> avail;
  {
    std::lock_guard<std::mutex> lock(avail_mu_);
    avail = available_;
  }
  DIM_ASSIGN_OR_RETURN(auto usage, SiteUsage(now_ms));
  // Which sites hold a live replica of the current content, since when; the cheapest to read from.
  std::vector<int64_t> held_since(sites_.size(), -1);
  double source_out = 0;
  bool any_source = false;
  for (const auto& r : replicas) {
    if (!object || r.state != ReplicaState::kLive || r.generation != object->generation) continue;
    for (size_t i = 0; i < sites_.size(); ++i) {
      if (sites_[i].name != r.site) continue;
      held_since[i] = r.created_ms;
      double out = MoveOutPerGb(prices_[i]);
      if (!any_source || out < source_out) source_out = out;
      any_source = true;
    }
  }
  const CostParams cp = Costs();
  std::vector<SiteCandidate> out;
  for (size_t i = 0; i < sites_.size(); ++i) {
    const auto& s = sites_[i];
    SiteCandidate c;
    c.name = s.name;
    c.provider = s.provider;
    c.storage_class = s.storage_class;
    c.encrypted = s.encrypted;
    c.p95_ms = s.p95_ms;
    c.cost_per_gb = s.cost_per_gb_month;
    c.score = i < scores.size() ? scores[i] : 0.0;
    c.available = avail(s.name);
    const bool held = held_since[i] >= 0;
    const bool placed = held || (object && Contains(object->sites, s.name));
    if (s.capacity_bytes > 0 && !placed) {
      auto it = usage.find(s.name);
      int64_t used = it == usage.end() ? 0 : it->second;
      c.has_room = used + size <= s.capacity_bytes;
    }
    double age_days = held ? std::max<int64_t>(0, now_ms - held_since[i]) / 86'400'000.0 : 0;
    c.cost = CostAt(prices_[i], demand, held, age_days, source_out, cp);
    out.push_back(std::move(c));
  }
  return out;
}

Result<Evaluation> Optimizer::Evaluate(const ObjectKey& key, bool apply, bool explain) {
  DIM_ASSIGN_OR_RETURN(auto obj, store_.GetObject(key));
  if (!obj) return Status::NotFound("no such object " + key.Full());
  DIM_ASSIGN_OR_RETURN(double share, HotShare());
  return EvaluateObject(*obj, share, apply, nullptr, explain);
}

Result<std::vector<Optimizer::Prediction>> Optimizer::PredictBatch(
    const std::vector<ObjectRecord>& objects) {
  std::vector<Prediction> out(objects.size());
  if (objects.empty()) return out;
  const int64_t now = clock_.NowMs();
  std::vector<std::string> keys;
  keys.reserve(objects.size());
  for (const auto& o : objects) keys.push_back(o.key.Full());
  DIM_ASSIGN_OR_RETURN(auto rows, store_.GetAccessStatsMany(keys));
  std::unordered_map<std::string, const AccessStats*> by_key;
  for (const auto& r : rows) by_key[r.key] = &r;
  std::vector<ObjectFeatures> features(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    Prediction& p = out[i];
    p.now_ms = now;
    if (auto it = by_key.find(keys[i]); it != by_key.end()) {
      p.stats = StatsAsOf(*it->second, now, options_.heat_tau_s);
    } else {
      p.stats.key = keys[i];
    }
    p.features = features[i] = ExtractFeatures(&objects[i], p.stats, now);
  }
  auto predictor = predictor_.Get();
  auto ps = predictor->PredictHot(features);
  const bool ok = ps.ok() && ps->size() == objects.size();
  if (!ok) {
    spdlog::warn("predictor {} failed on a batch of {} ({}); using the heuristic for it",
                 predictor->name(), objects.size(),
                 ps.ok() ? std::string("wrong size") : ps.status().ToString());
  }
  for (size_t i = 0; i < objects.size(); ++i) {
    out[i].predictor = ok ? predictor->name() : "heuristic";
    out[i].p_hot = ok ? std::clamp((*ps)[i], 0.0, 1.0) : HeuristicPredictor::Score(features[i]);
  }
  return out;
}

Result<Evaluation> Optimizer::EvaluateObject(const ObjectRecord& object, double hot_share,
                                             bool apply, const Prediction* predicted,
                                             bool explain) {
  const int64_t start_us = MonotonicMicros();
  Evaluation ev;
  ev.object = object;
  std::vector<Prediction> one;
  if (!predicted) {  // a single evaluation: a batch of one
    DIM_ASSIGN_OR_RETURN(one, PredictBatch({object}));
    predicted = &one[0];
  }
  ev.evaluated_ms = predicted->now_ms;
  const int64_t now = ev.evaluated_ms;
  ev.stats = predicted->stats;
  ev.features = predicted->features;
  ev.predictor = predicted->predictor;
  ev.p_hot = predicted->p_hot;
  if (explain) {
    auto e = predictor_.Get()->Explain(ev.features);
    if (e.ok()) ev.contributions = std::move(*e);
    else spdlog::warn("explaining the prediction for {}: {}", object.key.Full(), e.status().ToString());
  }
  std::vector<ScoredSite> scored;
  for (const auto& s : sites_) scored.push_back({s.name, s.region, s.p95_ms, s.cost_per_gb_month});
  std::string primary = object.sites.empty() ? "" : object.sites.front();
  std::vector<double> scores = SiteScores(scored, ev.p_hot, primary);
  for (size_t i = 0; i < sites_.size(); ++i) ev.scores[sites_[i].name] = scores[i];
  ev.p_adj = AdjustedPHot(ev.p_hot, scores);

  TierInputs ti;
  ti.heat = ev.stats.heat;
  ti.p_adj = ev.p_adj;
  ti.access_1h = ev.stats.access_1h;
  ti.access_24h = ev.stats.access_24h;
  ti.current = object.tier;
  ti.residency_s = std::max<int64_t>(0, now - object.tier_since_ms) / 1000.0;
  ti.recency_s = ev.features.recency_s;
  ti.hot_share = hot_share;
  ev.tier = DecideTier(ti, options_.tier);

  const CostParams cp = Costs();
  ev.demand = ForecastDemand(object.size, ev.stats, ev.p_hot, cp);
  DIM_ASSIGN_OR_RETURN(auto replicas, store_.GetReplicas(object.id));
  DIM_ASSIGN_OR_RETURN(ev.request.sites,
                       Candidates(scores, &object, object.size, replicas, ev.demand, now));
  ev.request.rf = options_.rf;
  ev.request.sla_ms = options_.sla_ms;
  ev.request.score_weight = options_.score_weight_base + options_.score_weight_p * ev.p_hot;
  ev.request.enforce_encryption = policy_.EncryptionEnforced();
  ev.request.tier = ev.tier.tier;
  ev.request.objective = options_.objective;
  ev.request.horizon_days = cp.horizon_days;
  DIM_ASSIGN_OR_RETURN(ev.placement, placer_->Solve(ev.request));

  // Expected monthly saving: the recurring $ of the current placement minus the chosen one's.
  auto monthly = [&](const std::vector<std::string>& placement) {
    double v = 0;
    for (size_t i = 0; i < ev.request.sites.size(); ++i) {
      const auto& c = ev.request.sites[i];
      if (!Contains(placement, c.name)) continue;
      v += MonthlyRecurring(c.cost, !placement.empty() && placement.front() == c.name, cp);
    }
    return v;
  };
  ev.monthly_before = monthly(object.sites);
  ev.monthly_after = monthly(ev.placement.chosen);
  ev.expected_saving_month = ev.monthly_before - ev.monthly_after;
  ev.changed = ev.tier.tier != object.tier || ev.placement.chosen != object.sites;
  evaluations_.Labels({std::string(TierName(ev.tier.tier))}).Inc();

  if (apply && ev.changed) {
    ObjectRecord current = object;
    for (int attempt = 0; attempt < 3; ++attempt) {
      MetadataStore::PlacementChange pc;
      pc.object_id = current.id;
      pc.expected_version = current.version;
      pc.tier = ev.tier.tier;
      pc.sites = ev.placement.chosen;
      pc.max_attempts = options_.max_attempts;
      pc.now_ms = now;
      DecisionRecord d;
      d.objective = ev.placement.objective;
      d.expected_saving_month = ev.expected_saving_month;
      d.explanation_json = ExplainJson(ev).dump();
      pc.decision = d;
      auto r = store_.UpdatePlacement(pc);
      if (r.ok()) {
        ev.applied = true;
        changes_.Inc();
        NoteAdded(ev.placement.chosen, current.sites, object.size);
        spdlog::info("placement {}: {} [{}] -> {} [{}] ({})", object.key.Full(),
                     TierName(object.tier), fmt::join(object.sites, ","), TierName(ev.tier.tier),
                     fmt::join(ev.placement.chosen, ","), ev.tier.reason);
        break;
      }
      if (!r.status().IsAborted()) return r.status().WithContext("applying placement of " + object.key.Full());
      // Lost the compare-and-swap (a copy committed meanwhile): re-read and try again.
      DIM_ASSIGN_OR_RETURN(auto fresh, store_.GetObjectById(object.id));
      if (!fresh) return Status::NotFound("object " + object.key.Full() + " was deleted");
      if (fresh->generation != object.generation) break;  // new content; the next pass decides
      current = *fresh;
    }
    // The seed's latency alert: a hot object whose best placement still misses the SLA.
    if (ev.applied && ev.tier.tier == Tier::kHot) {
      for (const auto& s : sites_) {
        if (s.name == ev.placement.chosen.front() && s.p95_ms > options_.sla_ms) {
          (void)store_.RaiseAlert("latency_sla", "warning", object.key.Full(),
                                  object.key.Full() + " on " + s.name + " exceeds the SLA (" +
                                      std::to_string(static_cast<int>(s.p95_ms)) + " ms > " +
                                      std::to_string(static_cast<int>(options_.sla_ms)) + " ms)",
                                  "{}", now);
        }
      }
    }
  }
  if (ev.stats.access_1h >= 500) {
    (void)store_.RaiseAlert("traffic_spike", "info", object.key.Full(),
                            object.key.Full() + " saw " + std::to_string(ev.stats.access_1h) +
                                " accesses in the last hour",
                            "{}", now);
  }
  eval_seconds_.Observe((MonotonicMicros() - start_us) / 1e6);
  return ev;
}

Result<PassResult> Optimizer::EvaluateActive(int64_t since_ms) {
  PassResult pr;
  DIM_ASSIGN_OR_RETURN(TierCounts counts, CountTiers());
  std::set<int64_t> done;
  std::vector<ObjectRecord> batch;
  auto run = [&](const ObjectRecord& o) {
    if (!done.insert(o.id).second) return;
    batch.push_back(o);
    if (batch.size() >= kPredictBatch) {
      RunBatch(batch, counts, pr);
      batch.clear();
    }
  };
  DIM_ASSIGN_OR_RETURN(auto keys, store_.ListActiveKeys(since_ms, 100000));
  for (const auto& k : keys) {
    auto key = ObjectKey::Parse(k);
    if (!key.ok()) continue;
    auto obj = store_.GetObject(*key);
    if (obj.ok() && obj->has_value()) run(**obj);
  }
  // Non-cold objects, so that idle ones cool down.
  MetadataStore::ObjectQuery q;
  q.limit = 1000;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto page, store_.ListObjects(q));
    if (page.empty()) break;
    for (const auto& o : page) {
      if (o.tier != Tier::kCold) run(o);
    }
    q.after_id = page.back().id;
  }
  RunBatch(batch, counts, pr);
  return pr;
}

void Optimizer::RunBatch(const std::vector<ObjectRecord>& objects, TierCounts& counts,
                         PassResult& pr) {
  if (objects.empty()) return;
  auto predicted = PredictBatch(objects);
  if (!predicted.ok()) {
    spdlog::warn("predicting a batch of {}: {}", objects.size(), predicted.status().ToString());
    for (const auto& o : objects) RunOne(o, counts, pr);
    return;
  }
  for (size_t i = 0; i < objects.size(); ++i) RunOne(objects[i], counts, pr, &(*predicted)[i]);
}

void Optimizer::RunOne(const ObjectRecord& o, TierCounts& counts, PassResult& pr,
                       const Prediction* predicted) {
  auto r = EvaluateObject(o, counts.Share(), /*apply=*/true, predicted);
  pr.evaluated++;
  if (!r.ok()) {
    pr.errors++;
    spdlog::warn("evaluating {}: {}", o.key.Full(), r.status().ToString());
    return;
  }
  if (!r->applied) return;
  pr.changed++;
  // Keep the hot share current within the pass, so the cap holds.
  bool was_hot = o.tier == Tier::kHot, is_hot = r->tier.tier == Tier::kHot;
  counts.hot += (is_hot ? 1 : 0) - (was_hot ? 1 : 0);
}

Result<PassResult> Optimizer::EvaluateAll() {
  PassResult pr;
  DIM_ASSIGN_OR_RETURN(TierCounts counts, CountTiers());
  MetadataStore::ObjectQuery q;
  q.limit = 1000;
  for (;;) {
    DIM_ASSIGN_OR_RETURN(auto page, store_.ListObjects(q));
    if (page.empty()) break;
    RunBatch(page, counts, pr);
    q.after_id = page.back().id;
  }
  return pr;
}

Result<std::vector<std::string>> Optimizer::PlaceNew(Tier tier, int64_t size) {
  std::vector<ScoredSite> scored;
  for (const auto& s : sites_) scored.push_back({s.name, s.region, s.p95_ms, s.cost_per_gb_month});
  double p = tier == Tier::kHot ? 0.9 : tier == Tier::kWarm ? 0.45 : 0.05;
  const CostParams cp = Costs();
  PlacementRequest req;
  Demand d = ForecastDemand(size, AccessStats{}, p, cp);
  DIM_ASSIGN_OR_RETURN(req.sites, Candidates(SiteScores(scored, p, ""), nullptr, size, {}, d,
                                             clock_.NowMs()));
  req.rf = options_.rf;
  req.sla_ms = options_.sla_ms;
  req.score_weight = options_.score_weight_base + options_.score_weight_p * p;
  req.enforce_encryption = policy_.EncryptionEnforced();
  req.tier = tier;
  req.objective = options_.objective;
  req.horizon_days = cp.horizon_days;
  req.explain = false;
  DIM_ASSIGN_OR_RETURN(auto res, placer_->Solve(req));
  NoteAdded(res.chosen, {}, size);
  return res.chosen;
}

void Optimizer::Start(int64_t interval_s) {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this, interval_s] {
    int64_t since = clock_.NowMs() - interval_s * 1000;
    int64_t last_global = clock_.NowMs();
    while (running_.load()) {
      int64_t started = clock_.NowMs();
      if (options_.global_interval_s > 0 && started - last_global >= options_.global_interval_s * 1000) {
        last_global = started;
        auto g = PlanAll(options_.global, true, "optimizer");
        if (!g.ok()) spdlog::warn("periodic global plan: {}", g.status().ToString());
      }
      auto r = EvaluateActive(since);
      if (!r.ok()) {
        spdlog::warn("optimizer pass: {}", r.status().ToString());
      } else {
        since = started;
        if (r->changed > 0) {
          spdlog::info("optimizer pass: {} evaluated, {} changed", r->evaluated, r->changed);
        }
      }
      std::unique_lock<std::mutex> lock(loop_mu_);
      loop_cv_.wait_for(lock, std::chrono::seconds(interval_s), [&] { return !running_.load(); });
    }
  });
}

void Optimizer::Stop() {
  if (!running_.exchange(false)) return;
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
  }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace dim
