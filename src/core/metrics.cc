#include "core/metrics.h"

#include <charconv>
#include <cmath>
#include <sstream>

namespace dim {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Snap() const {
  Snapshot s;
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  s.count = acc;
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

Family<Counter>& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                             std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = entries_[name];
  if (!e.counter) {
    e.name = name; e.help = help; e.type = "counter";
    e.counter = std::make_unique<Family<Counter>>(std::move(labels),
                                                  [] { return std::make_unique<Counter>(); });
  }
  return *e.counter;
}

Family<Gauge>& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                         std::vector<std::string> labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = entries_[name];
  if (!e.gauge) {
    e.name = name; e.help = help; e.type = "gauge";
    e.gauge = std::make_unique<Family<Gauge>>(std::move(labels),
                                              [] { return std::make_unique<Gauge>(); });
  }
  return *e.gauge;
}

Family<Histogram>& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                                 std::vector<std::string> labels,
                                                 std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = entries_[name];
  if (!e.histogram) {
    e.name = name; e.help = help; e.type = "histogram";
    e.histogram = std::make_unique<Family<Histogram>>(
        std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); });
  }
  return *e.histogram;
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       std::vector<std::string> labels, Sampler fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = entries_[name];
  e.name = name; e.help = help; e.type = "gauge";
  e.callback_labels = std::move(labels);
  e.callback = std::move(fn);
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

static std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

static std::string LabelSet(const std::vector<std::string>& names,
                            const std::vector<std::string>& values,
                            const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string s;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    s += (s.empty() ? "" : ",") + names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) s += (s.empty() ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  return s.empty() ? "" : "{" + s + "}";
}

std::string MetricsRegistry::RenderText() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream os;
  for (const auto& entry : entries_) {
    // Named copies, not structured bindings: lambdas below capture them (clang < 16).
    const std::string& name = entry.first;
    const Entry& e = entry.second;
    os << "# HELP " << name << " " << e.help << "\n# TYPE " << name << " " << e.type << "\n";
    if (e.counter) {
      e.counter->ForEach([&](const auto& labels, const Counter& c) {
        os << name << LabelSet(e.counter->label_names(), labels) << " " << FormatValue(c.Value())
           << "\n";
      });
    } else if (e.gauge) {
      e.gauge->ForEach([&](const auto& labels, const Gauge& g) {
        os << name << LabelSet(e.gauge->label_names(), labels) << " " << FormatValue(g.Value())
           << "\n";
      });
    } else if (e.histogram) {
      e.histogram->ForEach([&](const auto& labels, const Histogram& h) {
        auto snap = h.Snap();
        const auto& ln = e.histogram->label_names();
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          os << name << "_bucket" << LabelSet(ln, labels, "le", FormatValue(h.bounds()[i])) << " "
             << snap.cumulative[i] << "\n";
        }
        os << name << "_bucket" << LabelSet(ln, labels, "le", "+Inf") << " " << snap.count << "\n";
        os << name << "_sum" << LabelSet(ln, labels) << " " << FormatValue(snap.sum) << "\n";
        os << name << "_count" << LabelSet(ln, labels) << " " << snap.count << "\n";
      });
    } else if (e.callback) {
      for (const auto& [labels, v] : e.callback()) {
        os << name << LabelSet(e.callback_labels, labels) << " " << FormatValue(v) << "\n";
      }
    }
  }
  return os.str();
}

}  // namespace dim
