// Stream benchmark (issue 6): access events per second from a bus into the metadata store.
//   in-process: MemoryEventBus -> AccessConsumer -> SqliteMetadataStore (flush every --flush-ms);
//               the producer replays events prepared before the timer starts (publishing them
//               through the bus is timed), on the same machine's cores
//   kafka:      librdkafka's mock cluster -> KafkaEventBus -> AccessConsumer -> SQLite
// and, in the same run, the baselines:
//   seed:       the seed's pattern, one SQLite transaction per event doing an upsert of the
//               object's counters and an insert into an event table: with the same file settings
//               as our store here (WAL, synchronous=FULL: every commit fsync'd), with WAL and
//               synchronous=NORMAL (no fsync per commit: less durable than ours, the stricter
//               baseline), and with --seed-full-sync also SQLite's defaults (rollback journal,
//               synchronous=FULL), as the seed ran
//   raw kafka:  a bare librdkafka KafkaConsumer reading the same pre-filled topic
// Every case checks that the store ends with exactly the events sent. Prints a progress line
// per second, the medians of --runs runs, the ratios and whether the goals hold.
#include <librdkafka/rdkafkacpp.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bus/kafka_event_bus.h"
#include "bus/kafka_mock_cluster.h"
#include "bus/memory_event_bus.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "store/sqlite/sqlite_metadata_store.h"
#include "stream/access_consumer.h"

namespace dim {
namespace {

namespace fs = std::filesystem;

struct Flags {
  int runs = 3;
  int64_t memory_events = 4'000'000;
  int64_t kafka_events = 1'000'000;
  int64_t seed_events = 200'000;
  double seed_seconds = 10;  // the seed's pattern stops at seed_events or after this long
  int keys = 100'000;
  int partitions = 16;
  int64_t flush_ms = 1000;
  bool seed_full_sync = false;
  bool skip_seed = false, skip_memory = false, skip_kafka = false;
  std::string dir;
};

double Seconds(int64_t from_us) { return (MonotonicMicros() - from_us) / 1e6; }

// CPU seconds (user + system) of the whole process so far: on this shared box a case often
// gets a fraction of the two cores, so events per CPU-second say what the code costs.
double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Deterministic events over `keys` objects within the last hour: 80 % GET, 20 % PUT.
class EventSource {
 public:
  EventSource(int keys, uint64_t seed) : rng_(seed), now_(RealClock::Instance().NowMs()) {
    names_.reserve(keys);
    for (int i = 0; i < keys; ++i) names_.push_back("bench/o-" + std::to_string(i));
  }
  void Next(AccessEvent* e) {
    uint64_t r = rng_();
    e->key = names_[(r >> 8) % names_.size()];
    e->ts_ms = now_ - static_cast<int64_t>((r >> 28) % 3'600'000);
    e->op = (r & 0xff) < 205 ? AccessOp::kGet : AccessOp::kPut;
    e->bytes = static_cast<int64_t>((r >> 48) % 65536);
  }

 private:
  std::mt19937_64 rng_;
  int64_t now_;
  std::vector<std::string> names_;
};

// Logs "<what>: n/total (rate/s), ETA" about once a second while a case runs.
class Progress {
 public:
  Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total) {}
  void Update(int64_t done) {
    int64_t now = MonotonicMicros();
    if (now - last_us_ < 1'000'000) return;
    double rate = (done - last_done_) * 1e6 / std::max<int64_t>(1, now - last_us_);
    double eta = rate > 0 ? (total_ - done) / rate : 0;
    std::fprintf(stderr, "  %s: %lld/%lld (%.0f/s), ETA %.0f s\n", what_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate, eta);
    last_us_ = now;
    last_done_ = done;
  }

 private:
  std::string what_;
  int64_t total_;
  int64_t last_us_ = MonotonicMicros(), last_done_ = 0;
};

int64_t StoredTotal(MetadataStore& store, const std::string& name) {
  auto offs = store.GetConsumerOffsets(name);
  if (!offs.ok()) return -1;
  int64_t sum = 0;
  for (const auto& [p, o] : *offs) sum += o;
  return sum;
}

// Reads + writes stored over all objects: the check that every counted event reached the store.
int64_t StoredAccesses(const std::string& db_path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT SUM(reads + writes) FROM access_stats", -1, &st, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "stream_bench: FAILED: %s\n", what.c_str());
    std::exit(1);
  }
}

// ---- seed pattern -------------------------------------------------------------------------------

enum class SeedMode { kWalNormal, kWalFull, kDefaults };

double SeedPattern(const Flags& f, SeedMode mode, int run) {
  const std::string path = f.dir + "/seed-" + std::to_string(run) + ".db";
  fs::remove(path);
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db) == SQLITE_OK, "open seed db");
  auto exec = [&](const char* sql) {
    char* err = nullptr;
    Check(sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK, err ? err : sql);
  };
  switch (mode) {
    case SeedMode::kWalNormal:
      exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
      break;
    case SeedMode::kWalFull:
      exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
      break;
    case SeedMode::kDefaults:
      exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL");
      break;
  }
  exec(
      "CREATE TABLE objects(key TEXT PRIMARY KEY, reads INTEGER NOT NULL, writes INTEGER NOT "
      "NULL, bytes INTEGER NOT NULL, last_access_ms INTEGER NOT NULL)");
  exec(
      "CREATE TABLE events(id INTEGER PRIMARY KEY, key TEXT NOT NULL, ts_ms INTEGER NOT NULL, "
      "action TEXT NOT NULL, bytes INTEGER NOT NULL)");
  sqlite3_stmt *up = nullptr, *ins = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO objects(key, reads, writes, bytes, last_access_ms) "
                           "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET "
                           "reads = reads + ?2, writes = writes + ?3, bytes = bytes + ?4, "
                           "last_access_ms = MAX(last_access_ms, ?5)",
                           -1, &up, nullptr) == SQLITE_OK,
        "prepare upsert");
  Check(sqlite3_prepare_v2(db, "INSERT INTO events(key, ts_ms, action, bytes) VALUES(?, ?, ?, ?)",
                           -1, &ins, nullptr) == SQLITE_OK,
        "prepare insert");
  EventSource src(f.keys, 7 + run);
  AccessEvent e;
  Progress progress(mode == SeedMode::kWalNormal ? "seed (WAL, NORMAL)"
                    : mode == SeedMode::kWalFull ? "seed (WAL, FULL)"
                                                 : "seed (defaults)",
                    f.seed_events);
  const int64_t start = MonotonicMicros();
  const int64_t stop_us = start + static_cast<int64_t>(f.seed_seconds * 1e6);
  int64_t done = 0;
  for (int64_t i = 0; i < f.seed_events; ++i) {
    src.Next(&e);
    const bool read = IsRead(e.op);
    exec("BEGIN");
    sqlite3_bind_text(up, 1, e.key.data(), static_cast<int>(e.key.size()), SQLITE_STATIC);
    sqlite3_bind_int64(up, 2, read ? 1 : 0);
    sqlite3_bind_int64(up, 3, read ? 0 : 1);
    sqlite3_bind_int64(up, 4, e.bytes);
    sqlite3_bind_int64(up, 5, e.ts_ms);
    Check(sqlite3_step(up) == SQLITE_DONE, "upsert");
    sqlite3_reset(up);
    sqlite3_bind_text(ins, 1, e.key.data(), static_cast<int>(e.key.size()), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, e.ts_ms);
    sqlite3_bind_text(ins, 3, read ? "read" : "write", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, e.bytes);
    Check(sqlite3_step(ins) == SQLITE_DONE, "insert");
    sqlite3_reset(ins);
    exec("COMMIT");
    done = i + 1;
    if ((i & 15) == 0) {
      progress.Update(i);
      if (MonotonicMicros() >= stop_us) break;
    }
  }
  const double secs = Seconds(start);
  sqlite3_finalize(up);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  fs::remove(path);
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
  return done / secs;
}

// ---- in-process bus into the store --------------------------------------------------------------

ConsumerOptions BenchConsumerOptions(const Flags& f, const std::string& name) {
  ConsumerOptions co;
  co.name = name;
  co.flush_interval_ms = f.flush_ms;
  co.flush_max_events = 4'000'000;  // so the interval decides: one durable flush per interval
  co.cache_entries = static_cast<size_t>(f.keys) * 2;
  return co;
}

struct Rates {
  double durable = 0;   // until the store holds every event's offset (journal or rows)
  double rows = 0;      // until every object's row holds them too (the final fold at Stop)
  double per_cpu = 0;   // durable events per CPU-second of the process (producer included)
  double flushes = 0;   // durable flushes (fsync'd commits) until then
  double flush_ms = 0;  // their mean duration
};

Rates InProcess(const Flags& f, int run) {
  const std::string path = f.dir + "/memory-" + std::to_string(run) + ".db";
  fs::remove(path);
  auto store = SqliteMetadataStore::Open(path, /*full_sync=*/true);  // every flush fsync'd
  Check(store.ok(), "open store");
  MetricsRegistry metrics;
  MemoryEventBus bus(1 << 20);
  AccessConsumer consumer(**store, bus, RealClock::Instance(), metrics,
                          BenchConsumerOptions(f, "dim-consumer"));
  // The producer replays prepared events (like a replay of a recorded stream): they are built
  // before the timer starts; copying them into the bus (PublishBatch, 1024 at a time) is timed.
  // A pool of at most kPool events is cycled through, so memory stays small for long runs.
  constexpr int64_t kPool = 1 << 20;
  std::vector<AccessEvent> pool(static_cast<size_t>(std::min(f.memory_events, kPool)));
  {
    EventSource src(f.keys, 11 + run);
    for (auto& e : pool) src.Next(&e);
  }
  Check(consumer.Init().ok(), "consumer init");
  consumer.Start();
  const int64_t start = MonotonicMicros();
  const double cpu0 = CpuSeconds();
  std::thread producer([&] {
    std::vector<AccessEvent> chunk;
    chunk.reserve(1024);
    size_t at = 0;
    for (int64_t i = 0; i < f.memory_events;) {
      const size_t n = static_cast<size_t>(std::min<int64_t>(1024, f.memory_events - i));
      chunk.clear();
      for (size_t k = 0; k < n; ++k) {
        chunk.push_back(pool[at]);
        if (++at == pool.size()) at = 0;
      }
      Check(bus.PublishBatch(chunk, 60'000) == n, "publish");
      i += static_cast<int64_t>(n);
    }
  });
  Progress progress("in-process", f.memory_events);
  while (StoredTotal(**store, "dim-consumer") < f.memory_events) {
    progress.Update(consumer.events_ingested());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double secs = Seconds(start);
  const double cpu = CpuSeconds() - cpu0;
  // Every durable flush until now recorded one journal entry (the rows are folded every 10 s,
  // later than these runs last): their number is the number of fsync'd commits. The flush
  // histogram gives their mean time (the last one may not be observed yet).
  const auto journal = (*store)->ListAccessJournal("dim-consumer");
  const size_t commits = journal.ok() ? journal->size() : 0;
  const auto flushes = metrics.AddHistogram("dim_consumer_flush_duration_seconds", "").Get().Snap();
  std::fprintf(stderr,
               "  in-process: %zu durable flushes (journal entries) in %.1f s, %.0f ms each on "
               "average\n",
               commits, secs, flushes.count ? 1000 * flushes.sum / flushes.count : 0.0);
  producer.join();
  consumer.Stop();
  const double rows_secs = Seconds(start);
  Check(StoredAccesses(path) == f.memory_events, "in-process: stored counts = events sent");
  store->reset();
  fs::remove(path);
  fs::remove(path + "-wal");
  fs::remove(path + "-shm");
  return Rates{f.memory_events / secs, f.memory_events / rows_secs, f.memory_events / cpu,
               static_cast<double>(commits),
               flushes.count ? 1000 * flushes.sum / flushes.count : 0.0};
}

// ---- Kafka (mock cluster) -----------------------------------------------------------------------

struct KafkaRates {
  double raw = 0, ours = 0, ours_rows = 0;
};

const char* kTimeouts = "session.timeout.ms=3000;heartbeat.interval.ms=300";

KafkaRates Kafka(const Flags& f, int run) {
  auto cluster = KafkaMockCluster::Make(3);
  Check(cluster.ok(), "mock cluster");
  Check((*cluster)->CreateTopic("file_access", f.partitions).ok(), "create topic");
  const std::string brokers = (*cluster)->bootstrap_servers();
  {
    KafkaBusOptions po;
    po.brokers = brokers;
    po.consume = false;
    auto producer = KafkaEventBus::Make(po);
    Check(producer.ok(), "producer");
    EventSource src(f.keys, 13 + run);
    Progress progress("filling the topic", f.kafka_events);
    for (int64_t i = 0; i < f.kafka_events; ++i) {
      AccessEvent e;
      src.Next(&e);
      Check((*producer)->PublishWait(std::move(e), 60'000), "produce");
      if ((i & 1023) == 0) progress.Update(i);
    }
    Check((*producer)->FlushProducer(120'000).ok(), "flush producer");
  }
  auto wm = (*cluster)->Watermarks("file_access");
  Check(wm.ok(), "watermarks");
  int64_t in_topic = 0;
  for (const auto& [p, lohi] : *wm) {
    Check(lohi.first == 0, "the mock dropped events of partition " + std::to_string(p));
    in_topic += lohi.second;
  }
  Check(in_topic == f.kafka_events, "all events in the topic");

  KafkaRates r;
  {  // raw librdkafka: a group member consuming every message, nothing else
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    auto set = [&](const std::string& k, const std::string& v) {
      Check(conf->set(k, v, err) == RdKafka::Conf::CONF_OK, k + ": " + err);
    };
    set("bootstrap.servers", brokers);
    set("group.id", "raw-" + std::to_string(run));
    set("auto.offset.reset", "earliest");
    set("enable.auto.commit", "false");
    set("session.timeout.ms", "3000");
    set("heartbeat.interval.ms", "300");
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    Check(c != nullptr, "raw consumer: " + err);
    Check(c->subscribe({"file_access"}) == RdKafka::ERR_NO_ERROR, "subscribe");
    int64_t n = 0, bytes = 0, start = 0;
    Progress progress("raw librdkafka", f.kafka_events);
    while (n < f.kafka_events) {
      std::unique_ptr<RdKafka::Message> m(c->consume(100));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      if (n == 0) start = MonotonicMicros();  // from the first message: the join is not counted
      ++n;
      bytes += static_cast<int64_t>(m->len());
      if ((n & 1023) == 0) progress.Update(n);
    }
    r.raw = f.kafka_events / Seconds(start);
    c->close();
  }
  {  // ours: KafkaEventBus + AccessConsumer into SQLite, until the store holds every offset
    const std::string path = f.dir + "/kafka-" + std::to_string(run) + ".db";
    fs::remove(path);
    auto store = SqliteMetadataStore::Open(path, /*full_sync=*/true);
    Check(store.ok(), "open store");
    MetricsRegistry metrics;
    KafkaBusOptions bo;
    bo.brokers = brokers;
    bo.group = "ours-" + std::to_string(run);
    bo.produce = false;
    bo.properties = ParseKafkaProperties(kTimeouts).value();
    auto bus = KafkaEventBus::Make(bo, &metrics);
    Check(bus.ok(), "kafka bus");
    const std::string name = "kafka:file_access:" + bo.group;
    AccessConsumer consumer(**store, **bus, RealClock::Instance(), metrics,
                            BenchConsumerOptions(f, name));
    Check(consumer.Init().ok(), "consumer init");
    consumer.Start();
    while (consumer.events_ingested() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const int64_t start = MonotonicMicros();  // from the first event: the join is not counted
    Progress progress("kafka -> store", f.kafka_events);
    while (StoredTotal(**store, name) < f.kafka_events) {
      progress.Update(consumer.events_ingested());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.ours = f.kafka_events / Seconds(start);
    consumer.Stop();
    r.ours_rows = f.kafka_events / Seconds(start);
    (*bus)->Close();
    Check(StoredAccesses(path) == f.kafka_events, "kafka: stored counts = events sent");
    store->reset();
    fs::remove(path);
    fs::remove(path + "-wal");
    fs::remove(path + "-shm");
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Fmt(double events_s) {
  char buf[64];
  if (events_s >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M/s", events_s / 1e6);
  } else if (events_s >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1f k/s", events_s / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f /s", events_s);
  }
  return buf;
}

}  // namespace
}  // namespace dim

int main(int argc, char** argv) {
  using namespace dim;
  Flags f;
  CLI::App app{"Stream benchmark: access events/s from the bus into the store, with baselines"};
  app.add_option("--runs", f.runs, "Runs of every case (medians are printed)")
      ->check(CLI::Range(1, 50));
  app.add_option("--memory-events", f.memory_events, "Events through the in-process bus")
      ->check(CLI::PositiveNumber);
  app.add_option("--kafka-events", f.kafka_events, "Events through the Kafka mock cluster")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed-events", f.seed_events, "Events of the seed's pattern")
      ->check(CLI::PositiveNumber);
  app.add_option("--keys", f.keys, "Distinct objects")->check(CLI::Range(1, 10'000'000));
  app.add_option("--partitions", f.partitions, "Partitions of the topic")
      ->check(CLI::Range(1, 256));
  app.add_option("--flush-ms", f.flush_ms, "Consumer flush interval")->check(CLI::Range(1, 60000));
  app.add_option("--seed-seconds", f.seed_seconds, "Time limit of each seed-pattern run")
      ->check(CLI::PositiveNumber);
  app.add_flag("--skip-seed", f.skip_seed, "Leave out the seed's pattern");
  app.add_flag("--skip-memory", f.skip_memory, "Leave out the in-process case");
  app.add_flag("--skip-kafka", f.skip_kafka, "Leave out the Kafka cases");
  app.add_flag("--seed-full-sync", f.seed_full_sync,
               "Also run the seed's pattern with SQLite's defaults (rollback journal, sync FULL)");
  app.add_option("--dir", f.dir, "Scratch directory (default: a fresh one under /tmp)");
  CLI11_PARSE(app, argc, argv);
  (void)InitLogging("warn");
  if (f.dir.empty()) {
    f.dir = (fs::temp_directory_path() / ("dim-stream-bench-" + std::to_string(getpid()))).string();
  }
  fs::create_directories(f.dir);

  std::vector<double> flush_n, flush_ms, seed, seed_normal, seed_full, memory, memory_rows,
      memory_cpu, raw, kafka, kafka_rows;
  for (int run = 0; run < f.runs; ++run) {
    std::fprintf(stderr, "run %d/%d\n", run + 1, f.runs);
    if (!f.skip_seed) seed.push_back(SeedPattern(f, SeedMode::kWalFull, run));
    if (!f.skip_seed) seed_normal.push_back(SeedPattern(f, SeedMode::kWalNormal, run));
    if (!f.skip_seed && f.seed_full_sync) {
      seed_full.push_back(SeedPattern(f, SeedMode::kDefaults, run));
    }
    if (!f.skip_memory) {
      Rates m = InProcess(f, run);
      memory.push_back(m.durable);
      memory_rows.push_back(m.rows);
      memory_cpu.push_back(m.per_cpu);
      flush_n.push_back(m.flushes);
      flush_ms.push_back(m.flush_ms);
    }
    if (!f.skip_kafka) {
      KafkaRates k = Kafka(f, run);
      raw.push_back(k.raw);
      kafka.push_back(k.ours);
      kafka_rows.push_back(k.ours_rows);
    }
    auto last = [](const std::vector<double>& v) { return Fmt(v.empty() ? 0 : v.back()); };
    std::fprintf(stderr, "  seed %s, in-process %s, raw kafka %s, kafka -> store %s\n",
                 last(seed).c_str(), last(memory).c_str(), last(raw).c_str(), last(kafka).c_str());
  }
  fs::remove_all(f.dir);

  const double m_mem = Median(memory), m_raw = Median(raw), m_kafka = Median(kafka);
  std::printf("\nStream benchmark: medians of %d runs (%d objects; flush every %lld ms)\n", f.runs,
              f.keys, static_cast<long long>(f.flush_ms));
  if (!memory.empty()) {
    std::printf(
        "  in-process: %lld events per run; the producer replays events prepared before the timer\n"
        "  starts (publishing them into the bus is timed); durable = until the store holds every\n"
        "  event's offset (journal entry or rows), each flush one fsync'd SQLite commit (WAL,\n"
        "  synchronous=FULL)\n",
        static_cast<long long>(f.memory_events));
  }
  if (!memory.empty()) {
    const double every_s = Median(flush_n) > 0 ? static_cast<double>(f.memory_events) /
                                                     Median(memory) / Median(flush_n)
                                               : 0.0;
    std::printf(
        "  in-process: %.0f durable flushes (fsync'd commits) per run until then, %.0f ms each: "
        "one every %.2f s (medians)\n",
        Median(flush_n), Median(flush_ms), every_s);
  }
  if (!seed.empty()) {
    std::printf(
        "  the seed's pattern runs in this same process, in each run before the other cases\n");
  }
  auto row = [](const char* what, const std::vector<double>& v) {
    if (!v.empty()) std::printf("  %-52s %12s\n", what, Fmt(Median(v)).c_str());
  };
  std::printf("  %-60s %12s\n", "case", "events/s");
  row("seed pattern (1 SQLite tx per event, WAL, sync FULL)", seed);
  row("seed pattern (1 SQLite tx per event, WAL, sync NORMAL)", seed_normal);
  row("seed pattern (1 SQLite tx per event, SQLite defaults)", seed_full);
  row("in-process bus -> consumer -> SQLite (durable)", memory);
  row("  the same, until folded into every object's row", memory_rows);
  row("  the same, durable events per CPU-second (all threads)", memory_cpu);
  row("raw librdkafka consume (mock cluster)", raw);
  row("Kafka mock -> KafkaEventBus -> consumer -> SQLite (durable)", kafka);
  row("  the same, until folded into every object's row", kafka_rows);
  std::printf("\nRatios and goals (issue 6):\n");
  if (!memory.empty()) {
    std::printf("  in-process %s: goal >= 2 M/s: %s\n", Fmt(m_mem).c_str(),
                m_mem >= 2e6 ? "met" : "NOT met");
  }
  // The in-process rate against one setting of the seed's pattern (left out when not run).
  auto seed_ratio = [&](const char* label, const std::vector<double>& runs) {
    if (memory.empty() || runs.empty()) return;
    const double r = m_mem / Median(runs);
    std::printf("  in-process / seed %s = %.0fx: goal >= 1000x: %s\n", label, r,
                r >= 1000 ? "met" : "NOT met");
  };
  seed_ratio("at equal settings (WAL, synchronous=FULL, as our store here)", seed);
  seed_ratio("at WAL, synchronous=NORMAL (no fsync per commit: weaker than ours)", seed_normal);
  seed_ratio("with its own SQLite defaults (rollback journal, synchronous=FULL)", seed_full);
  if (!kafka.empty()) {
    const double r = m_kafka / m_raw;
    std::printf("  kafka / raw librdkafka = %.0f%%: goal >= 50%%: %s\n", 100 * r,
                r >= 0.5 ? "met" : "NOT met");
  }
  return 0;
}
