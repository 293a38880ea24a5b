#include "bus/kafka_event_bus.h"

#include <librdkafka/rdkafkacpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "core/clock.h"

namespace dim {
namespace {

// Logs at most one line per `interval` for a recurring problem, with the number suppressed.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(int64_t interval_us = 5'000'000) : interval_us_(interval_us) {}
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) {
    int64_t now = MonotonicMicros();
    std::lock_guard<std::mutex> lock(mu_);
    if (now - last_us_ < interval_us_) {
      ++suppressed_;
      return;
    }
    std::string msg = fmt::format(f, std::forward<Args>(args)...);
    if (suppressed_ > 0) msg += fmt::format(" ({} similar suppressed)", suppressed_);
    spdlog::warn("kafka: {}", msg);
    last_us_ = now;
    suppressed_ = 0;
  }

 private:
  const int64_t interval_us_;
  std::mutex mu_;
  int64_t last_us_ = INT64_MIN / 2;
  int64_t suppressed_ = 0;
};

Status SetProp(RdKafka::Conf& conf, const std::string& k, const std::string& v) {
  std::string err;
  if (conf.set(k, v, err) != RdKafka::Conf::CONF_OK) {
    return Status::InvalidArgument("kafka property " + k + ": " + err);
  }
  return Status::OK();
}

std::vector<int32_t> PartitionIds(const std::vector<RdKafka::TopicPartition*>& parts,
                                  const std::string& topic) {
  std::vector<int32_t> ids;
  for (auto* p : parts) {
    if (p->topic() == topic) ids.push_back(p->partition());
  }
  return ids;
}

struct TopicPartitions {
  std::vector<RdKafka::TopicPartition*> v;
  ~TopicPartitions() { RdKafka::TopicPartition::destroy(v); }
};

}  // namespace

Result<KafkaBusOptions> KafkaBusOptions::FromConfig(const Config& c) {
  KafkaBusOptions o;
  o.brokers = c.bus.brokers;
  o.topic = c.bus.topic;
  o.group = c.bus.group;
  auto props = ParseKafkaProperties(c.bus.kafka_properties);
  if (!props.ok()) return props.status().WithContext("bus.kafka_properties");
  o.properties = std::move(*props);
  return o;
}

struct KafkaEventBus::Impl : public RdKafka::RebalanceCb,
                             public RdKafka::DeliveryReportCb,
                             public RdKafka::EventCb {
  KafkaBusOptions opts;
  std::unique_ptr<RdKafka::Producer> producer;
  std::unique_ptr<RdKafka::Topic> producer_topic;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::thread producer_poller;
  std::atomic<bool> closed{false};
  std::atomic<bool> stop_poller{false};
  std::atomic<int64_t> published{0}, dropped{0};
  std::atomic<PartitionListener*> listener{nullptr};

  // Only touched on the polling thread (Poll, and the rebalance callback inside it).
  std::vector<BusMessage>* building = nullptr;
  std::set<int32_t> blocked;  // assigned but without a start offset: paused, messages dropped
  bool resubscribe = false;
  int64_t resubscribe_at_us = 0;

  mutable std::mutex assigned_mu;
  std::set<int32_t> assigned;

  std::mutex close_mu;
  RateLimitedLog error_log, reject_log;
  Family<Counter>* errors = nullptr;

  void CountError(const std::string& kind) {
    if (errors) errors->Labels({kind}).Inc();
  }

  // ---- librdkafka callbacks --------------------------------------------------------------------
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      dropped.fetch_add(1, std::memory_order_relaxed);
      published.fetch_sub(1, std::memory_order_relaxed);
      CountError("delivery");
      error_log.Warn("delivery of an event to {} failed: {}", opts.topic, m.errstr());
    }
  }

  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        CountError(e.fatal() ? "fatal" : "client");
        error_log.Warn("{}{}", e.fatal() ? "FATAL: " : "", e.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) {
          error_log.Warn("{}: {}", e.fac(), e.str());
        } else if (e.severity() == RdKafka::Event::EVENT_SEVERITY_WARNING &&
                   e.fac() != "CONFWARN" &&    // user properties go to both handles: expected
                   e.fac() != "COMMITFAIL") {  // during rebalances; the store holds the offsets
          spdlog::warn("kafka: {}: {}", e.fac(), e.str());
        } else {  // notice, info and librdkafka's own debug contexts ("debug" property)
          spdlog::debug("kafka: {}: {}", e.fac(), e.str());
        }
        break;
      default:
        break;
    }
  }

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    const bool coop = c->rebalance_protocol() == "COOPERATIVE";
    std::vector<int32_t> ids = PartitionIds(parts, opts.topic);
    PartitionListener* l = listener.load();
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (l) {
        auto offsets = l->OnPartitionsAssigned(ids);
        if (!offsets.ok()) {
          // The group waits for an assign() call: take the partitions but keep them paused and
          // drop anything fetched from them, then leave and rejoin to be asked again.
          spdlog::error("kafka: not consuming assigned partitions of {}: {}; rejoining the group",
                        opts.topic, offsets.status().ToString());
          CountError("assign");
          if (coop) {
            if (RdKafka::Error* e = c->incremental_assign(parts)) delete e;
          } else {
            c->assign(parts);
          }
          c->pause(parts);
          blocked.insert(ids.begin(), ids.end());
          resubscribe = true;
          resubscribe_at_us = MonotonicMicros() + 2'000'000;
          return;
        }
        for (auto* p : parts) {
          auto it = offsets->find(p->partition());
          p->set_offset(it != offsets->end() && it->second >= 0 ? it->second
                                                                : RdKafka::Topic::OFFSET_BEGINNING);
        }
      }
      if (coop) {
        if (RdKafka::Error* e = c->incremental_assign(parts)) {
          spdlog::error("kafka: incremental assign: {}", e->str());
          delete e;
        }
      } else {
        c->assign(parts);
      }
      c->resume(parts);  // paused by an earlier failed assignment, perhaps
      if (!coop) blocked.clear();
      std::lock_guard<std::mutex> lock(assigned_mu);
      if (!coop) assigned.clear();
      assigned.insert(ids.begin(), ids.end());
      spdlog::info("kafka: assigned {} partition(s) of {}", ids.size(), opts.topic);
      return;
    }
    // Revocation (or a rebalance error, after which everything is given up).
    if (err != RdKafka::ERR__REVOKE_PARTITIONS) {
      spdlog::warn("kafka: rebalance error {}; giving up the assignment", RdKafka::err2str(err));
      CountError("rebalance");
      std::lock_guard<std::mutex> lock(assigned_mu);
      ids.assign(assigned.begin(), assigned.end());
    }
    DropBuilding(ids);
    for (int32_t p : ids) blocked.erase(p);
    if (l) l->OnPartitionsRevoked(ids);
    if (coop && err == RdKafka::ERR__REVOKE_PARTITIONS) {
      if (RdKafka::Error* e = c->incremental_unassign(parts)) {
        spdlog::error("kafka: incremental unassign: {}", e->str());
        delete e;
      }
    } else {
      c->unassign();
    }
    std::lock_guard<std::mutex> lock(assigned_mu);
    for (int32_t p : ids) assigned.erase(p);
    spdlog::info("kafka: revoked {} partition(s) of {}", ids.size(), opts.topic);
  }

  // Messages of revoked partitions that Poll collected but not returned are forgotten: whoever
  // owns the partition next reads them again from the stored offsets.
  void DropBuilding(const std::vector<int32_t>& ids) {
    if (!building) return;
    std::set<int32_t> gone(ids.begin(), ids.end());
    std::erase_if(*building, [&](const BusMessage& m) { return gone.count(m.partition) > 0; });
  }

  void Produced() { published.fetch_add(1, std::memory_order_relaxed); }

  // One attempt. QUEUE_FULL is reported as such so PublishWait can retry.
  RdKafka::ErrorCode Produce(const AccessEvent& e) {
    thread_local std::string buf;
    buf.clear();
    if (opts.encoding == EventEncoding::kJson)
      buf = EncodeEventJson(e);
    else
      EncodeEventBinary(e, buf);
    return producer->produce(producer_topic.get(), RdKafka::Topic::PARTITION_UA,
                             RdKafka::Producer::RK_MSG_COPY, buf.data(), buf.size(), e.key.data(),
                             e.key.size(), nullptr);
  }
};

KafkaEventBus::KafkaEventBus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaEventBus::~KafkaEventBus() { Close(); }

Result<std::unique_ptr<KafkaEventBus>> KafkaEventBus::Make(const KafkaBusOptions& o,
                                                           MetricsRegistry* metrics) {
  if (o.brokers.empty())
    return Status::InvalidArgument("kafka: no bootstrap servers (bus.brokers)");
  if (o.topic.empty()) return Status::InvalidArgument("kafka: empty topic");
  auto impl = std::make_unique<Impl>();
  impl->opts = o;
  if (metrics) {
    impl->errors = &metrics->AddCounter("dim_kafka_errors_total",
                                        "Kafka client errors, by kind (delivery, client, fatal, "
                                        "rebalance, assign, consume)",
                                        {"kind"});
  }
  Impl* raw = impl.get();
  auto common = [&](RdKafka::Conf& conf) -> Status {
    DIM_RETURN_IF_ERROR(SetProp(conf, "bootstrap.servers", o.brokers));
    DIM_RETURN_IF_ERROR(SetProp(conf, "client.id", o.client_id));
    std::string err;
    if (conf.set("event_cb", static_cast<RdKafka::EventCb*>(raw), err) != RdKafka::Conf::CONF_OK) {
      return Status::Internal("kafka: event_cb: " + err);
    }
    return Status::OK();
  };
  // User properties go to both handles; librdkafka ignores (with a debug log) a consumer-only
  // property on the producer and vice versa.
  auto user = [&](RdKafka::Conf& conf) -> Status {
    for (const auto& [k, v] : o.properties) DIM_RETURN_IF_ERROR(SetProp(conf, k, v));
    return Status::OK();
  };
  std::string err;
  if (o.produce) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    DIM_RETURN_IF_ERROR(common(*conf));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "enable.idempotence", "true"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "acks", "all"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "partitioner", "murmur2_random"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "compression.codec", "lz4"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "linger.ms", "5"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "queue.buffering.max.messages",
                                std::to_string(o.producer_queue_max_messages)));
    if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(raw), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::Internal("kafka: dr_cb: " + err);
    }
    DIM_RETURN_IF_ERROR(user(*conf));
    impl->producer.reset(RdKafka::Producer::create(conf.get(), err));
    if (!impl->producer) return Status::InvalidArgument("kafka producer: " + err);
    impl->producer_topic.reset(RdKafka::Topic::create(impl->producer.get(), o.topic, nullptr, err));
    if (!impl->producer_topic)
      return Status::InvalidArgument("kafka topic " + o.topic + ": " + err);
    impl->producer_poller = std::thread([raw] {
      while (!raw->stop_poller.load()) raw->producer->poll(100);
    });
  }
  if (o.consume) {
    if (o.group.empty()) return Status::InvalidArgument("kafka: empty consumer group");
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    DIM_RETURN_IF_ERROR(common(*conf));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "group.id", o.group));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "enable.auto.commit", "false"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "enable.auto.offset.store", "false"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "auto.offset.reset", "earliest"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "enable.partition.eof", "false"));
    DIM_RETURN_IF_ERROR(SetProp(*conf, "partition.assignment.strategy", "range,roundrobin"));
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(raw), err) !=
        RdKafka::Conf::CONF_OK) {
      return Status::Internal("kafka: rebalance_cb: " + err);
    }
    DIM_RETURN_IF_ERROR(user(*conf));
    impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!impl->consumer) return Status::InvalidArgument("kafka consumer: " + err);
    RdKafka::ErrorCode rc = impl->consumer->subscribe({o.topic});
    if (rc != RdKafka::ERR_NO_ERROR) {
      return Status::InvalidArgument("kafka: subscribe to " + o.topic + ": " +
                                     RdKafka::err2str(rc));
    }
  }
  return std::unique_ptr<KafkaEventBus>(new KafkaEventBus(std::move(impl)));
}

bool KafkaEventBus::Publish(AccessEvent event) {
  Impl& m = *impl_;
  if (!m.producer || m.closed.load()) {
    m.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  RdKafka::ErrorCode rc = m.Produce(event);
  if (rc != RdKafka::ERR_NO_ERROR) {
    m.dropped.fetch_add(1, std::memory_order_relaxed);
    if (rc != RdKafka::ERR__QUEUE_FULL) m.error_log.Warn("produce: {}", RdKafka::err2str(rc));
    return false;
  }
  m.Produced();
  return true;
}

bool KafkaEventBus::PublishWait(AccessEvent event, int timeout_ms) {
  Impl& m = *impl_;
  const int64_t deadline = MonotonicMicros() + int64_t{timeout_ms} * 1000;
  while (m.producer && !m.closed.load()) {
    RdKafka::ErrorCode rc = m.Produce(event);
    if (rc == RdKafka::ERR_NO_ERROR) {
      m.Produced();
      return true;
    }
    if (rc != RdKafka::ERR__QUEUE_FULL) {
      m.error_log.Warn("produce: {}", RdKafka::err2str(rc));
      break;
    }
    if (MonotonicMicros() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the poller frees room
  }
  m.dropped.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Result<std::vector<BusMessage>> KafkaEventBus::Poll(size_t max, int timeout_ms) {
  Impl& m = *impl_;
  std::vector<BusMessage> out;
  if (!m.consumer) return Status::FailedPrecondition("this Kafka bus does not consume");
  if (m.closed.load()) return out;
  if (m.resubscribe && MonotonicMicros() >= m.resubscribe_at_us) {
    m.resubscribe = false;
    m.consumer->unsubscribe();
    m.consumer->subscribe({m.opts.topic});
  }
  out.reserve(std::min<size_t>(max, 8192));
  m.building = &out;
  const int64_t deadline = MonotonicMicros() + int64_t{std::max(timeout_ms, 0)} * 1000;
  Status failure;
  while (out.size() < max) {
    int wait = 0;
    if (out.empty()) {
      int64_t left_us = deadline - MonotonicMicros();
      if (left_us <= 0 && timeout_ms > 0) break;
      wait = static_cast<int>(std::max<int64_t>(left_us / 1000, 0));
    }
    std::unique_ptr<RdKafka::Message> msg(m.consumer->consume(wait));
    RdKafka::ErrorCode err = msg->err();
    if (err == RdKafka::ERR__TIMED_OUT) {
      if (!out.empty() || wait == 0) break;
      continue;
    }
    if (err == RdKafka::ERR_NO_ERROR) {
      if (!m.blocked.empty() && m.blocked.count(msg->partition())) continue;
      BusMessage& b = out.emplace_back();
      b.partition = msg->partition();
      b.offset = msg->offset();
      std::string_view value(static_cast<const char*>(msg->payload()), msg->len());
      std::string_view key =
          msg->key_pointer()
              ? std::string_view(static_cast<const char*>(msg->key_pointer()), msg->key_len())
              : std::string_view();
      DecodeOutcome d = DecodeEvent(value, key, msg->timestamp().timestamp, &b.event);
      if (!d.ok()) {
        b.rejected = d.reason;
        m.reject_log.Warn("skipping undecodable event at {}[{}]@{}: {} ({})", m.opts.topic,
                          b.partition, b.offset, d.reason, d.detail);
      }
      continue;
    }
    if (err == RdKafka::ERR__PARTITION_EOF) continue;
    m.CountError("consume");
    m.error_log.Warn("consume: {}", msg->errstr());
    if (err == RdKafka::ERR__FATAL) {
      failure = Status::Internal("kafka consumer fatal error: " + msg->errstr());
      break;
    }
    if (wait == 0) break;
  }
  m.building = nullptr;
  if (!failure.ok()) return failure;
  return out;
}

Status KafkaEventBus::Commit(const std::map<int32_t, int64_t>& next_offsets) {
  Impl& m = *impl_;
  if (!m.consumer || m.closed.load()) return Status::OK();
  TopicPartitions tps;
  {
    std::lock_guard<std::mutex> lock(m.assigned_mu);
    for (const auto& [p, off] : next_offsets) {
      if (m.assigned.count(p)) {
        tps.v.push_back(RdKafka::TopicPartition::create(m.opts.topic, p, off));
      }
    }
  }
  if (tps.v.empty()) return Status::OK();
  RdKafka::ErrorCode rc = m.consumer->commitAsync(tps.v);
  if (rc != RdKafka::ERR_NO_ERROR)
    return Status::Unavailable("kafka commit: " + RdKafka::err2str(rc));
  return Status::OK();
}

Status KafkaEventBus::Seek(const std::map<int32_t, int64_t>& next_offsets) {
  Impl& m = *impl_;
  if (!m.consumer || m.closed.load()) return Status::OK();
  std::vector<int32_t> assigned = Assignment();
  Status result;
  for (const auto& [p, next] : next_offsets) {
    if (!std::binary_search(assigned.begin(), assigned.end(), p)) continue;
    int64_t off = next >= 0 ? next : RdKafka::Topic::OFFSET_BEGINNING;
    std::unique_ptr<RdKafka::TopicPartition> tp(
        RdKafka::TopicPartition::create(m.opts.topic, p, off));
    RdKafka::ErrorCode rc = m.consumer->seek(*tp, 5000);
    if (rc != RdKafka::ERR_NO_ERROR && result.ok()) {
      result = Status::Unavailable("kafka seek " + m.opts.topic + "[" + std::to_string(p) +
                                   "]: " + RdKafka::err2str(rc));
    }
  }
  return result;
}

void KafkaEventBus::SetPartitionListener(PartitionListener* listener) {
  impl_->listener.store(listener);
}

std::vector<int32_t> KafkaEventBus::Assignment() const {
  std::lock_guard<std::mutex> lock(impl_->assigned_mu);
  return {impl_->assigned.begin(), impl_->assigned.end()};
}

std::map<int32_t, int64_t> KafkaEventBus::EndOffsets() const {
  std::map<int32_t, int64_t> out;
  if (!impl_->consumer || impl_->closed.load()) return out;
  for (int32_t p : Assignment()) {
    int64_t low = -1, high = -1;
    if (impl_->consumer->get_watermark_offsets(impl_->opts.topic, p, &low, &high) ==
            RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      out[p] = high;
    }
  }
  return out;
}

Status KafkaEventBus::FlushProducer(int timeout_ms) {
  Impl& m = *impl_;
  if (!m.producer) return Status::OK();
  RdKafka::ErrorCode rc = m.producer->flush(timeout_ms);
  if (rc == RdKafka::ERR__TIMED_OUT) {
    return Status::DeadlineExceeded("kafka: " + std::to_string(m.producer->outq_len()) +
                                    " event(s) still undelivered");
  }
  return Status::OK();
}

void KafkaEventBus::Close() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.close_mu);
  if (m.closed.exchange(true)) return;
  if (m.producer) {
    Status s = FlushProducer(10'000);
    if (!s.ok()) spdlog::warn("{}; they are lost", s.ToString());
    m.stop_poller = true;
    if (m.producer_poller.joinable()) m.producer_poller.join();
  }
  if (m.consumer) {
    m.consumer->close();  // leaves the group; the rebalance callback revokes first
  }
}

EventBus::Stats KafkaEventBus::GetStats() const {
  return Stats{impl_->published.load(), impl_->dropped.load(), -1};
}

}  // namespace dim
