// A Kafka cluster for tests, benchmarks and `dim kafka-mock`: librdkafka's own mock cluster
// (rdkafka_mock.h), real brokers speaking the Kafka protocol on 127.0.0.1 ports, running on
// threads of this process. Any client in any process can use bootstrap_servers(). Each
// partition keeps a capped log (about 5 MB or 100,000 batches; older batches are silently
// dropped), so tests check LogStartOffsets() before trusting a count. Not durable.
// Thread-safe: librdkafka serialises calls into the cluster.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/status.h"

namespace dim {

class KafkaMockCluster {
 public:
  static Result<std::unique_ptr<KafkaMockCluster>> Make(int brokers);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  const std::string& bootstrap_servers() const { return bootstraps_; }
  // replication is capped at the number of brokers.
  Status CreateTopic(const std::string& topic, int partitions, int replication = 3);
  // Per partition: the first offset still held and the next offset to be written.
  Result<std::map<int32_t, std::pair<int64_t, int64_t>>> Watermarks(const std::string& topic,
                                                                    int timeout_ms = 10000);

  struct Handles;

 private:
  KafkaMockCluster() = default;
  std::unique_ptr<Handles> h_;
  std::string bootstraps_;
  int brokers_ = 0;
};

}  // namespace dim
