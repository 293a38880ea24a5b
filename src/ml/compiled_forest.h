// A tree ensemble read from an XGBoost booster's JSON (gbtree, binary:logistic, numeric splits)
// and laid out flat for batch prediction. Shallow forests (depth <= kMaxPerfectDepth, as `dim
// train` makes them) are padded to perfect trees, so a row takes exactly `depth` branch-free
// steps per tree, eight rows in lockstep, comparing floats as order-preserving integer keys;
// deeper ones walk nodes whose two children are adjacent. It computes what
// XGBoost's CPU predictor computes — the base margin plus each tree's leaf, summed in float in tree
// order; XgbModel checks that on load and uses XGBoost itself when a booster has anything this does
// not handle (categorical splits, dart, several outputs). Immutable after FromBoosterJson; Predict
// is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dim {

class HelperThreads;

class CompiledForest {
 public:
  // Unimplemented for a booster this cannot evaluate exactly; InvalidArgument when malformed.
  static Result<CompiledForest> FromBoosterJson(std::string_view booster_json, size_t num_features);

  // rows: n x num_features, row-major. out: n margins (log-odds) or probabilities. With
  // helpers, batches of several blocks (kBlock rows) are shared with the helper threads.
  void PredictMargins(const float* rows, size_t n, float* out,
                      HelperThreads* helpers = nullptr) const;
  void PredictProbabilities(const float* rows, size_t n, float* out,
                            HelperThreads* helpers = nullptr) const;

  static constexpr int kMaxPerfectDepth = 10;
  static constexpr size_t kMaxPerfectFeatures = 64;  // more features: the node walk
  static constexpr size_t kBlock = 128;              // rows predicted together, tree by tree

  size_t trees() const { return roots_.size(); }
  int depth() const { return depth_; }  // the deepest tree's depth
  bool perfect() const { return !split_.empty(); }
  size_t nodes() const { return nodes_.size(); }
  float base_margin() const { return base_margin_; }

 private:
  struct Node {
    float value;       // split threshold; the leaf's value for a leaf
    uint32_t left;     // first child; the right one is left + 1
    uint16_t feature;  // split feature
    uint8_t default_left;
    uint8_t leaf;
  };
  struct Split {
    uint32_t key;     // the threshold as FloatKey
    uint32_t offset;  // the feature as the byte offset of its eight lanes in a transposed group
  };
  void PredictRange(const float* rows, size_t begin, size_t end, float* out) const;
  float WalkTree(const float* row, uint32_t root) const;
  template <int D>
  void PredictPerfect(const float* rows, size_t begin, size_t end, float* out) const;
  int Depth(uint32_t node) const;
  void Pad(uint32_t node, size_t pos, int d, Split* splits, float* leaves) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;
  // Perfect trees: per tree 2^depth - 1 splits (heap order) and 2^depth leaves.
  std::vector<Split> split_;
  std::vector<float> leaf_;
  int depth_ = 0;
  size_t num_features_ = 0;
  float base_margin_ = 0;
};

}  // namespace dim
