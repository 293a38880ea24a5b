// Test helper: the components under the gateway wired as `dim serve` wires them — local
// directory sites in a fresh temp dir, an in-memory SQLite store, the optimizer's placement, the
// write and read paths — for the gateway's unit tests. Removes the temp dir when destroyed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gateway/object_writer.h"
#include "gateway/replica_reader.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim::testing {

struct GatewayRig {
  // `tag` names the temp dir (with the pid and the current test's name).
  explicit GatewayRig(const std::string& tag) {
    dir = std::filesystem::temp_directory_path() /
          (tag + "-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    clock.SetMicros(RealClock::Instance().NowMicros());
    config.data_dir = dir.string();
    config.sites = DefaultSites();
    sites = MakeSiteRegistry(config).value();
    store = SqliteMetadataStore::Open(":memory:").value();
    policy = std::make_unique<RuntimePolicy>(*store, clock, false);
    slot = std::make_unique<PredictorSlot>(std::make_shared<HeuristicPredictor>());
    optimizer = std::make_unique<Optimizer>(*store, config.sites, *slot, *policy, clock, metrics,
                                            OptimizerOptions{});
    writer = std::make_unique<ObjectWriter>(*store, sites, *optimizer, clock, Tier::kHot, 5);
    reader = std::make_unique<ReplicaReader>(*store, sites);
  }
  ~GatewayRig() { std::filesystem::remove_all(dir); }

  std::filesystem::path dir;
  Config config;
  VirtualClock clock;
  MetricsRegistry metrics;
  SiteRegistry sites;
  std::unique_ptr<SqliteMetadataStore> store;
  std::unique_ptr<RuntimePolicy> policy;
  std::unique_ptr<PredictorSlot> slot;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<ObjectWriter> writer;
  std::unique_ptr<ReplicaReader> reader;
};

}  // namespace dim::testing
