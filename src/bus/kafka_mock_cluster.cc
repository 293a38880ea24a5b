#include "bus/kafka_mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

namespace dim {

struct KafkaMockCluster::Handles {
  rd_kafka_t* rk = nullptr;  // owns the cluster's bookkeeping; also used to query metadata
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Handles() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

Result<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Make(int brokers) {
  if (brokers < 1) return Status::InvalidArgument("a mock cluster needs at least one broker");
  std::unique_ptr<KafkaMockCluster> m(new KafkaMockCluster());
  m->h_ = std::make_unique<Handles>();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(std::string("mock cluster conf: ") + err);
  }
  m->h_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!m->h_->rk) return Status::Internal(std::string("mock cluster handle: ") + err);
  m->h_->cluster = rd_kafka_mock_cluster_new(m->h_->rk, brokers);
  if (!m->h_->cluster) return Status::Internal("rd_kafka_mock_cluster_new failed");
  m->bootstraps_ = rd_kafka_mock_cluster_bootstraps(m->h_->cluster);
  m->brokers_ = brokers;
  return m;
}

KafkaMockCluster::~KafkaMockCluster() = default;

Status KafkaMockCluster::CreateTopic(const std::string& topic, int partitions, int replication) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(h_->cluster, topic.c_str(), partitions,
                                                     std::clamp(replication, 1, brokers_));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Internal("mock topic " + topic + ": " + rd_kafka_err2str(e));
  }
  return Status::OK();
}

Result<std::map<int32_t, std::pair<int64_t, int64_t>>> KafkaMockCluster::Watermarks(
    const std::string& topic, int timeout_ms) {
  // A short-lived client of the cluster (the cluster's own handle has no brokers configured).
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps_.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return Status::Internal(std::string("watermarks client: ") + err);
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, timeout_ms);
  rd_kafka_topic_destroy(t);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk);
    return Status::Unavailable(std::string("metadata: ") + rd_kafka_err2str(e));
  }
  std::map<int32_t, std::pair<int64_t, int64_t>> out;
  Status s;
  for (int i = 0; i < md->topic_cnt && s.ok(); ++i) {
    if (topic != md->topics[i].topic) continue;
    for (int p = 0; p < md->topics[i].partition_cnt; ++p) {
      int32_t id = md->topics[i].partitions[p].id;
      int64_t lo = 0, hi = 0;
      e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), id, &lo, &hi, timeout_ms);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s = Status::Unavailable("watermarks of " + topic + "[" + std::to_string(id) +
                                "]: " + rd_kafka_err2str(e));
        break;
      }
      out[id] = {lo, hi};
    }
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  if (!s.ok()) return s;
  return out;
}

}  // namespace dim
