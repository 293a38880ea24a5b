// A small Prometheus metrics registry: counters, gauges and histograms with labels, plus gauges
// computed at scrape time. Renders the text exposition format (checked by `promtool check
// metrics` in the tests). All operations are thread-safe; updating a metric is lock-free once
// its labelled child exists. The registry owns every metric; references stay valid for its
// lifetime.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace dim {

class Counter {
 public:
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound plus +Inf, the sum and the count.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Snap() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Default latency buckets in seconds (1 ms .. 60 s).
std::vector<double> LatencyBuckets();

template <typename M>
class Family {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;
  Family(std::vector<std::string> label_names, Factory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {}
  // The child for these label values (in the order of the label names); created on first use.
  M& Labels(const std::vector<std::string>& values);
  // The unlabelled child (for families without labels).
  M& Get() { return Labels({}); }
  const std::vector<std::string>& label_names() const { return label_names_; }
  template <typename Fn>
  void ForEach(Fn fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : children_) fn(k, *v);
  }

 private:
  std::vector<std::string> label_names_;
  Factory factory_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

template <typename M>
M& Family<M>::Labels(const std::vector<std::string>& values) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, factory_()).first;
  return *it->second;
}

class MetricsRegistry {
 public:
  // Registering the same name twice returns the existing family (its help and labels win).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> labels = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> labels = {},
                                  std::vector<double> bounds = LatencyBuckets());
  // A gauge whose samples are computed when scraped: fn returns (label values, value) pairs.
  using Sampler = std::function<std::vector<std::pair<std::vector<std::string>, double>>()>;
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::vector<std::string> labels, Sampler fn);

  // Prometheus text exposition format 0.0.4.
  std::string RenderText() const;

 private:
  struct Entry {
    std::string name, help, type;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
    std::vector<std::string> callback_labels;
    Sampler callback;
  };
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& v);

}  // namespace dim
