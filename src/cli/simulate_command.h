// `dim simulate`: drives Zipf-skewed access events at a running server through its API
// (GET /files for the keys, POST /events in batches), at a steady rate, with a progress line.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace dim {

struct SimulateOptions {
  std::string api = "http://127.0.0.1:8000";
  std::string token;
  int64_t events = 1000;
  double rate = 50;
  double skew = 1.1;
  uint64_t seed = 42;
  std::string bucket;  // only keys of this bucket (empty: all)
};

Status RunSimulate(const SimulateOptions& options);

}  // namespace dim
