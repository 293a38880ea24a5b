// The training label: an object is hot at time t if it gets at least `min_accesses` accesses
// (reads and writes, as the consumer counts them) in (t, t + horizon_s]. Defaults and why they
// are what they are: docs/ml.md.
#pragma once

#include <cstdint>

namespace dim {

struct LabelSpec {
  int64_t horizon_s = 3600;
  int64_t min_accesses = 10;
  bool operator==(const LabelSpec&) const = default;
};

}  // namespace dim
