// Where `dim train` and `dim evaluate` get their rows: a trace file (replay/trace_reader.h), the
// generated workload with a known hot set (replay/hot_set_workload.h) or, by default, the
// metadata store's history (ml/store_history.h) of a data dir. Shows progress on stderr.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "ml/training_data.h"
#include "replay/hot_set_workload.h"

namespace dim {

struct TrainingSource {
  std::string trace;   // a trace file, or empty
  std::string format;  // csv | ibm | empty: detect
  bool synthetic = false;
  HotSetWorkloadOptions workload;
  std::string data_dir = "dim-data";  // the store's history (when neither of the above)
  std::string store_path;             // empty: DATA_DIR/dim.db
  double history_days = 30;
  int64_t step_s = 600;
  bool quiet = false;
};

struct SourceRows {
  Dataset rows;
  nlohmann::json source;  // a description, recorded in the model file
};

// Builds the rows with this label. InvalidArgument when the source yields no usable rows.
Result<SourceRows> BuildTrainingRows(const TrainingSource& src, const LabelSpec& label);

}  // namespace dim
