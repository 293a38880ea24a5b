// The popularity model's routes, registered from here through ApiServer::AddRoute:
//   GET  /ml/model  what predicts now; the loaded model's metadata (schema, label, validation
//                   metrics, training source) and feature importance; the last refusal
//   POST /ml/load   load a model file now (body {"path": ...}, default ml.model_path); needs the
//                   token, audited; a refused file answers 422 with the reason and the heuristic
//                   predicts (alert model_rejected)
#pragma once

#include "api/api_server.h"
#include "ml/model_service.h"

namespace dim {

void RegisterMlRoutes(ApiServer& api, ModelService* models);

}  // namespace dim
