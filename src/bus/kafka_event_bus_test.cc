// KafkaEventBus against librdkafka's mock cluster (real brokers on loopback, in this process).
#include "bus/kafka_event_bus.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "bus/kafka_mock_cluster.h"
#include "core/clock.h"

namespace dim {
namespace {

constexpr int64_t kTs = 1'700'000'000'000;

KafkaBusOptions Options(const std::string& brokers, const std::string& topic,
                        const std::string& group = "g") {
  KafkaBusOptions o;
  o.brokers = brokers;
  o.topic = topic;
  o.group = group;
  // The mock cluster's group protocol is slow with the defaults (see TOOLCHAIN.md).
  o.properties = {{"session.timeout.ms", "3000"},
                  {"heartbeat.interval.ms", "300"},
                  {"topic.metadata.refresh.interval.ms", "1000"}};
  return o;
}

AccessEvent Ev(const std::string& key, int64_t i) {
  AccessEvent e;
  e.key = key;
  e.ts_ms = kTs + i;
  e.op = i % 3 == 0 ? AccessOp::kPut : AccessOp::kGet;
  e.bytes = i;
  e.id = "r" + std::to_string(i);
  return e;
}

class RecordingListener : public PartitionListener {
 public:
  void OnPartitionsRevoked(const std::vector<int32_t>& parts) override {
    std::lock_guard<std::mutex> lock(mu);
    revoked.insert(revoked.end(), parts.begin(), parts.end());
    ++revocations;
  }
  Result<std::map<int32_t, int64_t>> OnPartitionsAssigned(
      const std::vector<int32_t>& parts) override {
    std::lock_guard<std::mutex> lock(mu);
    assigned.insert(assigned.end(), parts.begin(), parts.end());
    ++assignments;
    if (fail_next) {
      fail_next = false;
      return Status::Unavailable("store down");
    }
    std::map<int32_t, int64_t> out;
    for (int32_t p : parts) {
      if (auto it = start.find(p); it != start.end()) out[p] = it->second;
    }
    return out;
  }
  std::mutex mu;
  std::vector<int32_t> revoked, assigned;
  int revocations = 0, assignments = 0;
  std::map<int32_t, int64_t> start;
  bool fail_next = false;
};

// Polls until `want` messages arrived or the deadline passed.
std::vector<BusMessage> PollN(EventBus& bus, size_t want, int seconds = 60) {
  std::vector<BusMessage> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto b = bus.Poll(10000, 200);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) break;
    for (auto& m : *b) got.push_back(std::move(m));
  }
  return got;
}

class KafkaBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = KafkaMockCluster::Make(3);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->CreateTopic("file_access", 4).ok());
  }
  std::unique_ptr<KafkaEventBus> MakeBus(KafkaBusOptions o, MetricsRegistry* metrics = nullptr) {
    auto b = KafkaEventBus::Make(o, metrics);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(*b) : nullptr;
  }
  std::unique_ptr<KafkaMockCluster> cluster_;
};

TEST_F(KafkaBusTest, PublishedEventsArriveKeyedAndInOrderPerPartition) {
  auto producer_opts = Options(cluster_->bootstrap_servers(), "file_access");
  producer_opts.consume = false;
  auto producer = MakeBus(producer_opts);
  auto consumer_opts = Options(cluster_->bootstrap_servers(), "file_access");
  consumer_opts.produce = false;
  RecordingListener listener;
  auto consumer = MakeBus(consumer_opts);
  ASSERT_TRUE(producer && consumer);
  consumer->SetPartitionListener(&listener);

  const int kN = 2000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(producer->Publish(Ev("demo/k" + std::to_string(i % 50), i)));
  }
  ASSERT_TRUE(producer->FlushProducer(30000).ok());
  EXPECT_EQ(producer->GetStats().published, kN);
  auto wm = cluster_->Watermarks("file_access").value();
  int64_t total = 0;
  for (auto& [p, lohi] : wm) total += lohi.second - lohi.first;
  EXPECT_EQ(total, kN);

  auto got = PollN(*consumer, kN);
  ASSERT_EQ(got.size(), static_cast<size_t>(kN));
  std::map<std::string, int32_t> partition_of;
  std::map<int32_t, int64_t> last_offset;
  std::map<std::string, int64_t> last_ts;
  for (const auto& m : got) {
    EXPECT_TRUE(m.rejected.empty());
    auto [it, fresh] = partition_of.emplace(m.event.key, m.partition);
    EXPECT_EQ(it->second, m.partition) << "a key is on one partition";
    if (last_offset.count(m.partition)) {
      EXPECT_EQ(m.offset, last_offset[m.partition] + 1);
    }
    last_offset[m.partition] = m.offset;
    // Per key, the order of publication is kept (idempotent producer, one partition per key).
    if (last_ts.count(m.event.key)) {
      EXPECT_GT(m.event.ts_ms, last_ts[m.event.key]);
    }
    last_ts[m.event.key] = m.event.ts_ms;
    int64_t i = m.event.ts_ms - kTs;
    EXPECT_EQ(m.event.bytes, i);
    EXPECT_EQ(m.event.id, "r" + std::to_string(i));
  }
  std::set<int32_t> used;
  for (auto& [k, p] : partition_of) used.insert(p);
  EXPECT_GT(used.size(), 1u) << "keys spread over partitions";
  {
    std::lock_guard<std::mutex> lock(listener.mu);
    EXPECT_EQ(listener.assigned.size(), 4u);
  }
  consumer->Close();
  std::lock_guard<std::mutex> lock(listener.mu);
  EXPECT_EQ(listener.revoked.size(), 4u) << "leaving the group revokes through the listener";
}

TEST_F(KafkaBusTest, UndecodableRecordsAreReturnedAsRejectedWithTheirOffsets) {
  // Foreign producers: raw librdkafka writing JSON (the seed's form) and garbage.
  std::string err;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", cluster_->bootstrap_servers(), err);
  std::unique_ptr<RdKafka::Producer> raw(RdKafka::Producer::create(conf.get(), err));
  ASSERT_TRUE(raw) << err;
  auto send = [&](const std::string& key, const std::string& value) {
    ASSERT_EQ(raw->produce("file_access", 0, RdKafka::Producer::RK_MSG_COPY,
                           const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0,
                           nullptr),
              RdKafka::ERR_NO_ERROR);
  };
  send("demo/seed", R"({"key":"demo/seed","ts":1700000000.5,"action":"write"})");
  send("demo/x", std::string("\x01\x00", 2));             // truncated
  send("demo/x", std::string("\x07\x00\x01", 3));         // unknown version
  send("demo/x", R"({"key":"demo/x","ts":)");             // broken JSON
  send("demo/nokey", R"({"ts":1700000000,"op":"get"})");  // key from the record key
  send("", std::string());                                // empty record
  ASSERT_EQ(raw->flush(10000), RdKafka::ERR_NO_ERROR);

  auto o = Options(cluster_->bootstrap_servers(), "file_access");
  o.produce = false;
  auto consumer = MakeBus(o);
  auto got = PollN(*consumer, 6);
  ASSERT_EQ(got.size(), 6u);
  EXPECT_TRUE(got[0].rejected.empty());
  EXPECT_EQ(got[0].event.key, "demo/seed");
  EXPECT_EQ(got[0].event.op, AccessOp::kPut);
  EXPECT_EQ(got[0].event.ts_ms, 1'700'000'000'500);
  EXPECT_EQ(got[1].rejected, reject_reason::kTruncated);
  EXPECT_EQ(got[2].rejected, reject_reason::kUnknownVersion);
  EXPECT_EQ(got[3].rejected, reject_reason::kBadJson);
  EXPECT_TRUE(got[4].rejected.empty());
  EXPECT_EQ(got[4].event.key, "demo/nokey");
  EXPECT_EQ(got[5].rejected, reject_reason::kTruncated);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i].offset, i);
}

TEST_F(KafkaBusTest, ListenerChoosesWhereEachPartitionResumes) {
  RecordingListener listener;  // outlives the bus, which calls it when it closes
  auto o = Options(cluster_->bootstrap_servers(), "file_access");
  auto bus = MakeBus(o);
  // 40 events to one partition: the same key.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(bus->Publish(Ev("demo/one-key", i)));
  ASSERT_TRUE(bus->FlushProducer(10000).ok());
  listener.fail_next = true;  // the first assignment fails: the bus rejoins and asks again
  for (int p = 0; p < 4; ++p) listener.start[p] = 25;
  bus->SetPartitionListener(&listener);
  auto got = PollN(*bus, 15);
  ASSERT_EQ(got.size(), 15u);
  EXPECT_EQ(got.front().offset, 25);
  EXPECT_EQ(got.back().offset, 39);
  EXPECT_EQ(got.front().event.ts_ms, kTs + 25);
  std::lock_guard<std::mutex> lock(listener.mu);
  EXPECT_GE(listener.assignments, 2);
}

TEST_F(KafkaBusTest, SeekRestartsAnAssignedPartition) {
  auto bus = MakeBus(Options(cluster_->bootstrap_servers(), "file_access"));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bus->Publish(Ev("demo/one-key", i)));
  ASSERT_TRUE(bus->FlushProducer(10000).ok());
  auto got = PollN(*bus, 10);
  ASSERT_EQ(got.size(), 10u);
  int32_t p = got[0].partition;
  ASSERT_TRUE(bus->Seek({{p, 4}}).ok());
  auto again = PollN(*bus, 6);
  ASSERT_EQ(again.size(), 6u);
  EXPECT_EQ(again.front().offset, 4);
  EXPECT_EQ(again.back().offset, 9);
}

TEST_F(KafkaBusTest, ASecondMemberTakesHalfThePartitionsAfterARevocation) {
  RecordingListener la, lb;
  auto o = Options(cluster_->bootstrap_servers(), "file_access", "pair");
  auto a = MakeBus(o);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a->Publish(Ev("demo/k" + std::to_string(i), i)));
  ASSERT_TRUE(a->FlushProducer(10000).ok());
  // Both members resume every partition at its end (as a store would say after counting all).
  for (auto& [p, lohi] : cluster_->Watermarks("file_access").value()) {
    la.start[p] = lohi.second;
    lb.start[p] = lohi.second;
  }
  a->SetPartitionListener(&la);
  // Alone in the group, a gets all four partitions.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && a->Assignment().size() < 4u) {
    ASSERT_TRUE(a->Poll(1000, 100).ok());
  }
  EXPECT_EQ(a->Assignment().size(), 4u);

  o.produce = false;
  auto b = MakeBus(o);
  b->SetPartitionListener(&lb);
  // Both poll (a group rebalance needs every member to take part) until b owns partitions.
  std::atomic<bool> stop{false};
  std::thread tb([&] {
    while (!stop) (void)b->Poll(1000, 100);
  });
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         (b->Assignment().empty() || a->Assignment().size() == 4u)) {
    auto r = a->Poll(1000, 100);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty()) << "every partition resumes at its end";
  }
  stop = true;
  tb.join();
  auto pa = a->Assignment(), pb = b->Assignment();
  EXPECT_EQ(pa.size() + pb.size(), 4u);
  std::set<int32_t> all(pa.begin(), pa.end());
  all.insert(pb.begin(), pb.end());
  EXPECT_EQ(all.size(), 4u) << "disjoint and complete";
  std::lock_guard<std::mutex> lock(la.mu);
  EXPECT_GE(la.revocations, 1) << "a heard the revocation before giving partitions up";
}

TEST_F(KafkaBusTest, BadConfigurationIsAClearError) {
  auto o = Options(cluster_->bootstrap_servers(), "file_access");
  o.properties["no.such.property"] = "1";
  auto b = KafkaEventBus::Make(o);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.status().IsInvalidArgument());
  EXPECT_NE(b.status().message().find("no.such.property"), std::string::npos);
  o = Options("", "file_access");
  EXPECT_TRUE(KafkaEventBus::Make(o).status().IsInvalidArgument());
  o = Options(cluster_->bootstrap_servers(), "file_access");
  o.properties = {{"security.protocol", "pigeon"}};
  EXPECT_TRUE(KafkaEventBus::Make(o).status().IsInvalidArgument());
}

TEST_F(KafkaBusTest, PublishAfterCloseIsDroppedAndCounted) {
  auto o = Options(cluster_->bootstrap_servers(), "file_access");
  o.consume = false;
  auto bus = MakeBus(o);
  ASSERT_TRUE(bus->Publish(Ev("demo/a", 1)));
  bus->Close();
  EXPECT_FALSE(bus->Publish(Ev("demo/a", 2)));
  EXPECT_FALSE(bus->PublishWait(Ev("demo/a", 3), 10));
  auto st = bus->GetStats();
  EXPECT_EQ(st.published, 1);  // Close delivered it
  EXPECT_EQ(st.dropped, 2);
  EXPECT_FALSE(bus->Poll(10, 0).ok()) << "a producer-only bus cannot poll";
}

}  // namespace
}  // namespace dim
