// Serves the popularity model: loads a model file into the PredictorSlot, watches the file and
// reloads it when it changes (mtime, size or inode), and falls back to the heuristic when a file
// is missing, corrupt or does not match this build's feature schema — logging the reason and
// raising the alert "model_rejected" (all of them resolved by the next good load). Explicit loads are
// audited. Thread-safe; Stop() (or the destructor) joins the watcher.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/metrics.h"
#include "ml/predictor.h"
#include "ml/xgboost_model.h"
#include "store/metadata_store.h"

namespace dim {

struct ModelServiceOptions {
  std::string path;                // empty: none configured (the heuristic serves)
  int64_t reload_interval_s = 10;  // how often the watcher checks the file
  int nthread = 2;                 // XGBoost threads for batch prediction
};

class ModelService {
 public:
  ModelService(PredictorSlot& slot, MetadataStore& store, const Clock& clock,
               MetricsRegistry& metrics, ModelServiceOptions options);
  ~ModelService();

  // Loads `path` (empty: the current one) and makes it the watched file. On failure the
  // heuristic serves, the reason is logged and alerted, and the error is returned. actor
  // non-empty: the attempt is audited (action "ml.load").
  Status Load(const std::string& path, const std::string& actor);
  // Reloads if the watched file changed since the last attempt. True when it tried.
  bool CheckForChange();

  void Start();
  void Stop();

  struct State {
    std::string path;
    std::string predictor;             // name of what serves now
    std::optional<ModelHeader> model;  // the loaded model's header, if a model serves
    std::vector<std::pair<std::string, double>> importance;  // total gain per feature
    int64_t loaded_ms = 0;
    std::string last_error;  // of the last failed attempt (empty after a success)
    int64_t last_error_ms = 0;
    int64_t reloads = 0;
  };
  State GetState() const;
  int64_t reload_interval_s() const { return options_.reload_interval_s; }

 private:
  struct FileId {
    bool exists = false;
    int64_t mtime_ns = 0, size = 0, inode = 0;
    bool operator==(const FileId&) const = default;
  };
  static FileId Identify(const std::string& path);
  Status LoadLocked(const std::string& path);
  void Fallback(const std::string& path, const Status& why);

  PredictorSlot& slot_;
  MetadataStore& store_;
  const Clock& clock_;
  ModelServiceOptions options_;
  std::shared_ptr<Predictor> heuristic_;

  mutable std::mutex mu_;  // guards everything below and serialises loads
  std::string path_;
  FileId seen_;
  State state_;

  std::atomic<bool> running_{false};
  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  std::thread thread_;

  Family<Counter>& loads_;
};

}  // namespace dim
