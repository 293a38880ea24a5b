// JSON views of an Evaluation: `GET /explain/{key}` (the seed's fields — objective, chosen,
// sla_ms, rf, p_hot, scores, sites — plus the per-site objective terms, binding constraints and
// the runner-up) and `GET /debug/placement/{key}` (the seed's key, db_before, windows,
// prediction, heat, recommended).
#pragma once

#include <nlohmann/json.hpp>

#include "optimizer/optimizer.h"

namespace dim {

nlohmann::json ExplainJson(const Evaluation& ev);
nlohmann::json DebugPlacementJson(const Evaluation& ev, const TierParams& tier_params);
nlohmann::json ObjectJson(const ObjectRecord& o);
// Per-feature contributions: {model, p_hot, margin, bias, features: [{feature, value,
// contribution}]}, in log-odds; bias + the contributions = margin. In DebugPlacementJson's
// "prediction" when the evaluation was asked to explain.
nlohmann::json ContributionsJson(const PredictionExplanation& e);

}  // namespace dim
