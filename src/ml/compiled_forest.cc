#include "ml/compiled_forest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

#include "core/helper_threads.h"

namespace dim {

namespace {

using nlohmann::json;

constexpr size_t kLanes = 8;  // rows walking one tree in lockstep

// A float as an unsigned key of the same order: x < y exactly when FloatKey(x) < FloatKey(y),
// for every pair of non-NaN floats (-0 and +0 get the same key). Integer compares keep the walk
// in integer registers; rows with a NaN are walked apart.
inline uint32_t FloatKey(float x) {
  x += 0.0f;  // -0 -> +0
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The pointer, hidden from the optimizer: left to itself GCC derives a pointer per lane from the
// group's and the tree's addresses, runs out of registers and spills the lanes' positions
// (64 trees of depth 8: ~1.3 M rows per CPU-second with the spills, ~1.9 M without).
template <typename T>
inline T* Opaque(T* p) {
  asm("" : "+r"(p));
  return p;
}

// XGBoost writes numbers in some fields as strings ("2.1E-1").
Result<double> Number(const json& j, const char* what) {
  try {
    if (j.is_number()) return j.get<double>();
    if (j.is_string()) return std::stod(j.get<std::string>());
  } catch (const std::exception&) {
  }
  return Status::InvalidArgument(std::string("booster: ") + what + " is not a number");
}

template <typename T>
Result<std::vector<T>> Array(const json& tree, const char* name) {
  auto it = tree.find(name);
  if (it == tree.end() || !it->is_array()) {
    return Status::InvalidArgument(std::string("booster: a tree has no ") + name);
  }
  std::vector<T> out;
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number())
      return Status::InvalidArgument(std::string("booster: ") + name + " holds a non-number");
    out.push_back(v.get<T>());
  }
  return out;
}

}  // namespace

Result<CompiledForest> CompiledForest::FromBoosterJson(std::string_view booster_json,
                                                       size_t num_features) {
  json j = json::parse(booster_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("learner")) {
    return Status::InvalidArgument("booster: not XGBoost JSON");
  }
  try {
    const json& learner = j.at("learner");
    if (learner.at("objective").at("name") != "binary:logistic") {
      return Status::Unimplemented("booster: objective is not binary:logistic");
    }
    const json& lmp = learner.at("learner_model_param");
    if (lmp.contains("num_target")) {
      DIM_ASSIGN_OR_RETURN(double targets, Number(lmp.at("num_target"), "num_target"));
      if (targets > 1) return Status::Unimplemented("booster: several targets");
    }
    DIM_ASSIGN_OR_RETURN(double base_score, Number(lmp.at("base_score"), "base_score"));
    if (!(base_score > 0 && base_score < 1)) {
      return Status::InvalidArgument("booster: base_score is not a probability");
    }
    const json& gb = learner.at("gradient_booster");
    if (gb.at("name") != "gbtree") return Status::Unimplemented("booster: not gbtree");
    const json& model = gb.at("model");
    for (const auto& t : model.at("tree_info")) {
      if (t != 0) return Status::Unimplemented("booster: several output groups");
    }
    CompiledForest f;
    f.num_features_ = num_features;
    // As XGBoost's logistic objective turns base_score into a margin, in float.
    const float bs = static_cast<float>(base_score);
    f.base_margin_ = -std::log(1.0f / bs - 1.0f);
    for (const auto& tree : model.at("trees")) {
      DIM_ASSIGN_OR_RETURN(auto left, Array<int64_t>(tree, "left_children"));
      DIM_ASSIGN_OR_RETURN(auto right, Array<int64_t>(tree, "right_children"));
      DIM_ASSIGN_OR_RETURN(auto feature, Array<int64_t>(tree, "split_indices"));
      DIM_ASSIGN_OR_RETURN(auto value, Array<float>(tree, "split_conditions"));
      DIM_ASSIGN_OR_RETURN(auto default_left, Array<int64_t>(tree, "default_left"));
      const size_t n = left.size();
      if (n == 0 || right.size() != n || feature.size() != n || value.size() != n ||
          default_left.size() != n) {
        return Status::InvalidArgument("booster: a tree's arrays differ in length");
      }
      if (auto st = tree.find("split_type"); st != tree.end()) {
        for (const auto& v : *st) {
          if (v != 0) return Status::Unimplemented("booster: categorical splits");
        }
      }
      // Breadth-first re-layout, children side by side; every node reached once (a tree).
      const uint32_t root = static_cast<uint32_t>(f.nodes_.size());
      f.roots_.push_back(root);
      std::deque<std::pair<int64_t, uint32_t>> queue{{0, root}};  // old id, new slot
      f.nodes_.emplace_back();
      size_t placed = 0;
      while (!queue.empty()) {
        auto [old, slot] = queue.front();
        queue.pop_front();
        if (++placed > n) return Status::InvalidArgument("booster: a tree has a cycle");
        Node& nd = f.nodes_[slot];
        nd.value = value[old];
        nd.default_left = default_left[old] != 0;
        if (left[old] < 0) {
          nd.leaf = 1;
          nd.left = 0;
          nd.feature = 0;
          continue;
        }
        const int64_t l = left[old], r = right[old];
        if (l <= 0 || r <= 0 || static_cast<size_t>(l) >= n || static_cast<size_t>(r) >= n ||
            feature[old] < 0 || static_cast<size_t>(feature[old]) >= num_features) {
          return Status::InvalidArgument("booster: a node points outside its tree");
        }
        nd.leaf = 0;
        nd.feature = static_cast<uint16_t>(feature[old]);
        const uint32_t children = static_cast<uint32_t>(f.nodes_.size());
        f.nodes_[slot].left = children;  // (nd may move when nodes_ grows)
        f.nodes_.emplace_back();
        f.nodes_.emplace_back();
        queue.emplace_back(l, children);
        queue.emplace_back(r, children + 1);
      }
    }
    if (f.roots_.empty()) return Status::InvalidArgument("booster: no trees");
    for (uint32_t root : f.roots_) f.depth_ = std::max(f.depth_, f.Depth(root));
    if (f.depth_ <= kMaxPerfectDepth && num_features <= kMaxPerfectFeatures) {
      const size_t splits = (size_t{1} << f.depth_) - 1, leaves = size_t{1} << f.depth_;
      f.split_.resize(f.roots_.size() * splits);
      f.leaf_.resize(f.roots_.size() * leaves);
      for (size_t t = 0; t < f.roots_.size(); ++t) {
        f.Pad(f.roots_[t], 0, 0, f.split_.data() + t * splits, f.leaf_.data() + t * leaves);
      }
    }
    return f;
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("booster: ") + e.what());
  }
}

int CompiledForest::Depth(uint32_t node) const {
  const Node& nd = nodes_[node];
  return nd.leaf ? 0 : 1 + std::max(Depth(nd.left), Depth(nd.left + 1));
}

// Writes the subtree at `node` to heap position pos of a perfect tree; a leaf above the last
// level becomes a split whose two sides hold the same leaf, so the way taken does not matter.
void CompiledForest::Pad(uint32_t node, size_t pos, int d, Split* splits, float* leaves) const {
  const Node& nd = nodes_[node];
  if (d == depth_) {
    leaves[pos - ((size_t{1} << depth_) - 1)] = nd.value;
    return;
  }
  if (nd.leaf) {
    splits[pos] = {0, 0};
    Pad(node, 2 * pos + 1, d + 1, splits, leaves);
    Pad(node, 2 * pos + 2, d + 1, splits, leaves);
    return;
  }
  splits[pos] = {FloatKey(nd.value), static_cast<uint32_t>(nd.feature * kLanes * sizeof(uint32_t))};
  Pad(nd.left, 2 * pos + 1, d + 1, splits, leaves);
  Pad(nd.left + 1, 2 * pos + 2, d + 1, splits, leaves);
}

float CompiledForest::WalkTree(const float* x, uint32_t root) const {
  const Node* nd = nodes_.data() + root;
  while (!nd->leaf) {
    const float v = x[nd->feature];
    // XGBoost: left when v < threshold, a missing value goes the default way.
    const bool right = std::isnan(v) ? !nd->default_left : !(v < nd->value);
    nd = nodes_.data() + nd->left + right;
  }
  return nd->value;
}

template <int D>
void CompiledForest::PredictPerfect(const float* rows, size_t begin, size_t end, float* out) const {
  constexpr size_t kSplits = (size_t{1} << D) - 1, kLeaves = size_t{1} << D;
  const size_t trees = roots_.size(), nf = num_features_;
  // The block's rows as keys. Whole groups of eight are transposed: group g, feature f, lane j
  // at cols[(g * nf + f) * kLanes + j], so a lane finds a split's feature at a fixed offset; the
  // last rows (fewer than eight) follow row by row and walk alone.
  alignas(64) uint32_t cols[kBlock * kMaxPerfectFeatures];
  bool missing[kBlock];
  float acc[kBlock];  // the block's margins, summed tree by tree in order
  for (size_t b = begin; b < end; b += kBlock) {
    const size_t n = std::min(end, b + kBlock) - b;
    const size_t groups = n / kLanes, grouped = groups * kLanes;
    uint32_t* const tail = cols + grouped * nf;
    for (size_t r = 0; r < n; ++r) {
      const float* x = rows + (b + r) * nf;
      const bool in_group = r < grouped;
      uint32_t* c =
          in_group ? cols + (r / kLanes) * nf * kLanes + r % kLanes : tail + (r - grouped) * nf;
      const size_t stride = in_group ? kLanes : 1;
      bool nan = false;
      for (size_t k = 0; k < nf; ++k) {
        nan |= std::isnan(x[k]);
        c[k * stride] = FloatKey(x[k]);
      }
      missing[r] = nan;
    }
    std::fill(acc, acc + n, base_margin_);
    for (size_t t = 0; t < trees; ++t) {
      const Split* split = Opaque(split_.data() + t * kSplits);
      const float* leaf = leaf_.data() + t * kLeaves;
      for (size_t g = 0; g < groups; ++g) {
        const char* grp = Opaque(reinterpret_cast<const char*>(cols + g * nf * kLanes));
        uint32_t pos[kLanes];
#pragma GCC unroll 8
        for (size_t j = 0; j < kLanes; ++j) pos[j] = 0;
          // Eight independent chains the CPU overlaps; left when x < threshold (XGBoost).
#pragma GCC unroll 10
        for (int d = 0; d < D; ++d) {
#pragma GCC unroll 8
          for (size_t j = 0; j < kLanes; ++j) {
            const uint32_t p = pos[j];
            uint32_t v;
            std::memcpy(&v, grp + split[p].offset + j * sizeof(uint32_t), sizeof v);
            pos[j] = 2 * p + 1 + (v >= split[p].key);
          }
        }
#pragma GCC unroll 8
        for (size_t j = 0; j < kLanes; ++j) acc[g * kLanes + j] += leaf[pos[j] - kSplits];
      }
      for (size_t r = grouped; r < n; ++r) {
        const uint32_t* key = tail + (r - grouped) * nf;
        uint32_t p = 0;
        for (int d = 0; d < D; ++d) {
          const Split& sp = split[p];
          p = 2 * p + 1 + (key[sp.offset / (kLanes * sizeof(uint32_t))] >= sp.key);
        }
        acc[r] += leaf[p - kSplits];
      }
    }
    std::copy(acc, acc + n, out + b);
    // Rows with a missing value take XGBoost's default directions, tree by tree in order.
    for (size_t r = 0; r < n; ++r) {
      if (!missing[r]) continue;
      out[b + r] = base_margin_;
      for (uint32_t root : roots_) out[b + r] += WalkTree(rows + (b + r) * nf, root);
    }
  }
}

void CompiledForest::PredictRange(const float* rows, size_t begin, size_t end, float* out) const {
  switch (perfect() ? depth_ : -1) {
    case 0:
      return PredictPerfect<0>(rows, begin, end, out);
    case 1:
      return PredictPerfect<1>(rows, begin, end, out);
    case 2:
      return PredictPerfect<2>(rows, begin, end, out);
    case 3:
      return PredictPerfect<3>(rows, begin, end, out);
    case 4:
      return PredictPerfect<4>(rows, begin, end, out);
    case 5:
      return PredictPerfect<5>(rows, begin, end, out);
    case 6:
      return PredictPerfect<6>(rows, begin, end, out);
    case 7:
      return PredictPerfect<7>(rows, begin, end, out);
    case 8:
      return PredictPerfect<8>(rows, begin, end, out);
    case 9:
      return PredictPerfect<9>(rows, begin, end, out);
    case 10:
      return PredictPerfect<10>(rows, begin, end, out);
    default:
      break;
  }
  for (size_t b = begin; b < end; b += kBlock) {
    const size_t e = std::min(end, b + kBlock);
    for (size_t i = b; i < e; ++i) out[i] = base_margin_;
    for (uint32_t root : roots_) {
      for (size_t i = b; i < e; ++i) out[i] += WalkTree(rows + i * num_features_, root);
    }
  }
}

void CompiledForest::PredictMargins(const float* rows, size_t n, float* out,
                                    HelperThreads* helpers) const {
  const size_t blocks = (n + kBlock - 1) / kBlock;
  if (helpers == nullptr || blocks < 2) return PredictRange(rows, 0, n, out);
  helpers->Run(blocks, [&](size_t i) {
    PredictRange(rows, i * kBlock, std::min(n, (i + 1) * kBlock), out);
  });
}

void CompiledForest::PredictProbabilities(const float* rows, size_t n, float* out,
                                          HelperThreads* helpers) const {
  PredictMargins(rows, n, out, helpers);
  for (size_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + std::exp(-out[i]));
}

}  // namespace dim
