// `dim consumer` killed twice mid-stream (SIGKILL, a real separate process) against librdkafka's
// mock cluster (3 brokers, 16 partitions, hosted by this test process): after restarts the
// stored counts equal the counts this test computed from what it produced, exactly.
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "bus/event_codec.h"
#include "bus/kafka_event_bus.h"
#include "bus/kafka_mock_cluster.h"
#include "core/clock.h"
#include "integration/dim_process.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace dim {
namespace {

constexpr int kPartitions = 16;
constexpr int64_t kEvents = 1'000'000;
constexpr int kKeys = 20000;
const char* kConsumerName = "kafka:file_access:crash-test";

struct Expected {
  int64_t reads = 0, writes = 0, bytes_read = 0, bytes_written = 0, last_ms = 0;
};

int64_t StoredTotalOf(SqliteMetadataStore& s, const std::string& name) {
  int64_t sum = 0;
  auto offs = s.GetConsumerOffsets(name);
  if (!offs.ok()) return -1;
  for (auto& [p, off] : *offs) sum += off;
  return sum;
}

int64_t StoredTotal(SqliteMetadataStore& s) { return StoredTotalOf(s, kConsumerName); }

template <typename F>
bool WaitFor(F done, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

double MetricValue(const std::string& text, const std::string& series) {
  std::regex re("(^|\\n)" + std::regex_replace(series, std::regex(R"([{}"\\])"), R"(\$&)") +
                " ([0-9.e+-]+)");
  std::smatch m;
  return std::regex_search(text, m, re) ? std::stod(m[2]) : -1;
}

TEST(ConsumerCrashTest, KilledTwiceMidStreamTheStoredCountsAreExact) {
  auto cluster = KafkaMockCluster::Make(3).value();
  ASSERT_TRUE(cluster->CreateTopic("file_access", kPartitions).ok());
  const std::string dir = testing::MakeTempDir("consumer-crash");
  const std::string db = dir + "/data/dim.db";
  const std::string cfg = dir + "/consumer.toml";
  {
    std::ofstream f(cfg);
    f << "data_dir = \"" << dir << "/data\"\n"
      << "[bus]\nbackend = \"kafka\"\nbrokers = \"" << cluster->bootstrap_servers() << "\"\n"
      << "group = \"crash-test\"\n"
      << "kafka_properties = \"session.timeout.ms=3000;heartbeat.interval.ms=300\"\n"
      << "[stream]\nflush_interval_ms = 200\nflush_max_events = 50000\n"
      << "metrics_listen = \"127.0.0.1:0\"\n";
  }
  // The first and the last consumer record their batches in the access journal (more than
  // 1000 objects per flush: all of them here) and fold it into the rows every second; the
  // middle one rewrites the rows at every flush. So a kill leaves unfolded journal entries for
  // a row-writing successor to recover, and a row writer's kill a journaling successor.
  const std::string cfg_journal = dir + "/consumer-journal.toml";
  {
    std::ifstream in(cfg);
    std::stringstream text;
    text << in.rdbuf();
    std::ofstream f(cfg_journal);
    f << text.str() << "journal_min_objects = 1000\nfold_interval_ms = 1000\n";
  }

  // The stream: 1 M events at about 40 k/s from a producer thread, so both kills land while
  // events keep arriving. Expected counts are computed here, independently of the consumer.
  std::map<std::string, Expected> expected;
  std::map<std::pair<std::string, int64_t>, std::array<int64_t, 3>> hourly;  // reads, writes, bytes
  std::atomic<int64_t> produced{0};
  std::atomic<bool> producer_ok{true};
  KafkaBusOptions po;
  po.brokers = cluster->bootstrap_servers();
  po.consume = false;
  auto producer = KafkaEventBus::Make(po).value();
  std::thread produce([&] {
    std::mt19937_64 rng(20240601);
    const int64_t t0 = RealClock::Instance().NowMs();
    const int64_t start_us = MonotonicMicros();
    for (int64_t i = 0; i < kEvents; ++i) {
      AccessEvent e;
      uint64_t r = rng();
      e.key = "demo/obj-" + std::to_string((r >> 8) % kKeys);
      e.ts_ms = t0 - static_cast<int64_t>((r >> 24) % 7'200'000);  // within the last two hours
      e.bytes = static_cast<int64_t>(r % 4096);
      int kind = static_cast<int>((r >> 40) % 20);
      e.op = kind < 14   ? AccessOp::kGet
             : kind < 17 ? AccessOp::kPut
             : kind < 18 ? AccessOp::kHead
                         : AccessOp::kDelete;
      if (kind == 19) {  // a failed read: consumed, not an access
        e.op = AccessOp::kGet;
        e.status = 404;
      }
      if (!producer->PublishWait(e, 30000)) {
        producer_ok = false;
        return;
      }
      if (e.status < 400 && (IsRead(e.op) || IsWrite(e.op))) {
        Expected& x = expected[e.key];
        auto& h = hourly[{e.key, e.ts_ms / 3'600'000}];
        if (IsRead(e.op)) {
          x.reads++;
          x.bytes_read += e.bytes;
          h[0]++;
        } else {
          x.writes++;
          x.bytes_written += e.bytes;
          h[1]++;
        }
        h[2] += e.bytes;
        x.last_ms = std::max(x.last_ms, e.ts_ms);
      }
      produced = i + 1;
      if (i % 2000 == 0) {  // pace: 40 k events/s
        int64_t ahead_us = i * 25 - (MonotonicMicros() - start_us);
        if (ahead_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(ahead_us));
      }
    }
    if (!producer->FlushProducer(60000).ok()) producer_ok = false;
  });

  std::unique_ptr<SqliteMetadataStore> store;
  auto start = [&](int n) {
    const std::vector<std::string> args = {"consumer", "--config", n == 1 ? cfg : cfg_journal};
    auto c = std::make_unique<testing::DimChild>(args, dir + "/consumer-" + std::to_string(n));
    EXPECT_TRUE(c->WaitForOutput("Metrics:", 60)) << c->Out() << c->Log();
    if (!store) store = SqliteMetadataStore::Open(db).value();
    return c;
  };
  // Kill the first consumer once a quarter is stored, the second at 60 %.
  for (int round = 0; round < 2; ++round) {
    const int64_t at = round == 0 ? kEvents / 4 : kEvents * 6 / 10;
    auto c = start(round);
    ASSERT_TRUE(WaitFor([&] { return StoredTotal(*store) >= at; }, 180))
        << "stored " << StoredTotal(*store) << "\n"
        << c->Log();
    c->Signal(SIGKILL);
    EXPECT_EQ(c->Wait(30), 128 + SIGKILL);
    std::printf("killed consumer %d with %lld of %lld events stored, %lld produced\n", round,
                static_cast<long long>(StoredTotal(*store)), static_cast<long long>(kEvents),
                static_cast<long long>(produced.load()));
  }
  auto last = start(2);
  produce.join();
  ASSERT_TRUE(producer_ok.load());

  // Bad records after the good ones: counted by reason and skipped, offsets consumed.
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", cluster->bootstrap_servers(), err);
  std::unique_ptr<RdKafka::Producer> raw(RdKafka::Producer::create(conf.get(), err));
  ASSERT_TRUE(raw) << err;
  AccessEvent future;
  future.key = "demo/obj-1";
  future.ts_ms = RealClock::Instance().NowMs() + 48 * 3'600'000;
  const std::vector<std::string> bad = {
      std::string("\x01\x00", 2),
      std::string("\x07zz", 3),
      "{\"key\":",
      EncodeEvent(future, EventEncoding::kBinary),
      "{\"key\":\"demo/" + std::string(2000, 'k') + "\",\"ts\":1}",
      "{\"key\":\"\",\"ts\":1}"};
  for (size_t i = 0; i < bad.size(); ++i) {
    ASSERT_EQ(raw->produce("file_access", static_cast<int32_t>(i), RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(bad[i].data()), bad[i].size(), nullptr, 0, 0, nullptr),
              RdKafka::ERR_NO_ERROR);
  }
  ASSERT_EQ(raw->flush(30000), RdKafka::ERR_NO_ERROR);
  const int64_t total = kEvents + static_cast<int64_t>(bad.size());

  // Nothing was lost by the mock's capped partition logs.
  auto wm = cluster->Watermarks("file_access").value();
  int64_t in_topic = 0;
  for (auto& [p, lohi] : wm) {
    EXPECT_EQ(lohi.first, 0) << "partition " << p << " dropped its oldest events";
    in_topic += lohi.second;
  }
  ASSERT_EQ(in_topic, total);

  ASSERT_TRUE(WaitFor([&] { return StoredTotal(*store) == total; }, 180))
      << "stored " << StoredTotal(*store) << " of " << total << "\n"
      << last->Log();
  std::smatch m;
  std::string out = last->Out();
  ASSERT_TRUE(
      std::regex_search(out, m, std::regex(R"(Metrics: http://([0-9.]+):([0-9]+)/metrics)")));
  httplib::Client http(m[1].str(), std::stoi(m[2].str()));
  auto res = http.Get("/metrics");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="truncated"})"), 1);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="unknown_version"})"), 1);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="bad_json"})"), 1);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="future_timestamp"})"), 1);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="oversized_key"})"), 1);
  EXPECT_EQ(MetricValue(res->body, R"(dim_events_rejected_total{reason="empty_key"})"), 1);
  EXPECT_GT(MetricValue(res->body, "dim_consumer_journal_entries_total"), 0)
      << "the last consumer recorded batches in the journal";
  // Lag is sampled by the poll loop about twice a second: it reaches 0 once everything is stored.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto r = http.Get("/metrics");
        return r && r->status == 200 && MetricValue(r->body, "dim_consumer_lag_events") == 0;
      },
      30));
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health && health->status == 200);
  last->Signal(SIGTERM);
  EXPECT_EQ(last->Wait(60), 0) << last->Log();
  EXPECT_NE(last->Log().find("stopped cleanly"), std::string::npos) << last->Log();

  // Every object's counters, windows and hourly history, exactly.
  int64_t mismatched = 0, checked = 0;
  for (const auto& [key, x] : expected) {
    auto s = store->GetAccessStats(key).value();
    ASSERT_TRUE(s.has_value()) << key;
    bool same = s->reads == x.reads && s->writes == x.writes && s->bytes_read == x.bytes_read &&
                s->bytes_written == x.bytes_written && s->last_access_ms == x.last_ms &&
                s->access_24h == x.reads + x.writes && s->access_7d == x.reads + x.writes;
    if (!same && ++mismatched <= 5) {
      ADD_FAILURE() << key << ": stored reads " << s->reads << " writes " << s->writes << " 24h "
                    << s->access_24h << "; produced reads " << x.reads << " writes " << x.writes;
    }
    ++checked;
  }
  EXPECT_EQ(mismatched, 0) << "of " << checked << " objects";
  EXPECT_EQ(store->ListActiveKeys(0, kKeys * 2)->size(), expected.size()) << "no invented keys";
  auto rows = store->ListHourly("", 0, INT64_MAX).value();
  EXPECT_EQ(rows.size(), hourly.size());
  int64_t hourly_mismatch = 0;
  for (const auto& h : rows) {
    auto it = hourly.find({h.key, h.hour});
    if (it == hourly.end() || it->second[0] != h.reads || it->second[1] != h.writes ||
        it->second[2] != h.bytes) {
      ++hourly_mismatch;
    }
  }
  EXPECT_EQ(hourly_mismatch, 0);
  store.reset();
  std::filesystem::remove_all(dir);
}

// Configuration mistakes stop `dim consumer` at once with exit 2 and say what to fix.
TEST(ConsumerCrashTest, ConfigurationMistakesAreClearErrors) {
  const std::string dir = testing::MakeTempDir("consumer-config");
  auto r = testing::RunDim({"consumer", "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("set bus.backend = \"kafka\""), std::string::npos) << r.err;
  const std::string cfg = dir + "/bad.toml";
  {
    std::ofstream f(cfg);
    f << "[bus]\nbackend = \"kafka\"\nbrokers = \"127.0.0.1:1\"\nkafka_properties = \"linger.ms\"\n"
      << "[stream]\nmetrics_listen = \"no-port\"\n";
  }
  r = testing::RunDim({"consumer", "--config", cfg});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kafka property 'linger.ms' is not key=value"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stream.metrics_listen"), std::string::npos) << r.err;
  {
    std::ofstream f(cfg);
    f << "[bus]\nbackend = \"kafka\"\nbrokers = \"127.0.0.1:1\"\n"
      << "kafka_properties = \"no.such.property=1\"\n";
  }
  r = testing::RunDim({"consumer", "--config", cfg, "--data-dir", dir});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no.such.property"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

// The scale-out wiring as a user runs it: `dim serve` with bus.backend = "kafka" publishes what
// POST /events receives to the topic; its own consumer and a `dim consumer` process share the
// group and the SQLite file; every event is counted once; both stop cleanly on SIGTERM.
TEST(ConsumerCrashTest, ServePublishesToKafkaAndTheGroupCountsEveryEventOnce) {
  auto cluster = KafkaMockCluster::Make(3).value();
  ASSERT_TRUE(cluster->CreateTopic("file_access", 12).ok());
  const std::string dir = testing::MakeTempDir("serve-kafka");
  const std::string cfg = dir + "/roles.toml";
  {
    std::ofstream f(cfg);
    f << "[bus]\nbackend = \"kafka\"\nbrokers = \"" << cluster->bootstrap_servers() << "\"\n"
      << "group = \"fleet\"\n"
      << "kafka_properties = \"session.timeout.ms=3000;heartbeat.interval.ms=300\"\n"
      << "[stream]\nflush_interval_ms = 200\n";
  }
  testing::DimChild consumer({"consumer", "--config", cfg, "--data-dir", dir + "/data"},
                             dir + "/consumer");
  ASSERT_TRUE(consumer.WaitForOutput("consumer is running", 60)) << consumer.Log();
  testing::DimProcess serve("serve", dir + "/data", {"--config", cfg});
  ASSERT_TRUE(serve.ok()) << serve.Log();

  httplib::Client api(serve.host(), serve.port());
  httplib::Headers auth = {{"Authorization", "Bearer " + serve.token()}};
  std::map<std::string, int64_t> reads;
  const int64_t now_s = RealClock::Instance().NowMs() / 1000;
  for (int batch = 0; batch < 5; ++batch) {
    std::string body = "[";
    for (int i = 0; i < 400; ++i) {
      std::string key = "demo/k" + std::to_string((batch * 400 + i) % 97);
      reads[key]++;
      body += (i ? "," : "") + std::string("{\"key\":\"") + key +
              "\",\"ts\":" + std::to_string(now_s - i % 600) + ",\"action\":\"read\"}";
    }
    body += "]";
    auto res = api.Post("/events", auth, body, "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
  }
  auto store = SqliteMetadataStore::Open(dir + "/data/dim.db").value();
  auto counted = [&] {
    for (const auto& [key, n] : reads) {
      auto s = store->GetAccessStats(key);
      if (!s.ok() || !s->has_value() || (*s)->reads != n) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitFor(counted, 120)) << consumer.Log() << serve.Log();
  EXPECT_EQ(StoredTotalOf(*store, "kafka:file_access:fleet"), 2000);
  consumer.Signal(SIGTERM);
  EXPECT_EQ(consumer.Wait(60), 0) << consumer.Log();
  EXPECT_EQ(serve.Terminate(60), 0) << serve.Log();
  EXPECT_TRUE(counted()) << "counts changed after the stop";
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dim
