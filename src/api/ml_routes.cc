#include "api/ml_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "api/http_util.h"

namespace dim {

using nlohmann::json;

namespace {

json StateJson(const ModelService::State& s, int64_t reload_interval_s) {
  json j = {{"predictor", s.predictor},
            {"model_loaded", s.model.has_value()},
            {"path", s.path},
            {"reload_interval_s", reload_interval_s},
            {"loaded_ms", s.loaded_ms},
            {"reloads", s.reloads},
            {"last_error", s.last_error.empty() ? json() : json(s.last_error)},
            {"last_error_ms", s.last_error_ms}};
  if (s.model) {
    j["model"] = ModelHeaderToJson(*s.model);
    json imp = json::array();
    double total = 0;
    for (const auto& [f, g] : s.importance) total += g;
    for (const auto& [f, g] : s.importance) {
      imp.push_back({{"feature", f}, {"total_gain", g}, {"share", total > 0 ? g / total : 0.0}});
    }
    j["importance"] = imp;
  } else {
    j["model"] = nullptr;
    j["importance"] = json::array();
  }
  return j;
}

}  // namespace

void RegisterMlRoutes(ApiServer& api, ModelService* models) {
  const int64_t interval = models ? models->reload_interval_s() : 0;
  api.AddRoute("GET", "/ml/model", "/ml/model",
               "The popularity predictor in use: model metadata (features, label, validation "
               "metrics), feature importance, the last refused file",
               false, [models, interval](const httplib::Request&, httplib::Response& res) {
                 if (!models) {
                   return SendError(res,
                                    Status::Unavailable("the model service does not run here"));
                 }
                 SendJson(res, 200, StateJson(models->GetState(), interval));
               });
  api.AddRoute(
      "POST", "/ml/load", "/ml/load",
      "Load a model file now: body {\"path\": FILE} (default ml.model_path); audited. A corrupt "
      "or mismatched file answers 422 and the heuristic predicts",
      true, [models, interval](const httplib::Request& req, httplib::Response& res) {
        if (!models)
          return SendError(res, Status::Unavailable("the model service does not run here"));
        std::string path;
        if (!req.body.empty()) {
          auto body = JsonObjectBody(req);
          if (!body.ok()) return SendError(res, body.status());
          if (body->contains("path")) {
            if (!(*body)["path"].is_string() || (*body)["path"].get<std::string>().empty()) {
              return SendError(res, Status::InvalidArgument("path must be a non-empty string"));
            }
            path = (*body)["path"].get<std::string>();
          }
        }
        Status s = models->Load(path, "admin");
        json state = StateJson(models->GetState(), interval);
        if (s.ok()) {
          state["loaded"] = true;
          return SendJson(res, 200, state);
        }
        if (s.IsInvalidArgument() && s.message().find("no model path") != std::string::npos) {
          return SendError(res, s);
        }
        state["loaded"] = false;
        state["error"] = s.message();
        state["code"] = StatusCodeName(s.code());
        SendJson(res, 422, state);
      });
}

}  // namespace dim
