#include "ml/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/checksum.h"
#include "core/utc_time.h"
#include "ml/features.h"

namespace dim {

using nlohmann::json;

namespace {

constexpr size_t kMaxHeaderBytes = 1 << 20;

std::string IsoUtc(int64_t ms) { return FormatUtc(ms, "%Y-%m-%dT%H:%M:%SZ"); }

Status Bad(const std::string& why) { return Status::InvalidArgument("model file header: " + why); }

}  // namespace

json ModelHeaderToJson(const ModelHeader& h) {
  return {{"format", kModelFileFormat},
          {"format_version", kModelFileVersion},
          {"model_id", h.model_id},
          {"kind", h.kind},
          {"trained_at_ms", h.trained_at_ms},
          {"trained_at", IsoUtc(h.trained_at_ms)},
          {"features", h.features},
          {"label", {{"horizon_s", h.label.horizon_s}, {"min_accesses", h.label.min_accesses}}},
          {"threshold", h.threshold},
          {"params", h.params},
          {"training", h.training},
          {"validation", h.validation},
          {"xgboost_version", h.xgboost_version},
          {"booster_bytes", h.booster_bytes},
          {"booster_sha256", h.booster_sha256}};
}

Result<ModelHeader> ParseModelHeader(std::string_view line) {
  if (line.size() > kMaxHeaderBytes) return Bad("longer than 1 MiB");
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("not JSON (is this a model file written by `dim train`?)");
  if (!j.is_object()) return Bad("not a JSON object");
  auto str = [&](const char* k, std::string* out) -> Status {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return Bad(std::string("'") + k + "' must be a string");
    *out = it->get<std::string>();
    return Status::OK();
  };
  auto integer = [&](const json& obj, const char* k, int64_t lo, int64_t hi,
                     int64_t* out) -> Status {
    auto it = obj.find(k);
    if (it == obj.end() || !it->is_number_integer()) {
      return Bad(std::string("'") + k + "' must be an integer");
    }
    int64_t v = it->is_number_unsigned()
                    ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), INT64_MAX))
                    : it->get<int64_t>();
    if (v < lo || v > hi) {
      return Bad(std::string("'") + k + "' = " + std::to_string(v) + " is out of range [" +
                 std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    *out = v;
    return Status::OK();
  };
  std::string format;
  DIM_RETURN_IF_ERROR(str("format", &format));
  if (format != kModelFileFormat) {
    return Bad("format is '" + format + "', expected '" + std::string(kModelFileFormat) + "'");
  }
  int64_t version = 0;
  DIM_RETURN_IF_ERROR(integer(j, "format_version", 0, INT64_MAX, &version));
  if (version != kModelFileVersion) {
    return Bad("format_version " + std::to_string(version) +
               " is not supported (this build reads " + std::to_string(kModelFileVersion) + ")");
  }
  ModelHeader h;
  DIM_RETURN_IF_ERROR(str("model_id", &h.model_id));
  DIM_RETURN_IF_ERROR(str("kind", &h.kind));
  if (h.kind != kRandomForest && h.kind != kBoostedTrees) {
    return Bad("kind '" + h.kind + "' is neither random_forest nor gradient_boosted_trees");
  }
  DIM_RETURN_IF_ERROR(integer(j, "trained_at_ms", 0, INT64_MAX, &h.trained_at_ms));
  auto feats = j.find("features");
  if (feats == j.end() || !feats->is_array()) return Bad("'features' must be an array of names");
  for (const auto& f : *feats) {
    if (!f.is_string()) return Bad("'features' must be an array of names");
    h.features.push_back(f.get<std::string>());
  }
  auto label = j.find("label");
  if (label == j.end() || !label->is_object()) return Bad("'label' must be an object");
  DIM_RETURN_IF_ERROR(integer(*label, "horizon_s", 1, 365ll * 86400, &h.label.horizon_s));
  DIM_RETURN_IF_ERROR(integer(*label, "min_accesses", 1, 1'000'000'000, &h.label.min_accesses));
  auto thr = j.find("threshold");
  if (thr == j.end() || !thr->is_number()) return Bad("'threshold' must be a number");
  h.threshold = thr->get<double>();
  if (!(h.threshold > 0 && h.threshold < 1)) return Bad("'threshold' must be in (0, 1)");
  for (const char* k : {"params", "training", "validation"}) {
    auto it = j.find(k);
    if (it != j.end() && !it->is_object()) return Bad(std::string("'") + k + "' must be an object");
  }
  if (auto it = j.find("params"); it != j.end()) h.params = *it;
  if (auto it = j.find("training"); it != j.end()) h.training = *it;
  if (auto it = j.find("validation"); it != j.end()) h.validation = *it;
  if (auto it = j.find("xgboost_version"); it != j.end() && it->is_string()) {
    h.xgboost_version = it->get<std::string>();
  }
  int64_t bytes = 0;
  DIM_RETURN_IF_ERROR(
      integer(j, "booster_bytes", 1, static_cast<int64_t>(kMaxModelFileBytes), &bytes));
  h.booster_bytes = static_cast<uint64_t>(bytes);
  DIM_RETURN_IF_ERROR(str("booster_sha256", &h.booster_sha256));
  std::string raw;
  if (h.booster_sha256.size() != 64 || !HexDecode(h.booster_sha256, &raw)) {
    return Bad("'booster_sha256' must be 64 hex digits");
  }
  return h;
}

Result<ModelFile> ParseModelFile(std::string_view bytes) {
  size_t nl = bytes.find('\n');
  if (nl == std::string_view::npos) {
    return Status::InvalidArgument(
        bytes.empty()
            ? "model file is empty"
            : "model file has no header line (is this a model file written by `dim train`?)");
  }
  DIM_ASSIGN_OR_RETURN(auto header, ParseModelHeader(bytes.substr(0, nl)));
  std::string_view body = bytes.substr(nl + 1);
  if (body.size() != header.booster_bytes) {
    return Status::DataLoss("model file is corrupt: the booster has " +
                            std::to_string(body.size()) + " bytes, the header says " +
                            std::to_string(header.booster_bytes) +
                            " (truncated or partly written?)");
  }
  std::string sha = Sha256::Hex(body);
  if (sha != header.booster_sha256) {
    return Status::DataLoss("model file is corrupt: the booster's SHA-256 is " + sha +
                            ", the header says " + header.booster_sha256);
  }
  return ModelFile{std::move(header), std::string(body)};
}

Result<ModelFile> ReadModelFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound("no model file at " + path);
  if (!fs::is_regular_file(st)) return Status::InvalidArgument(path + " is not a regular file");
  auto size = fs::file_size(path, ec);
  if (ec) return Status::Unavailable("cannot stat " + path + ": " + ec.message());
  if (size > kMaxModelFileBytes) {
    return Status::InvalidArgument(path + " is " + std::to_string(size) +
                                   " bytes; a model file is at most 512 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Unavailable("cannot open " + path + ": " + std::strerror(errno));
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) {
    return Status::Unavailable("short read of " + path + " (the file changed while reading?)");
  }
  auto r = ParseModelFile(bytes);
  if (!r.ok()) return Status(r.status().code(), path + ": " + r.status().message());
  return r;
}

Status WriteModelFile(const std::string& path, ModelHeader header, std::string_view booster) {
  header.booster_bytes = booster.size();
  header.booster_sha256 = Sha256::Hex(booster);
  std::string text = ModelHeaderToJson(header).dump() + "\n";
  text.append(booster);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Unavailable("writing " + tmp + ": " + err);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::Unavailable("flushing " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::Unavailable("renaming " + tmp + " to " + path + ": " + err);
  }
  return Status::OK();
}

Status CheckSchema(const ModelHeader& h) {
  const auto& names = FeatureNames();
  bool same = h.features.size() == names.size();
  for (size_t i = 0; same && i < names.size(); ++i) same = h.features[i] == names[i];
  if (same) return Status::OK();
  std::string have, want;
  for (const auto& f : h.features) have += (have.empty() ? "" : ",") + f;
  for (const auto& f : names) want += (want.empty() ? "" : ",") + std::string(f);
  return Status::FailedPrecondition("feature schema mismatch: the model was trained on [" + have +
                                    "] but this build computes [" + want +
                                    "]; retrain it with `dim train`");
}

}  // namespace dim
