// migrator_seed: sets up and checks the migrator benchmark's data. `seed` writes objects
// (pseudo-random bytes, streamed) to site `src` of a dim config and records them in the config's
// SQLite store, each placed on `src` and `dst` — so `dim migrator --drain` then has one verified
// copy task per object. `check` reports the tasks by status and re-reads every object from
// `dst`, failing (exit 1) unless every copy is done and every byte verifies.
//
//   migrator_seed seed  --config dim.toml --objects 24x16M,256x256K
//   migrator_seed check --config dim.toml
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "storage/byte_stream.h"
#include "storage/site_registry.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "migrator_seed: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

// "24x16M,256x256K" -> {(24, 16 MiB), (256, 256 KiB)}.
Result<std::vector<std::pair<int64_t, int64_t>>> ParseSpec(const std::string& spec) {
  std::vector<std::pair<int64_t, int64_t>> out;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    size_t x = item.find('x');
    if (x == std::string::npos || x == 0 || x + 1 >= item.size())
      return Status::InvalidArgument("'" + item + "' is not COUNTxSIZE[K|M|G]");
    int64_t mult = 1;
    std::string size = item.substr(x + 1);
    switch (size.back()) {
      case 'K':
        mult = 1 << 10;
        break;
      case 'M':
        mult = 1 << 20;
        break;
      case 'G':
        mult = 1 << 30;
        break;
      default:
        break;
    }
    if (mult > 1) size.pop_back();
    try {
      size_t used = 0, used2 = 0;
      int64_t n = std::stoll(item.substr(0, x), &used);
      int64_t bytes = std::stoll(size, &used2) * mult;
      if (used != x || used2 != size.size() || n <= 0 || bytes < 0)
        return Status::InvalidArgument("'" + item + "' is not COUNTxSIZE[K|M|G]");
      out.emplace_back(n, bytes);
    } catch (const std::exception&) {
      return Status::InvalidArgument("'" + item + "' is not COUNTxSIZE[K|M|G]");
    }
  }
  if (out.empty()) return Status::InvalidArgument("no objects in '" + spec + "'");
  return out;
}

struct Env {
  Config config;
  SiteRegistry sites;
  std::unique_ptr<SqliteMetadataStore> store;
};

Result<Env> Open(const std::string& path) {
  Env e;
  DIM_ASSIGN_OR_RETURN(e.config, LoadConfig(path));
  DIM_ASSIGN_OR_RETURN(e.sites, MakeSiteRegistry(e.config));
  if (!e.sites.Find("src") || !e.sites.Find("dst"))
    return Status::InvalidArgument(path + " must declare sites named src and dst");
  std::string db =
      e.config.store.path.empty() ? e.config.data_dir + "/dim.db" : e.config.store.path;
  // With only remote sites nothing else creates the data directory.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(db).parent_path(), ec);
  if (ec) return Status::Unavailable("cannot create the directory of " + db + ": " + ec.message());
  DIM_ASSIGN_OR_RETURN(e.store, SqliteMetadataStore::Open(db));
  return e;
}

int Seed(const std::string& config, const std::string& spec) {
  auto parsed = ParseSpec(spec);
  if (!parsed.ok()) return Fail("--objects", parsed.status());
  auto env = Open(config);
  if (!env.ok()) return Fail(config, env.status());
  MetadataStore& md = *env->store;
  ObjectStore& src = *env->sites.Find("src")->store;
  if (Status s = md.CreateBucket("bench", 1); !s.ok() && s.code() != StatusCode::kAlreadyExists)
    return Fail("bucket", s);
  int64_t total = 0, count = 0;
  for (const auto& [n, size] : *parsed) {
    for (int64_t i = 0; i < n; ++i, ++count) {
      ObjectKey key{"bench", "obj/" + std::to_string(size) + "/" + std::to_string(i)};
      std::string gen = NewGeneration(1000 + count);
      PatternSource pattern(size, 0x5eed + static_cast<uint64_t>(count));
      PutOptions po;
      po.size = size;
      auto put = src.Put(BlobName(key, gen), pattern, po);
      if (!put.ok()) return Fail("writing " + key.Full(), put.status());
      MetadataStore::NewContent c;
      c.key = key;
      c.size = size;
      c.sha256 = put->sha256;
      c.etag = put->md5;
      c.generation = gen;
      c.tier = Tier::kCold;
      c.sites = {"src"};
      c.now_ms = 1000;
      auto rec = md.PutObject(c);
      if (!rec.ok()) return Fail("recording " + key.Full(), rec.status());
      MetadataStore::PlacementChange pc;
      pc.object_id = rec->id;
      pc.expected_version = rec->version;
      pc.tier = Tier::kHot;
      pc.sites = {"src", "dst"};  // one copy task, no delete: copy throughput
      pc.max_attempts = 5;
      pc.now_ms = 1000;
      if (auto p = md.UpdatePlacement(pc); !p.ok())
        return Fail("placing " + key.Full(), p.status());
      total += size;
    }
  }
  std::printf("{\"objects\": %lld, \"bytes\": %lld}\n", static_cast<long long>(count),
              static_cast<long long>(total));
  return 0;
}

int Check(const std::string& config) {
  auto env = Open(config);
  if (!env.ok()) return Fail(config, env.status());
  MetadataStore& md = *env->store;
  auto counts = md.CountTasks();
  if (!counts.ok()) return Fail("counting tasks", counts.status());
  int64_t done = (*counts)[TaskStatus::kDone], failed = (*counts)[TaskStatus::kFailed],
          left = (*counts)[TaskStatus::kQueued] + (*counts)[TaskStatus::kRunning];
  ObjectStore& dst = *env->sites.Find("dst")->store;
  int64_t verified = 0, bad = 0, bytes = 0;
  MetadataStore::ObjectQuery q;
  q.bucket = "bench";
  q.limit = 1000;
  for (;;) {
    auto page = md.ListObjects(q);
    if (!page.ok()) return Fail("listing objects", page.status());
    if (page->empty()) break;
    q.start_after = page->back().key.key;
    for (const ObjectRecord& o : *page) {
      auto in = dst.Get(BlobName(o.key, o.generation));
      if (!in.ok()) {
        std::fprintf(stderr, "migrator_seed: %s on dst: %s\n", o.key.Full().c_str(),
                     in.status().ToString().c_str());
        ++bad;
        continue;
      }
      HashingSource h(**in);
      Status s = Drain(h, [](std::string_view) { return Status::OK(); });
      if (!s.ok() || h.bytes() != o.size || h.Sha256Hex() != o.sha256) {
        std::fprintf(stderr, "migrator_seed: %s on dst does not verify\n", o.key.Full().c_str());
        ++bad;
        continue;
      }
      ++verified;
      bytes += o.size;
    }
  }
  std::printf(
      "{\"done\": %lld, \"failed\": %lld, \"left\": %lld, \"verified\": %lld, \"bad\": %lld, "
      "\"bytes\": %lld}\n",
      static_cast<long long>(done), static_cast<long long>(failed), static_cast<long long>(left),
      static_cast<long long>(verified), static_cast<long long>(bad), static_cast<long long>(bytes));
  return failed == 0 && left == 0 && bad == 0 && verified > 0 ? 0 : 1;
}

}  // namespace
}  // namespace dim

int main(int argc, char** argv) {
  CLI::App app{"Sets up and checks the migrator benchmark's objects"};
  app.require_subcommand(1);
  std::string config, spec;
  auto* seed = app.add_subcommand("seed", "Write objects to site src and place them on src+dst");
  seed->add_option("--config", config, "dim config with sites src and dst")->required();
  seed->add_option("--objects", spec, "COUNTxSIZE[K|M|G],...")->required();
  auto* check = app.add_subcommand("check", "Every copy done and verified on dst (else exit 1)");
  check->add_option("--config", config, "dim config with sites src and dst")->required();
  CLI11_PARSE(app, argc, argv);
  if (seed->parsed()) return dim::Seed(config, spec);
  return dim::Check(config);
}
