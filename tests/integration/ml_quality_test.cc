// The popularity model against the heuristic on a generated workload whose hot set is known by
// construction (replay/hot_set_workload.h): rows built with no look-ahead, split by time, the
// model trained (random forest and boosted trees) and judged on the later part only.
#include <gtest/gtest.h>

#include "ml/model_training.h"
#include "replay/hot_set_workload.h"

namespace dim {
namespace {

struct Built {
  Dataset rows;
  std::vector<std::string> keys;
};

Built BuildRows(const HotSetWorkload& w, const LabelSpec& label, int64_t step_s) {
  DatasetOptions o;
  o.label = label;
  o.step_s = step_s;
  DatasetBuilder b(o);
  for (const auto& e : w.Generate()) EXPECT_TRUE(b.Add(e).ok());
  Built out;
  out.rows = b.Finish(w.end_ms());
  out.keys = b.keys();
  return out;
}

class ModelQualityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelQualityTest, BeatsTheHeuristicOnAKnownHotSet) {
  HotSetWorkloadOptions wo;
  wo.objects = 300;
  wo.days = 4;
  HotSetWorkload w(wo);
  const LabelSpec label{3600, 10};
  Built built = BuildRows(w, label, 1800);
  ASSERT_GT(built.rows.rows(), 20000u);

  TrainingOptions o;
  o.params = TrainParams::Defaults(GetParam());
  o.params.nthread = 1;
  o.label = label;
  int rounds = 0;
  auto r = TrainPopularityModel(built.rows, o,
                                [&](int round, int, const std::string&) { rounds = round; });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(rounds, o.params.rounds);
  const auto& m = r->validation.model;
  const auto& h = r->validation.heuristic;
  std::printf(
      "%s: AUC %.3f (heuristic %.3f), precision %.3f (%.3f), recall %.3f (%.3f), "
      "log loss %.3f (%.3f), ECE %.3f over %zu validation rows (%zu hot)\n",
      GetParam().c_str(), m.auc, h.auc, m.precision, h.precision, m.recall, h.recall, m.log_loss,
      h.log_loss, m.ece, m.rows, m.positives);
  EXPECT_GE(m.auc, 0.9);
  EXPECT_GT(m.auc, h.auc + 0.02) << "the model must beat the heuristic";
  EXPECT_LT(m.log_loss, h.log_loss);
  EXPECT_GT(m.f1, h.f1);
  EXPECT_GT(m.positives, 100u);

  // Against the designed hot set itself (not the sampled labels): the model ranks it well.
  auto split = SplitByTime(built.rows, o.valid_fraction, label).value();
  std::vector<float> p(split.valid.rows()), designed(split.valid.rows());
  ASSERT_TRUE(
      r->model->PredictProbabilities(split.valid.x.data(), split.valid.rows(), p.data()).ok());
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < w.keys().size(); ++i) index[w.keys()[i]] = i;
  size_t agree = 0;
  for (size_t i = 0; i < split.valid.rows(); ++i) {
    size_t obj = index.at(built.keys[split.valid.object[i]]);
    designed[i] = w.DesignedHot(obj, split.valid.ts_ms[i], label.horizon_s, label.min_accesses);
    agree += designed[i] == split.valid.y[i];
  }
  EXPECT_GT(static_cast<double>(agree) / split.valid.rows(), 0.8) << "labels follow the design";
  EXPECT_GE(RocAuc(p, designed), 0.93);

  // The header records what the file will carry.
  const auto& hdr = r->model->header();
  EXPECT_EQ(hdr.label, label);
  EXPECT_NEAR(hdr.validation["auc"].get<double>(), m.auc, 1e-12);
  EXPECT_NEAR(hdr.validation["heuristic"]["auc"].get<double>(), h.auc, 1e-12);
  EXPECT_EQ(hdr.training["valid_rows"].get<size_t>(), r->valid_rows);
  EXPECT_EQ(hdr.validation["calibration"].size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ModelQualityTest,
                         ::testing::Values(std::string(kRandomForest), std::string(kBoostedTrees)),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dim
