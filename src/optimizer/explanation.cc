#include "optimizer/explanation.h"

namespace dim {

using nlohmann::json;

json ObjectJson(const ObjectRecord& o) {
  json replicas = json::array();
  for (size_t i = 1; i < o.sites.size(); ++i) replicas.push_back(o.sites[i]);
  return {{"key", o.key.Full()},
          {"size", o.size},
          {"sha256", o.sha256},
          {"etag", o.etag},
          {"generation", o.generation},
          {"version", o.version},
          {"tier", TierName(o.tier)},
          {"tier_since_ms", o.tier_since_ms},
          {"primary", o.sites.empty() ? "" : o.sites.front()},
          {"replicas", replicas},
          {"sites", o.sites},
          {"created_ms", o.created_ms},
          {"updated_ms", o.updated_ms}};
}

json ExplainJson(const Evaluation& ev) {
  json sites = json::array();
  json terms = json::array();
  for (const auto& c : ev.request.sites) {
    sites.push_back({{"name", c.name},
                     {"p95_ms", c.p95_ms},
                     {"cost_gb", c.cost_per_gb},
                     {"provider", c.provider},
                     {"region", c.name},
                     {"class", TierName(c.storage_class)},
                     {"encrypted", c.encrypted},
                     {"available", c.available}});
  }
  for (const auto& t : ev.placement.terms) {
    json j = {{"site", t.site},
              {"cost_per_gb_month", t.cost},
              {"latency_penalty", t.latency_penalty},
              {"score_term", t.score_term},
              {"total", t.total},
              {"allowed", t.allowed}};
    if (!t.allowed) j["excluded_because"] = t.excluded_because;
    terms.push_back(std::move(j));
  }
  json j = {{"key", ev.object.key.Full()},
            {"objective", ev.placement.objective},
            {"chosen", ev.placement.chosen},
            {"sla_ms", ev.request.sla_ms},
            {"rf", ev.request.rf},
            {"p_hot", ev.p_hot},
            {"p_adj", ev.p_adj},
            {"predictor", ev.predictor},
            {"scores", ev.scores},
            {"sites", sites},
            {"tier", TierName(ev.tier.tier)},
            {"tier_reason", ev.tier.reason},
            {"score_weight", ev.request.score_weight},
            {"encryption_enforced", ev.request.enforce_encryption},
            {"cost_breakdown", terms},
            {"binding_constraints", ev.placement.binding},
            {"relaxed_constraints", ev.placement.relaxed},
            {"expected_saving_month", ev.expected_saving_month},
            {"current", {{"tier", TierName(ev.object.tier)}, {"sites", ev.object.sites}}},
            {"changed", ev.changed}};
  if (!ev.placement.runner_up.empty()) {
    j["runner_up"] = {{"chosen", ev.placement.runner_up},
                      {"objective", ev.placement.runner_up_objective},
                      {"lost_because", ev.placement.runner_up_lost_because}};
  } else {
    j["runner_up"] = nullptr;
  }
  return j;
}

json ContributionsJson(const PredictionExplanation& e) {
  json features = json::array();
  for (const auto& c : e.contributions) {
    features.push_back({{"feature", c.feature}, {"value", c.value}, {"contribution", c.contribution}});
  }
  return {{"model", e.model},  {"p_hot", e.p_hot},          {"margin", e.margin},
          {"bias", e.bias},    {"features", features}};
}

namespace {

json PredictionJson(const Evaluation& ev) {
  json j = {{"p", ev.p_hot}, {"p_adj", ev.p_adj}, {"scores", ev.scores}, {"model", ev.predictor}};
  if (ev.contributions) j["contributions"] = ContributionsJson(*ev.contributions);
  return j;
}

}  // namespace

json DebugPlacementJson(const Evaluation& ev, const TierParams& p) {
  const auto& o = ev.object;
  json replicas = json::array();
  for (size_t i = 1; i < o.sites.size(); ++i) replicas.push_back(o.sites[i]);
  json rec_replicas = json::array();
  for (size_t i = 1; i < ev.placement.chosen.size(); ++i) rec_replicas.push_back(ev.placement.chosen[i]);
  return {{"key", o.key.Full()},
          {"db_before",
           {{"tier", TierName(o.tier)},
            {"primary", o.sites.empty() ? "" : o.sites.front()},
            {"replicas", replicas},
            {"access_1h", ev.stats.access_1h},
            {"access_24h", ev.stats.access_24h},
            {"last_access_ts", ev.stats.last_access_ms},
            {"heat_score", ev.stats.heat}}},
          {"windows",
           {{"c1", ev.stats.access_1h},
            {"c24", ev.stats.access_24h},
            {"c7d", ev.stats.access_7d},
            {"last_ts", ev.stats.last_access_ms}}},
          {"prediction", PredictionJson(ev)},
          {"heat",
           {{"score", ev.stats.heat},
            {"boosted", ev.tier.boosted_heat},
            {"warm_threshold", p.warm_threshold},
            {"hot_threshold", p.hot_threshold}}},
          {"recommended",
           {{"tier", TierName(ev.tier.tier)},
            {"primary", ev.placement.chosen.empty() ? "" : ev.placement.chosen.front()},
            {"replicas", rec_replicas},
            {"heat_score", ev.stats.heat},
            {"reason", ev.tier.reason}}}};
}

}  // namespace dim
