#include "ml/model_service.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

namespace dim {

ModelService::ModelService(PredictorSlot& slot, MetadataStore& store, const Clock& clock,
                           MetricsRegistry& metrics, ModelServiceOptions options)
    : slot_(slot),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      heuristic_(std::make_shared<HeuristicPredictor>()),
      path_(options_.path),
      loads_(metrics.AddCounter("dim_ml_model_loads_total",
                                "Model file load attempts, by result (loaded, rejected)",
                                {"result"})) {
  state_.path = path_;
  state_.predictor = slot_.Get()->name();
  metrics.AddGaugeCallback("dim_ml_model_loaded",
                           "1 when an XGBoost model serves, 0 for the heuristic", {}, [this] {
                             std::lock_guard<std::mutex> lock(mu_);
                             return std::vector<std::pair<std::vector<std::string>, double>>{
                                 {{}, state_.model ? 1.0 : 0.0}};
                           });
}

ModelService::~ModelService() { Stop(); }

ModelService::FileId ModelService::Identify(const std::string& path) {
  FileId id;
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return id;
  id.exists = true;
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.size = static_cast<int64_t>(st.st_size);
  id.inode = static_cast<int64_t>(st.st_ino);
  return id;
}

Status ModelService::Load(const std::string& path, const std::string& actor) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string p = path.empty() ? path_ : path;
  Status s =
      p.empty()
          ? Status::InvalidArgument("no model path: pass {\"path\": ...} or set ml.model_path")
          : LoadLocked(p);
  if (!actor.empty()) {
    AuditRecord a;
    a.ts_ms = clock_.NowMs();
    a.actor = actor;
    a.action = "ml.load";
    nlohmann::json d = {{"path", p}, {"result", s.ok() ? "loaded" : "rejected"}};
    if (s.ok())
      d["model_id"] = state_.model->model_id;
    else
      d["reason"] = s.ToString();
    a.detail_json = d.dump();
    if (auto as = store_.AppendAudit(a); !as.ok()) {
      spdlog::warn("auditing the model load: {}", as.ToString());
    }
  }
  return s;
}

Status ModelService::LoadLocked(const std::string& path) {
  path_ = path;
  state_.path = path;
  seen_ = Identify(path);
  auto m = XgbModel::Load(path, options_.nthread);
  if (!m.ok()) {
    Fallback(path, m.status());
    return m.status();
  }
  std::shared_ptr<const XgbModel> model(std::move(*m));
  auto importance = model->FeatureImportance();
  slot_.Set(std::make_shared<XgbPredictor>(model));
  state_.predictor = slot_.Get()->name();
  state_.model = model->header();
  state_.importance = importance.ok() ? *importance : decltype(state_.importance){};
  state_.loaded_ms = clock_.NowMs();
  state_.last_error.clear();
  state_.last_error_ms = 0;
  state_.reloads++;
  loads_.Labels({"loaded"}).Inc();
  // A model serves again: every refusal alert is over, whichever file it named.
  if (auto alerts = store_.ListAlerts(false); alerts.ok()) {
    for (const auto& a : *alerts) {
      if (a.kind == "model_rejected") (void)store_.ResolveAlert(a.kind, a.subject);
    }
  }
  const auto& v = model->header().validation;
  spdlog::info("ml: serving model {} ({}) from {}; validation AUC {}", model->header().model_id,
               model->header().kind, path,
               v.contains("auc") && v["auc"].is_number() ? std::to_string(v["auc"].get<double>())
                                                         : std::string("unknown"));
  return Status::OK();
}

void ModelService::Fallback(const std::string& path, const Status& why) {
  slot_.Set(heuristic_);
  state_.predictor = heuristic_->name();
  state_.model.reset();
  state_.importance.clear();
  state_.last_error = why.ToString();
  state_.last_error_ms = clock_.NowMs();
  loads_.Labels({"rejected"}).Inc();
  spdlog::error("ml: model file {} refused ({}); the heuristic predicts until a good model loads",
                path, why.ToString());
  nlohmann::json details = {{"path", path}, {"reason", why.ToString()}};
  auto r = store_.RaiseAlert(
      "model_rejected", "warning", path,
      "model file " + path + " refused: " + why.message() + "; the heuristic predicts",
      details.dump(), clock_.NowMs());
  if (!r.ok()) spdlog::warn("raising the model alert: {}", r.status().ToString());
}

bool ModelService::CheckForChange() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty()) return false;
  FileId now = Identify(path_);
  if (now == seen_) return false;
  if (!now.exists && !seen_.exists) return false;
  spdlog::info("ml: model file {} changed; reloading", path_);
  (void)LoadLocked(path_);
  return true;
}

void ModelService::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_.load()) {
      {
        std::unique_lock<std::mutex> lock(loop_mu_);
        loop_cv_.wait_for(lock,
                          std::chrono::seconds(std::max<int64_t>(1, options_.reload_interval_s)),
                          [&] { return !running_.load(); });
      }
      if (!running_.load()) break;
      CheckForChange();
    }
  });
}

void ModelService::Stop() {
  if (!running_.exchange(false)) return;
  { std::lock_guard<std::mutex> lock(loop_mu_); }
  loop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ModelService::State ModelService::GetState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

}  // namespace dim
