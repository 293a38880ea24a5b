// EventBus on Kafka (librdkafka's C++ API). Publish produces to `topic`, keyed by the object key
// (Java-compatible murmur2 partitioning, so other producers put a key on the same partition),
// through an idempotent producer; Poll consumes as a member of consumer group `group` with
// manual commits. Where each partition resumes is decided by the PartitionListener (the stream
// consumer reads it from the metadata store); without a listener, from Kafka's committed
// offsets. Records that do not decode are returned with BusMessage::rejected set, so their
// offsets are still consumed. librdkafka types stay inside kafka_event_bus.cc.
// Thread-safe for concurrent publishers and one polling thread; Close() after polling stopped.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "bus/event_bus.h"
#include "bus/event_codec.h"
#include "core/config.h"
#include "core/metrics.h"

namespace dim {

struct KafkaBusOptions {
  std::string brokers;  // bootstrap servers, "host:port,host:port"
  std::string topic = "file_access";
  std::string group = "dim-consumer";
  std::string client_id = "dim";
  bool produce = true;  // create the producer (Publish)
  bool consume = true;  // join the group (Poll)
  EventEncoding encoding = EventEncoding::kBinary;
  int64_t producer_queue_max_messages = 1'000'000;  // buffered before Publish drops
  // librdkafka properties applied last, e.g. security.protocol, sasl.*, ssl.*, linger.ms,
  // session.timeout.ms. An unknown property or bad value fails Make with InvalidArgument.
  std::map<std::string, std::string> properties;

  // bus.brokers, bus.topic, bus.group and bus.kafka_properties of the configuration.
  // InvalidArgument when bus.kafka_properties is not "k=v;k=v".
  static Result<KafkaBusOptions> FromConfig(const Config& c);
};

class KafkaEventBus final : public EventBus {
 public:
  // metrics may be null. Fails on a configuration librdkafka refuses; does not wait for brokers.
  static Result<std::unique_ptr<KafkaEventBus>> Make(const KafkaBusOptions& options,
                                                     MetricsRegistry* metrics = nullptr);
  ~KafkaEventBus() override;

  bool Publish(AccessEvent event) override;
  bool PublishWait(AccessEvent event, int timeout_ms) override;
  Result<std::vector<BusMessage>> Poll(size_t max, int timeout_ms) override;
  // Commits to the group coordinator asynchronously, for lag tooling; the store is the truth.
  Status Commit(const std::map<int32_t, int64_t>& next_offsets) override;
  // Restarts the given partitions, where currently assigned, at the given offsets (negative: at
  // the beginning); others are left alone.
  Status Seek(const std::map<int32_t, int64_t>& next_offsets) override;
  void SetPartitionListener(PartitionListener* listener) override;
  bool Replayable() const override { return true; }
  // Rejects further publishes, delivers what is queued (up to 10 s), leaves the group (the
  // listener hears the revocation) and stops. Idempotent.
  void Close() override;
  Stats GetStats() const override;
  // The high watermark of each assigned partition as last seen in a fetch response (no broker
  // round trip); partitions not fetched from yet are left out; empty after Close().
  std::map<int32_t, int64_t> EndOffsets() const override;

  // Waits until every message published so far was acknowledged by the brokers (or failed).
  Status FlushProducer(int timeout_ms);
  // Partitions currently assigned to this member.
  std::vector<int32_t> Assignment() const;

  struct Impl;

 private:
  explicit KafkaEventBus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dim
