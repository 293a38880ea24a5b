#include "cli/consumer_command.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "bus/kafka_event_bus.h"
#include "bus/kafka_mock_cluster.h"
#include "cli/role_setup.h"
#include "cli/shutdown_signals.h"
#include "gateway/http_server_defaults.h"
#include "store/sqlite/sqlite_metadata_store.h"
#include "stream/access_consumer.h"

namespace dim {
namespace {

// /metrics and /healthz of a role without the API.
class MetricsListener {
 public:
  ~MetricsListener() { Stop(); }
  Status Start(const std::string& listen, const MetricsRegistry& metrics) {
    DIM_ASSIGN_OR_RETURN(auto hp, ParseHostPort(listen));
    server_ = std::make_unique<httplib::Server>();
    ApplyServerDefaults(*server_);
    server_->Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.RenderText(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"status\":\"ok\"}", "application/json");
    });
    port_ = hp.port == 0 ? server_->bind_to_any_port(hp.host)
                         : (server_->bind_to_port(hp.host, hp.port) ? hp.port : -1);
    if (port_ <= 0) return Status::Unavailable("cannot listen on " + listen + " for /metrics");
    host_ = hp.host;
    return ListenInBackground(*server_, &thread_, "/metrics on " + listen);
  }
  void Stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://" + host_ + ":" + std::to_string(port_); }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
};

// What librdkafka's mock group coordinator needs to hand partitions over promptly.
constexpr const char* kMockProperties = "session.timeout.ms=3000;heartbeat.interval.ms=300";

int Fail(const std::string& what) {
  std::fprintf(stderr, "dim consumer: %s\n", what.c_str());
  return 1;
}

}  // namespace

ConsumerCommand::ConsumerCommand(CLI::App& app) {
  cmd_ = app.add_subcommand(
      "consumer", "Run only the stream consumer (scale-out role): Kafka -> store, exactly once");
  cmd_->add_option("--config", config_, "TOML configuration file")->check(CLI::ExistingFile);
  cmd_->add_option("--data-dir", data_dir_, "Directory of the SQLite store (DATA_DIR/dim.db)");
  cmd_->add_option("--log-level", log_level_, "trace, debug, info, warn, error");
  cmd_->add_option("--metrics-listen", metrics_listen_,
                   "host:port serving /metrics and /healthz (port 0: any free port)");
}

bool ConsumerCommand::parsed() const { return cmd_->parsed(); }

int ConsumerCommand::Run() {
  Config c;
  if (!LoadRoleConfig({config_, data_dir_, log_level_}, Config{}, &c)) return 2;
  if (!metrics_listen_.empty()) c.stream.metrics_listen = metrics_listen_;
  if (auto errors = ValidateConfig(c); !errors.empty()) {
    for (const auto& e : errors) std::fprintf(stderr, "dim consumer: %s\n", e.message.c_str());
    return 2;
  }
  if (c.bus.backend != "kafka") {
    std::fprintf(stderr,
                 "dim consumer: reads access events from Kafka: set bus.backend = \"kafka\" and "
                 "bus.brokers (the embedded `dim serve` runs its own consumer on the in-process "
                 "bus)\n");
    return 2;
  }
  if (c.store.backend != "sqlite") {
    std::fprintf(stderr, "dim consumer: store.backend = \"%s\" is not available in this build\n",
                 c.store.backend.c_str());
    return 2;
  }
  sigset_t stop_signals = BlockShutdownSignals();

  std::error_code ec;
  std::filesystem::create_directories(c.data_dir, ec);
  const std::string db = SqliteStorePath(c);
  auto store = SqliteMetadataStore::Open(c);
  if (!store.ok()) return Fail(store.status().ToString());
  MetricsRegistry metrics;
  auto bus_opts = KafkaBusOptions::FromConfig(c);
  if (!bus_opts.ok()) return Fail(bus_opts.status().ToString());
  bus_opts->produce = false;
  bus_opts->client_id = "dim-consumer";
  auto bus = KafkaEventBus::Make(*bus_opts, &metrics);
  if (!bus.ok()) return Fail(bus.status().ToString());
  const ConsumerOptions co = ConsumerOptions::FromConfig(c);
  AccessConsumer consumer(**store, **bus, RealClock::Instance(), metrics, co);
  if (Status s = consumer.Init(); !s.ok()) return Fail(s.ToString());

  MetricsListener listener;
  if (!c.stream.metrics_listen.empty()) {
    if (Status s = listener.Start(c.stream.metrics_listen, metrics); !s.ok()) {
      return Fail(s.ToString());
    }
  }
  consumer.Start();
  std::printf("\nData-in-Motion consumer is running (group %s, topic %s, brokers %s).\n",
              c.bus.group.c_str(), c.bus.topic.c_str(), c.bus.brokers.c_str());
  std::printf("  Store:   %s\n", std::filesystem::absolute(db).c_str());
  if (!c.stream.metrics_listen.empty())
    std::printf("  Metrics: %s/metrics\n", listener.url().c_str());
  std::printf("  Stop with Ctrl-C or SIGTERM (flushes, records offsets, leaves the group).\n\n");
  std::fflush(stdout);

  int64_t last_events = 0, last_us = MonotonicMicros();
  for (;;) {
    timespec every{10, 0};
    int sig = sigtimedwait(&stop_signals, nullptr, &every);
    if (sig > 0) {
      spdlog::info("received signal {}", sig);
      break;
    }
    const int64_t events = consumer.events_ingested(), now_us = MonotonicMicros();
    const double rate = (events - last_events) * 1e6 / std::max<int64_t>(1, now_us - last_us);
    const int64_t behind = consumer.lag();
    std::string eta = rate > 0 && behind > 0 ? fmt::format("{:.0f} s", behind / rate) : "-";
    spdlog::info(
        "consumer: {} events taken ({:.0f}/s), {} partition(s), lag {} events (catch-up ETA {})",
        events, rate, (*bus)->Assignment().size(), behind, eta);
    last_events = events;
    last_us = now_us;
  }
  consumer.Stop();  // drains, flushes, records offsets
  (*bus)->Close();  // leaves the group, so another member takes the partitions at once
  listener.Stop();
  spdlog::info("stopped cleanly ({} events taken)", consumer.events_ingested());
  return 0;
}

KafkaMockCommand::KafkaMockCommand(CLI::App& app) {
  cmd_ = app.add_subcommand("kafka-mock",
                            "Run librdkafka's mock Kafka cluster (in memory) to try the scale-out "
                            "roles without a Kafka; prints its bootstrap servers");
  cmd_->add_option("--brokers", brokers_, "Number of brokers")->check(CLI::Range(1, 16));
  cmd_->add_option("--partitions", partitions_, "Partitions of the topic")
      ->check(CLI::Range(1, 1024));
  cmd_->add_option("--topic", topic_, "Topic to create");
}

bool KafkaMockCommand::parsed() const { return cmd_->parsed(); }

int KafkaMockCommand::Run() {
  sigset_t stop_signals = BlockShutdownSignals();
  auto cluster = KafkaMockCluster::Make(brokers_);
  if (!cluster.ok()) return Fail(cluster.status().ToString());
  if (Status s = (*cluster)->CreateTopic(topic_, partitions_); !s.ok()) return Fail(s.ToString());
  std::printf("Kafka mock cluster (librdkafka, in memory: everything is lost when it stops).\n");
  std::printf("  Topic:             %s (%d partitions, %d brokers)\n", topic_.c_str(), partitions_,
              brokers_);
  std::printf("  Bootstrap servers: %s\n", (*cluster)->bootstrap_servers().c_str());
  std::printf("  Use them as bus.brokers (DIM_BUS_BROKERS), with bus.kafka_properties =\n");
  std::printf("  \"%s\" (DIM_BUS_KAFKA_PROPERTIES):\n", kMockProperties);
  std::printf("  the mock's group coordinator needs short session timeouts. Stop with Ctrl-C.\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  return 0;
}

}  // namespace dim
