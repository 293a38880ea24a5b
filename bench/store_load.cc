// store_load: drives one storage backend through the ObjectStore interface for
// the storage benchmark (bench/storage_backends_bench.py). Sequential PUTs or
// GETs of one object of --size bytes, --requests times, through the site stack
// every caller uses (RetryingStore(ChaosStore( backend))) or, with --bare,
// through the bare backend; optional injected throttling. Prints one JSON line:
// ops/s, MB/s, retries seen, operations that still failed after the retries (a
// read of the wrong length is fatal), the CPU seconds the timed calls took (user + system,
// all threads: MB per CPU-second is the fair figure on a loaded machine), and this process's
// peak RSS (VmHWM). PUT bodies come from PatternSource as they are sent (memory independent of
// the size), or with --source memory from a buffer generated before the timing starts, as the
// plain libcurl baseline (s3_load) sends them.
//
//   store_load --type s3 --endpoint http://127.0.0.1:PORT --bucket b --access K
//   --secret S
//              --op put --size 67108864 --requests 4 [--bare] [--throttle 0.3]
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.h"
#include "core/metrics.h"
#include "storage/byte_stream.h"
#include "storage/chaos_state.h"
#include "storage/site_registry.h"

namespace {

int64_t PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Serves a caller's buffer without copying it first (ByteSource over a string_view).
class ViewSource final : public dim::ByteSource {
 public:
  explicit ViewSource(std::string_view data) : data_(data) {}
  dim::Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "store_load: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dim;
  CLI::App app{"ObjectStore load generator for bench/storage_backends_bench.py"};
  SiteConfig site;
  site.name = "bench";
  site.create_bucket = true;
  std::string op = "get", key = "bench/object@1";
  int64_t size = 64ll << 20;
  int requests = 4;
  bool bare = false;
  double throttle = 0;
  std::string data_dir = "/tmp";
  std::string source = "pattern";
  app.add_option("--type", site.type, "local | s3 | gcs | azure")->required();
  app.add_option("--endpoint", site.endpoint, "backend base URL");
  app.add_option("--path", site.path, "local: directory");
  app.add_option("--bucket", site.bucket, "bucket / container");
  app.add_option("--access", site.access_key, "access key / account");
  app.add_option("--secret", site.secret_key, "secret / account key");
  app.add_option("--part-size-mb", site.part_size_mb, "multipart part size");
  app.add_option("--upload-concurrency", site.upload_concurrency, "parts in flight");
  app.add_option("--op", op, "put | get")->check(CLI::IsMember({"put", "get"}));
  app.add_option("--key", key, "blob name");
  app.add_option("--size", size, "object size in bytes");
  app.add_option("--requests", requests, "sequential operations");
  app.add_flag("--bare", bare, "the bare backend, without the retry and chaos layers");
  app.add_option("--throttle", throttle, "share of calls throttled by chaos (503), 0..1");
  app.add_option("--data-dir", data_dir, "base of relative local paths");
  app.add_option("--source", source,
                 "PUT bodies: pattern (generated as sent) | memory (generated before timing)")
      ->check(CLI::IsMember({"pattern", "memory"}));
  CLI11_PARSE(app, argc, argv);

  Config config;
  config.data_dir = data_dir;
  config.sites = {site};
  MetricsRegistry metrics;
  auto chaos = std::make_shared<ChaosController>(nullptr, RealClock::Instance());
  if (throttle > 0) {
    Status st = chaos->Update(
        [&](ChaosState& s) {
          s.sites[site.name].throttle_fraction = throttle;
          return Status::OK();
        },
        "bench", "throttle", {});
    if (!st.ok()) return Fail(st.ToString());
  }
  SiteStackOptions stack;
  stack.chaos = chaos;
  stack.retry = true;
  stack.metrics = &metrics;
  auto reg = MakeSiteRegistry(config, stack);
  if (!reg.ok()) return Fail(reg.status().ToString());
  const Site* s = reg->Find(site.name);
  ObjectStore& store = bare ? *s->backend : *s->store;

  if (op == "get") {  // the object to read, written once, outside the timing
    PatternSource gen(size, 7);
    PutOptions o;
    o.size = size;
    auto put = s->backend->Put(key, gen, o);
    if (!put.ok()) return Fail(put.status().ToString());
  }
  std::string body;  // --source memory: generated once, sent by every request (as s3_load does)
  if (op == "put" && source == "memory") {
    PatternSource gen(size, 7);
    auto all = ReadAll(gen);
    if (!all.ok()) return Fail(all.status().ToString());
    body = std::move(*all);
  }
  std::vector<char> buf(kStreamChunk);
  const double cpu0 = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  int64_t bytes = 0;
  int errors = 0;  // operations that failed after the retries (reported, not fatal)
  std::string last_error;
  for (int i = 0; i < requests; ++i) {
    if (op == "put") {
      PatternSource gen(size, 7 + i);
      ViewSource mem(body);
      PutOptions o;
      o.size = size;
      auto put = store.Put(key, source == "memory" ? static_cast<ByteSource&>(mem) : gen, o);
      if (!put.ok()) {
        ++errors;
        last_error = put.status().ToString();
        continue;
      }
      bytes += put->size;
    } else {
      auto src = store.Get(key);
      if (!src.ok()) {
        ++errors;
        last_error = src.status().ToString();
        continue;
      }
      int64_t n = 0;
      for (;;) {
        auto r = (*src)->Read(buf.data(), buf.size());
        if (!r.ok()) return Fail(r.status().ToString());
        if (*r == 0) break;
        n += static_cast<int64_t>(*r);
      }
      if (n != size)
        return Fail("short read: " + std::to_string(n) + " of " + std::to_string(size));
      bytes += n;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  (void)s->backend->Delete(key);
  std::string text = metrics.RenderText();
  int64_t retries = 0;
  // dim_storage_retries_total{site="bench",...} N: sum every series of the
  // retry counter.
  for (size_t p = text.find("\ndim_storage_retries_total{"); p != std::string::npos;
       p = text.find("\ndim_storage_retries_total{", p + 1)) {
    size_t eol = text.find('\n', p + 1);
    size_t sp = text.rfind(' ', eol);
    retries += static_cast<int64_t>(std::stod(text.substr(sp + 1, eol - sp - 1)));
  }
  nlohmann::json out = {{"type", site.type},
                        {"op", op},
                        {"size", size},
                        {"requests", requests},
                        {"bare", bare},
                        {"throttle", throttle},
                        {"seconds", secs},
                        {"cpu_s", cpu},
                        {"mb_per_cpu_s", bytes / 1e6 / cpu},
                        {"ops_s", (requests - errors) / secs},
                        {"mb_s", bytes / 1e6 / secs},
                        {"retries", retries},
                        {"errors", errors},
                        {"last_error", last_error},
                        {"peak_rss_kb", PeakRssKb()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
