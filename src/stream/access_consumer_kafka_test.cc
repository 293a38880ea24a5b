// The consumer on Kafka (librdkafka's mock cluster): two consumers of one group share the
// partitions, one leaves mid-stream, and the stored counts equal what was produced, exactly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "bus/kafka_event_bus.h"
#include "bus/kafka_mock_cluster.h"
#include "store/sqlite/sqlite_metadata_store.h"
#include "stream/access_consumer.h"

namespace dim {
namespace {

constexpr int kPartitions = 8;
constexpr int kKeys = 300;

KafkaBusOptions BusOptions(const std::string& brokers, bool produce) {
  KafkaBusOptions o;
  o.brokers = brokers;
  o.group = "dim-test";
  o.produce = produce;
  o.consume = !produce;
  o.properties = {{"session.timeout.ms", "3000"}, {"heartbeat.interval.ms", "300"}};
  return o;
}

struct Member {  // in destruction order: consumer, bus, store, metrics
  MetricsRegistry metrics;
  std::unique_ptr<SqliteMetadataStore> store;  // its own connection to the shared file
  std::unique_ptr<KafkaEventBus> bus;
  std::unique_ptr<AccessConsumer> consumer;
  void Leave() {
    consumer->Stop();  // flushes what it holds
    bus->Close();      // leaves the group (the revocation finds nothing left to write)
  }
};

std::unique_ptr<Member> Join(const std::string& db, const std::string& brokers) {
  auto m = std::make_unique<Member>();
  m->store = SqliteMetadataStore::Open(db).value();
  auto bus = KafkaEventBus::Make(BusOptions(brokers, false), &m->metrics);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  m->bus = std::move(*bus);
  ConsumerOptions o;
  o.name = "kafka:file_access:dim-test";
  o.flush_interval_ms = 100;
  o.flush_max_events = 2000;
  m->consumer =
      std::make_unique<AccessConsumer>(*m->store, *m->bus, RealClock::Instance(), m->metrics, o);
  EXPECT_TRUE(m->consumer->Init().ok());
  m->consumer->Start();
  return m;
}

template <typename F>
bool WaitFor(F done, int seconds = 90) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

TEST(AccessConsumerKafkaTest, TwoMembersShareTheStreamAndOneLeavesWithoutLossOrDoubleCounting) {
  auto cluster = KafkaMockCluster::Make(3).value();
  ASSERT_TRUE(cluster->CreateTopic("file_access", kPartitions).ok());
  const std::string brokers = cluster->bootstrap_servers();
  auto dir =
      std::filesystem::temp_directory_path() / ("dim-consumer-kafka-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "dim.db").string();
  auto producer = KafkaEventBus::Make(BusOptions(brokers, true)).value();

  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // reads, writes
  std::mt19937_64 rng(7);
  int64_t produced = 0;
  auto produce = [&](int n) {
    const int64_t now = RealClock::Instance().NowMs();
    for (int i = 0; i < n; ++i) {
      AccessEvent e;
      e.key = "demo/obj-" + std::to_string(rng() % kKeys);
      e.ts_ms = now - static_cast<int64_t>(rng() % 600'000);
      e.op = rng() % 4 == 0 ? AccessOp::kPut : AccessOp::kGet;
      e.bytes = 100;
      ASSERT_TRUE(producer->PublishWait(e, 10000));
      auto& x = expected[e.key];
      (e.op == AccessOp::kGet ? x.first : x.second)++;
      ++produced;
    }
    ASSERT_TRUE(producer->FlushProducer(30000).ok());
  };
  auto stored_total = [&](SqliteMetadataStore& s) {
    int64_t sum = 0;
    for (auto& [p, off] : s.GetConsumerOffsets("kafka:file_access:dim-test").value()) sum += off;
    return sum;
  };

  produce(20000);
  auto a = Join(db, brokers);
  ASSERT_TRUE(WaitFor([&] { return a->consumer->events_ingested() > 0; }));
  auto b = Join(db, brokers);
  produce(20000);
  // Both own partitions and have taken events: the group rebalanced mid-stream. The stream
  // goes on until then: a fast `a` can otherwise have counted all 20000 before the group gave
  // b its partitions, and b would resume at their end with nothing to take.
  ASSERT_TRUE(WaitFor([&] {
    if (b->consumer->events_ingested() == 0) produce(200);
    return !b->bus->Assignment().empty() && !a->bus->Assignment().empty() &&
           b->consumer->events_ingested() > 0;
  })) << "b never got a share";
  EXPECT_EQ(a->bus->Assignment().size() + b->bus->Assignment().size(),
            static_cast<size_t>(kPartitions));
  b->Leave();
  produce(10000);
  // a takes b's partitions over and catches up with everything produced.
  ASSERT_TRUE(WaitFor([&] { return stored_total(*a->store) == produced; }))
      << stored_total(*a->store) << " of " << produced;
  EXPECT_EQ(a->bus->Assignment().size(), static_cast<size_t>(kPartitions));
  a->Leave();

  auto check = SqliteMetadataStore::Open(db).value();
  int64_t mismatches = 0, total = 0;
  for (const auto& [key, rw] : expected) {
    auto s = check->GetAccessStats(key).value();
    ASSERT_TRUE(s.has_value()) << key;
    total += s->reads + s->writes;
    if (s->reads != rw.first || s->writes != rw.second) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << key << ": stored " << s->reads << "/" << s->writes << ", produced "
                      << rw.first << "/" << rw.second;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(total, produced);
  auto hourly = check->ListHourly("", 0, INT64_MAX).value();
  int64_t hourly_total = 0;
  for (const auto& h : hourly) hourly_total += h.reads + h.writes;
  EXPECT_EQ(hourly_total, produced) << "the hourly history is exact too";
  auto rebalanced = [](Member& m, const char* kind) {
    return m.metrics.AddCounter("dim_consumer_rebalances_total", "", {"kind"})
        .Labels({kind})
        .Value();
  };
  EXPECT_GE(rebalanced(*a, "revoked"), 1) << "a gave partitions up when b joined";
  EXPECT_GE(rebalanced(*b, "revoked"), 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dim
