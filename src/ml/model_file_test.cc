#include "ml/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/checksum.h"
#include "ml/features.h"

namespace dim {
namespace {

ModelHeader SampleHeader() {
  ModelHeader h;
  h.model_id = "rf-test";
  h.kind = std::string(kRandomForest);
  h.trained_at_ms = 1'700'000'000'000;
  for (auto n : FeatureNames()) h.features.emplace_back(n);
  h.label = {1800, 5};
  h.threshold = 0.4;
  h.validation = {{"auc", 0.93}};
  h.xgboost_version = "1.7.4";
  return h;
}

std::string FileBytes(const ModelHeader& header, const std::string& booster) {
  ModelHeader h = header;
  h.booster_bytes = booster.size();
  h.booster_sha256 = Sha256::Hex(booster);
  return ModelHeaderToJson(h).dump() + "\n" + booster;
}

TEST(ModelFileTest, HeaderRoundTrips) {
  std::string bytes = FileBytes(SampleHeader(), R"({"learner": {}})");
  auto f = ParseModelFile(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->header.model_id, "rf-test");
  EXPECT_EQ(f->header.kind, kRandomForest);
  EXPECT_EQ(f->header.label, (LabelSpec{1800, 5}));
  EXPECT_DOUBLE_EQ(f->header.threshold, 0.4);
  EXPECT_EQ(f->header.features.size(), kNumFeatures);
  EXPECT_DOUBLE_EQ(f->header.validation["auc"].get<double>(), 0.93);
  EXPECT_EQ(f->booster, R"({"learner": {}})");
  EXPECT_TRUE(CheckSchema(f->header).ok());
}

TEST(ModelFileTest, WriteIsAtomicAndReadable) {
  auto dir =
      std::filesystem::temp_directory_path() / ("dim-model-file-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "m.dim").string();
  ASSERT_TRUE(WriteModelFile(path, SampleHeader(), "booster-bytes").ok());
  auto f = ReadModelFile(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->booster, "booster-bytes");
  EXPECT_EQ(f->header.booster_bytes, 13u);
  // No temp file left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_TRUE(ReadModelFile((dir / "absent").string()).status().IsNotFound());
  EXPECT_TRUE(ReadModelFile(dir.string()).status().IsInvalidArgument());
  std::filesystem::remove_all(dir);
}

TEST(ModelFileTest, CorruptBoosterIsDataLoss) {
  std::string bytes = FileBytes(SampleHeader(), "0123456789abcdef");
  std::string truncated = bytes.substr(0, bytes.size() - 3);
  auto r = ParseModelFile(truncated);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
  std::string flipped = bytes;
  flipped.back() ^= 0x20;
  r = ParseModelFile(flipped);
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("SHA-256"), std::string::npos);
}

TEST(ModelFileTest, MalformedHeadersSayWhatIsWrong) {
  auto header_json = [] {
    ModelHeader h = SampleHeader();
    h.booster_bytes = 2;
    h.booster_sha256 = Sha256::Hex("{}");
    return ModelHeaderToJson(h);
  };
  struct Case {
    std::string what;
    std::function<void(nlohmann::json&)> edit;
  };
  std::vector<Case> cases = {
      {"format", [](auto& j) { j["format"] = "something-else"; }},
      {"format_version", [](auto& j) { j["format_version"] = 99; }},
      {"kind", [](auto& j) { j["kind"] = "linear"; }},
      {"model_id", [](auto& j) { j.erase("model_id"); }},
      {"features", [](auto& j) { j["features"] = "access_1h"; }},
      {"features",
       [](auto& j) {
         j["features"] = nlohmann::json::array({1, 2});
       }},
      {"label", [](auto& j) { j.erase("label"); }},
      {"horizon_s", [](auto& j) { j["label"]["horizon_s"] = -5; }},
      {"min_accesses", [](auto& j) { j["label"]["min_accesses"] = 1.5; }},
      {"threshold", [](auto& j) { j["threshold"] = 1.5; }},
      {"booster_bytes", [](auto& j) { j["booster_bytes"] = 0; }},
      {"booster_bytes", [](auto& j) { j["booster_bytes"] = "2"; }},
      {"booster_sha256", [](auto& j) { j["booster_sha256"] = "zz"; }},
      {"validation", [](auto& j) { j["validation"] = 3; }},
      {"trained_at_ms", [](auto& j) { j["trained_at_ms"] = nullptr; }},
  };
  for (const auto& c : cases) {
    auto j = header_json();
    c.edit(j);
    auto r = ParseModelFile(j.dump() + "\n{}");
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << c.what;
    EXPECT_NE(r.status().message().find(c.what), std::string::npos)
        << c.what << ": " << r.status().message();
  }
  for (std::string bad :
       {std::string(""), std::string("no newline"), std::string("{\n{}"), std::string("[1,2]\n{}"),
        std::string("\x00\xff\n", 3), std::string("{\"format\":\"dim-popularity-model\"}\n")}) {
    auto r = ParseModelFile(bad);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(ModelFileTest, SchemaMismatchIsRefusedWithBothLists) {
  ModelHeader h = SampleHeader();
  std::swap(h.features[0], h.features[1]);
  Status s = CheckSchema(h);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("access_24h,access_1h"), std::string::npos) << s.message();
  h = SampleHeader();
  h.features.push_back("tomorrow_feature");
  EXPECT_FALSE(CheckSchema(h).ok());
  h.features.resize(3);
  EXPECT_FALSE(CheckSchema(h).ok());
}

}  // namespace
}  // namespace dim
