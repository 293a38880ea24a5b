// A popularity model file: one line of JSON (the header: our feature schema, the label, training
// metadata and validation metrics), a newline, then the XGBoost booster in XGBoost's own JSON,
// byte for byte. The header records the booster's length and SHA-256, so a truncated or altered
// file is refused before XGBoost parses a byte of it. `head -1 FILE` shows the metadata;
// `tail -n +2 FILE` is a model any XGBoost can load.
//
// Parsing never throws and never trusts a length it did not check. Errors: InvalidArgument for a
// malformed header, DataLoss for a booster that does not match its recorded length or checksum,
// FailedPrecondition for a schema this build cannot serve (CheckSchema), NotFound/Unavailable
// from the file system.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ml/label.h"

namespace dim {

inline constexpr std::string_view kModelFileFormat = "dim-popularity-model";
inline constexpr int kModelFileVersion = 1;
inline constexpr uint64_t kMaxModelFileBytes = 512ull << 20;

inline constexpr std::string_view kRandomForest = "random_forest";
inline constexpr std::string_view kBoostedTrees = "gradient_boosted_trees";

struct ModelHeader {
  std::string model_id;  // e.g. "rf-20250101T120000Z-1a2b3c4d"
  std::string kind;      // kRandomForest | kBoostedTrees
  int64_t trained_at_ms = 0;
  std::vector<std::string> features;  // in column order; must equal FeatureNames() to serve
  LabelSpec label;
  double threshold = 0.5;  // p_hot at or above which the model calls an object hot
  nlohmann::json params = nlohmann::json::object();      // training parameters
  nlohmann::json training = nlohmann::json::object();    // data source, rows, time split
  nlohmann::json validation = nlohmann::json::object();  // metrics on the validation split
  std::string xgboost_version;
  uint64_t booster_bytes = 0;
  std::string booster_sha256;  // hex
};

nlohmann::json ModelHeaderToJson(const ModelHeader& h);
Result<ModelHeader> ParseModelHeader(std::string_view json_line);

struct ModelFile {
  ModelHeader header;
  std::string booster;  // XGBoost JSON model
};

// Splits, parses and verifies (length and checksum) a whole file's bytes.
Result<ModelFile> ParseModelFile(std::string_view bytes);
Result<ModelFile> ReadModelFile(const std::string& path);
// Fills booster_bytes and booster_sha256, then writes atomically (temp file, fsync, rename), so a
// reader polling the path sees either the old file or the whole new one.
Status WriteModelFile(const std::string& path, ModelHeader header, std::string_view booster);

// OK when the model's features are exactly this build's FeatureNames(), in order.
Status CheckSchema(const ModelHeader& h);

}  // namespace dim
