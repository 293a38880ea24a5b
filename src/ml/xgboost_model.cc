#include "ml/xgboost_model.h"

#include <spdlog/spdlog.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/checksum.h"
#include "core/clock.h"
#include "core/helper_threads.h"
#include "core/utc_time.h"
#include "ml/compiled_forest.h"

namespace dim {

namespace {

// XGBoost's messages carry a stack trace after the first line; keep the first.
std::string LastError() {
  std::string e = XGBGetLastError();
  if (auto nl = e.find('\n'); nl != std::string::npos) e.resize(nl);
  return e;
}

Status XgbFailed(StatusCode code, const std::string& what) {
  return Status(code, what + ": " + LastError());
}

void RouteXgboostLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    XGBRegisterLogCallback([](const char* msg) { spdlog::info("xgboost: {}", msg); });
  });
}

std::string XgboostVersion() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string CompactUtc(int64_t ms) { return FormatUtc(ms, "%Y%m%dT%H%M%SZ"); }

std::string JoinedFeatureNames() {
  std::string s;
  for (auto n : FeatureNames()) s += (s.empty() ? "" : ",") + std::string(n);
  return s;
}

// A DMatrix or Booster freed on scope exit.
struct DMatrixGuard {
  DMatrixHandle h = nullptr;
  ~DMatrixGuard() {
    if (h) XGDMatrixFree(h);
  }
};
struct BoosterGuard {
  BoosterHandle h = nullptr;
  ~BoosterGuard() {
    if (h) XGBoosterFree(h);
  }
  BoosterHandle release() { return std::exchange(h, nullptr); }
};

Result<DMatrixHandle> MakeMatrix(const Dataset& d) {
  DMatrixHandle m = nullptr;
  if (XGDMatrixCreateFromMat(d.x.data(), d.rows(), kNumFeatures, NAN, &m) != 0) {
    return XgbFailed(StatusCode::kInternal, "creating the training matrix");
  }
  if (XGDMatrixSetFloatInfo(m, "label", d.y.data(), d.rows()) != 0) {
    XGDMatrixFree(m);
    return XgbFailed(StatusCode::kInternal, "setting labels");
  }
  return m;
}

constexpr size_t kSmallBatch = 256;  // below this, the single-threaded booster is faster

}  // namespace

TrainParams TrainParams::Defaults(std::string_view kind) {
  TrainParams p;
  if (kind == kBoostedTrees) {
    p.kind = std::string(kBoostedTrees);
    p.rounds = 60;
    p.trees = 1;
    p.max_depth = 5;
    p.eta = 0.15;
    p.subsample = 0.8;
    p.colsample = 0.8;
  } else {
    p.kind = std::string(kRandomForest);
  }
  return p;
}

XgbModel::~XgbModel() {
  if (batch_) XGBoosterFree(batch_);
  if (single_) XGBoosterFree(single_);
}

Result<std::unique_ptr<XgbModel>> XgbModel::Train(const TrainParams& params, const LabelSpec& label,
                                                  double threshold, const Dataset& train,
                                                  const Dataset* valid,
                                                  const TrainProgress& progress) {
  RouteXgboostLogs();
  if (params.kind != kRandomForest && params.kind != kBoostedTrees) {
    return Status::InvalidArgument("unknown model kind '" + params.kind + "'");
  }
  if (train.rows() == 0) return Status::InvalidArgument("no training rows");
  if (params.rounds < 1 || params.trees < 1 || params.max_depth < 1) {
    return Status::InvalidArgument("rounds, trees and max_depth must be at least 1");
  }
  DMatrixGuard dtrain, dvalid;
  DIM_ASSIGN_OR_RETURN(dtrain.h, MakeMatrix(train));
  if (valid && valid->rows() > 0) {
    DIM_ASSIGN_OR_RETURN(dvalid.h, MakeMatrix(*valid));
  }

  BoosterGuard b;
  DMatrixHandle cache[2] = {dtrain.h, dvalid.h};
  if (XGBoosterCreate(cache, dvalid.h ? 2 : 1, &b.h) != 0) {
    return XgbFailed(StatusCode::kInternal, "creating the booster");
  }
  const bool forest = params.kind == kRandomForest;
  // Start from the prevalence instead of 0.5: one Newton step (a forest) then lands near
  // calibrated probabilities, and boosting needs fewer rounds.
  double prevalence = static_cast<double>(train.positives()) / static_cast<double>(train.rows());
  std::vector<std::pair<std::string, std::string>> kv = {
      {"objective", "binary:logistic"},
      {"booster", "gbtree"},
      {"tree_method", "hist"},
      {"base_score", std::to_string(std::clamp(prevalence, 0.01, 0.99))},
      {"max_depth", std::to_string(params.max_depth)},
      {"eta", std::to_string(params.eta)},
      {"subsample", std::to_string(params.subsample)},
      {forest ? "colsample_bynode" : "colsample_bytree", std::to_string(params.colsample)},
      {"num_parallel_tree", std::to_string(params.trees)},
      {"min_child_weight", std::to_string(params.min_child_weight)},
      {"lambda", std::to_string(params.lambda)},
      {"nthread", std::to_string(std::max(1, params.nthread))},
      {"seed", std::to_string(params.seed)},
      {"verbosity", "1"},
      {"eval_metric", "auc"},
      {"eval_metric", "logloss"},
  };
  for (const auto& [k, v] : kv) {
    if (XGBoosterSetParam(b.h, k.c_str(), v.c_str()) != 0) {
      return XgbFailed(StatusCode::kInvalidArgument, "parameter " + k + "=" + v);
    }
  }
  const char* names[2] = {"train", "valid"};
  for (int round = 0; round < params.rounds; ++round) {
    if (XGBoosterUpdateOneIter(b.h, round, dtrain.h) != 0) {
      return XgbFailed(StatusCode::kInternal, "training round " + std::to_string(round + 1));
    }
    if (progress) {
      const char* eval = nullptr;
      if (XGBoosterEvalOneIter(b.h, round, cache, names, dvalid.h ? 2 : 1, &eval) != 0) {
        return XgbFailed(StatusCode::kInternal, "evaluating round " + std::to_string(round + 1));
      }
      progress(round + 1, params.rounds, eval ? eval : "");
    }
  }
  // The booster carries our schema too, so a bare XGBoost model still says what it expects.
  std::vector<std::string> feature_names(FeatureNames().begin(), FeatureNames().end());
  std::vector<const char*> cnames;
  for (const auto& n : feature_names) cnames.push_back(n.c_str());
  if (XGBoosterSetStrFeatureInfo(b.h, "feature_name", cnames.data(), cnames.size()) != 0 ||
      XGBoosterSetAttr(b.h, "dim_features", JoinedFeatureNames().c_str()) != 0) {
    return XgbFailed(StatusCode::kInternal, "recording the feature schema");
  }
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(b.h, R"({"format": "json"})", &len, &buf) != 0) {
    return XgbFailed(StatusCode::kInternal, "serialising the booster");
  }
  std::unique_ptr<XgbModel> m(new XgbModel());
  m->booster_.assign(buf, len);
  auto& h = m->header_;
  h.kind = params.kind;
  h.trained_at_ms = RealClock::Instance().NowMs();
  h.model_id = std::string(forest ? "rf" : "gbt") + "-" + CompactUtc(h.trained_at_ms) + "-" +
               Sha256::Hex(m->booster_).substr(0, 8);
  h.features = feature_names;
  h.label = label;
  h.threshold = threshold;
  h.params = {{"rounds", params.rounds},
              {"trees_per_round", params.trees},
              {"max_depth", params.max_depth},
              {"eta", params.eta},
              {"subsample", params.subsample},
              {"colsample", params.colsample},
              {"min_child_weight", params.min_child_weight},
              {"lambda", params.lambda},
              {"base_score", std::clamp(prevalence, 0.01, 0.99)},
              {"seed", params.seed},
              {"tree_method", "hist"}};
  h.xgboost_version = XgboostVersion();
  h.booster_bytes = m->booster_.size();
  h.booster_sha256 = Sha256::Hex(m->booster_);
  // Serve from the serialised bytes, exactly as a loaded file would.
  DIM_RETURN_IF_ERROR(m->Init(params.nthread));
  return m;
}

Result<std::unique_ptr<XgbModel>> XgbModel::Load(const std::string& path, int nthread) {
  DIM_ASSIGN_OR_RETURN(auto file, ReadModelFile(path));
  auto m = FromFile(std::move(file), nthread);
  if (!m.ok()) return Status(m.status().code(), path + ": " + m.status().message());
  return m;
}

Result<std::unique_ptr<XgbModel>> XgbModel::FromFile(ModelFile file, int nthread) {
  RouteXgboostLogs();
  DIM_RETURN_IF_ERROR(CheckSchema(file.header));
  std::unique_ptr<XgbModel> m(new XgbModel());
  m->header_ = std::move(file.header);
  m->booster_ = std::move(file.booster);
  DIM_RETURN_IF_ERROR(m->Init(nthread));
  return m;
}

Status XgbModel::Init(int nthread) {
  for (void** slot : {&batch_, &single_}) {
    BoosterGuard b;
    if (XGBoosterCreate(nullptr, 0, &b.h) != 0) {
      return XgbFailed(StatusCode::kInternal, "creating a booster");
    }
    if (XGBoosterLoadModelFromBuffer(b.h, booster_.data(), booster_.size()) != 0) {
      return XgbFailed(StatusCode::kInvalidArgument, "XGBoost cannot read the booster");
    }
    int threads = slot == &single_ ? 1 : std::max(1, nthread);
    if (XGBoosterSetParam(b.h, "nthread", std::to_string(threads).c_str()) != 0) {
      return XgbFailed(StatusCode::kInternal, "setting nthread");
    }
    *slot = b.release();
  }
  bst_ulong nf = 0;
  if (XGBoosterGetNumFeature(batch_, &nf) != 0) {
    return XgbFailed(StatusCode::kInvalidArgument, "reading the booster's feature count");
  }
  if (nf != kNumFeatures) {
    return Status::FailedPrecondition("the booster expects " + std::to_string(nf) +
                                      " features, this build computes " +
                                      std::to_string(kNumFeatures));
  }
  const char* attr = nullptr;
  int found = 0;
  if (XGBoosterGetAttr(batch_, "dim_features", &attr, &found) == 0 && found &&
      JoinedFeatureNames() != attr) {
    return Status::FailedPrecondition(std::string("the booster was trained on features [") + attr +
                                      "], this build computes [" + JoinedFeatureNames() + "]");
  }
  bst_ulong clen = 0;
  const char* cfg = nullptr;
  if (XGBoosterSaveJsonConfig(batch_, &clen, &cfg) != 0) {
    return XgbFailed(StatusCode::kInvalidArgument, "reading the booster's configuration");
  }
  auto config = nlohmann::json::parse(std::string_view(cfg, clen), nullptr, false);
  std::string objective;
  if (!config.is_discarded() && config.contains("learner") &&
      config["learner"].contains("objective") && config["learner"]["objective"].contains("name") &&
      config["learner"]["objective"]["name"].is_string()) {
    objective = config["learner"]["objective"]["name"].get<std::string>();
  }
  if (objective != "binary:logistic") {
    return Status::FailedPrecondition("the booster's objective is '" + objective +
                                      "', a popularity model must be binary:logistic");
  }
  // A model that cannot predict a plain row is no model.
  std::array<float, kNumFeatures> probe = FeatureVector(ObjectFeatures{});
  float p = 0;
  DIM_RETURN_IF_ERROR(PredictWithXgboost(probe.data(), 1, 0, &p));
  if (!std::isfinite(p) || p < 0 || p > 1) {
    return Status::FailedPrecondition("the booster predicts " + std::to_string(p) +
                                      " for an idle object; not a probability");
  }
  // The flat forest predicts from here on when it reads this booster and agrees with XGBoost.
  nthread_ = std::max(1, nthread);
  auto forest = CompiledForest::FromBoosterJson(booster_, kNumFeatures);
  if (!forest.ok()) {
    spdlog::info("ml: model {} predicts through XGBoost ({})", header_.model_id,
                 forest.status().ToString());
    return Status::OK();
  }
  float margin = 0, mine = 0;
  DIM_RETURN_IF_ERROR(PredictWithXgboost(probe.data(), 1, 1, &margin));
  forest->PredictMargins(probe.data(), 1, &mine);
  if (mine != margin) {
    spdlog::warn("ml: model {}: the flat forest disagrees with XGBoost ({} vs {}); using XGBoost",
                 header_.model_id, mine, margin);
    return Status::OK();
  }
  forest_ = std::make_shared<const CompiledForest>(std::move(*forest));
  if (nthread_ > 1) helpers_ = std::make_unique<HelperThreads>(nthread_ - 1);
  return Status::OK();
}

Status XgbModel::Save(const std::string& path) const {
  return WriteModelFile(path, header_, booster_);
}

Status XgbModel::Predict(const float* rows, size_t n, int type, float* out) const {
  if (n == 0) return Status::OK();
  if (forest_) {
    if (type == 0) forest_->PredictProbabilities(rows, n, out, helpers_.get());
    else forest_->PredictMargins(rows, n, out, helpers_.get());
    return Status::OK();
  }
  return PredictWithXgboost(rows, n, type, out);
}

Status XgbModel::PredictWithXgboost(const float* rows, size_t n, int type, float* out) const {
  if (n == 0) return Status::OK();
  char array[160];
  std::snprintf(array, sizeof array,
                R"({"data": [%llu, true], "shape": [%zu, %zu], "typestr": "<f4", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(rows)), n,
                kNumFeatures);
  char config[200];
  std::snprintf(config, sizeof config,
                R"({"type": %d, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
                R"("strict_shape": false, "missing": NaN, "cache_id": 0})",
                type);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  BoosterHandle h = n < kSmallBatch ? single_ : batch_;
  if (XGBoosterPredictFromDense(h, array, config, nullptr, &shape, &dim, &result) != 0) {
    return XgbFailed(StatusCode::kInternal, "prediction");
  }
  if (dim < 1 || shape[0] != n) {
    return Status::Internal("prediction returned an unexpected shape");
  }
  std::copy(result, result + n, out);
  return Status::OK();
}

Status XgbModel::PredictProbabilities(const float* rows, size_t n, float* out) const {
  return Predict(rows, n, 0, out);
}

Status XgbModel::PredictMargins(const float* rows, size_t n, float* out) const {
  return Predict(rows, n, 1, out);
}

Result<PredictionExplanation> XgbModel::Explain(const ObjectFeatures& row) const {
  auto v = FeatureVector(row);
  DMatrixGuard m;
  if (XGDMatrixCreateFromMat(v.data(), 1, kNumFeatures, NAN, &m.h) != 0) {
    return XgbFailed(StatusCode::kInternal, "creating a one-row matrix");
  }
  const char* config =
      R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  if (XGBoosterPredictFromDMatrix(single_, m.h, config, &shape, &dim, &out) != 0) {
    return XgbFailed(StatusCode::kInternal, "computing contributions");
  }
  size_t width = dim >= 2 ? shape[dim - 1] : 0;
  if (width != kNumFeatures + 1) {
    return Status::Internal("contributions have an unexpected shape");
  }
  PredictionExplanation e;
  e.model = "xgboost:" + header_.model_id;
  const auto& names = FeatureNames();
  double margin = 0;
  for (size_t i = 0; i < kNumFeatures; ++i) {
    e.contributions.push_back({std::string(names[i]), v[i], out[i]});
    margin += out[i];
  }
  e.bias = out[kNumFeatures];
  e.margin = margin + e.bias;
  e.p_hot = 1.0 / (1.0 + std::exp(-e.margin));
  return e;
}

Result<std::vector<std::pair<std::string, double>>> XgbModel::FeatureImportance() const {
  bst_ulong n = 0, dim = 0;
  const char** features = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  if (XGBoosterFeatureScore(single_, R"({"importance_type": "total_gain"})", &n, &features, &dim,
                            &shape, &scores) != 0) {
    return XgbFailed(StatusCode::kInternal, "feature importance");
  }
  std::vector<std::pair<std::string, double>> out;
  for (auto name : FeatureNames()) out.push_back({std::string(name), 0.0});
  for (bst_ulong i = 0; i < n; ++i) {
    for (auto& [name, score] : out) {
      if (name == features[i]) score = scores[i];
    }
  }
  return out;
}

XgbPredictor::XgbPredictor(std::shared_ptr<const XgbModel> model)
    : model_(std::move(model)), name_("xgboost:" + model_->header().model_id) {}

Result<std::vector<double>> XgbPredictor::PredictHot(const std::vector<ObjectFeatures>& rows) {
  const size_t n = rows.size();
  std::vector<float> x(n * kNumFeatures + n);  // the rows, then their probabilities
  for (size_t i = 0; i < n; ++i) {
    auto v = FeatureVector(rows[i]);
    std::copy(v.begin(), v.end(), x.begin() + static_cast<std::ptrdiff_t>(i * kNumFeatures));
  }
  float* p = x.data() + n * kNumFeatures;
  DIM_RETURN_IF_ERROR(model_->PredictProbabilities(x.data(), n, p));
  return std::vector<double>(p, p + n);
}

Result<PredictionExplanation> XgbPredictor::Explain(const ObjectFeatures& row) {
  return model_->Explain(row);
}

}  // namespace dim
