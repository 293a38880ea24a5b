// The flags of `dim train` and `dim evaluate` (main.cc stays a list of subcommands). Defaults
// come from the configuration (--config FILE and DIM_* variables): ml.horizon_s,
// ml.min_accesses, ml.hot_p_threshold, ml.threads, data_dir and store.path.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

namespace dim {

struct TrainCli;
// Adds the two subcommands to app; the returned object holds their flags.
std::shared_ptr<TrainCli> AddTrainCommands(CLI::App& app);
// After parsing: runs whichever of the two was given and returns its exit code, or -1.
int RunTrainCommands(const TrainCli& cli);

}  // namespace dim
