// `dim consumer`: the stream consumer as a process of its own (the scale-out role). It joins the
// Kafka consumer group of bus.group on bus.topic and writes windows, heat and hourly history to
// the configured store, exactly once (see stream/access_consumer.h); run as many as there are
// partitions to share. Prints a progress line (rate, lag) every 10 s; serves /metrics and
// /healthz on stream.metrics_listen when set. SIGTERM/SIGINT: flush, record the offsets, leave
// the group, exit 0.
// `dim kafka-mock`: librdkafka's mock Kafka cluster for trying the roles without a Kafka
// (in memory, lost when it stops); prints its bootstrap servers.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace dim {

class ConsumerCommand {
 public:
  explicit ConsumerCommand(CLI::App& app);
  bool parsed() const;
  int Run();

 private:
  CLI::App* cmd_;
  std::string config_, data_dir_, log_level_, metrics_listen_;
};

class KafkaMockCommand {
 public:
  explicit KafkaMockCommand(CLI::App& app);
  bool parsed() const;
  int Run();

 private:
  CLI::App* cmd_;
  int brokers_ = 3;
  int partitions_ = 16;
  std::string topic_ = "file_access";
};

}  // namespace dim
