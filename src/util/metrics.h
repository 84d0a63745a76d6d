// Counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4). The registry, the metrics and the text
// are prometheus-cpp's (its core library only: /metrics is served by our own
// HTTP server, not by its civetweb exposer).
//
// This layer keeps call sites to one line: an event names its series by label
// values, looked up in a small map per family, so that the hot path takes one
// short lock and updates the metric, with no allocation once the series
// exists. Thread-safe.
//
// Label values must come from fixed sets (whatever a client sends is mapped to
// "other" by the caller): each distinct value is a time series that lives as
// long as the process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/labels.h>

namespace prometheus {
class Collectable;
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace discoblocks::metrics {

// Label name -> value. Rendered sorted by name, whatever the order given.
using Labels = prometheus::Labels;

class CounterFamily {
 public:
  explicit CounterFamily(prometheus::Family<prometheus::Counter>& family) : family_(family) {}
  void Increment(const Labels& labels, double by = 1);
  // For totals counted elsewhere and copied in when scraped. A total lower
  // than the last one starts the series again (Prometheus sees a reset).
  void SetTotal(const Labels& labels, double total);
  [[nodiscard]] double Value(const Labels& labels) const;

 private:
  prometheus::Counter& At(const Labels& labels);  // with mutex_ held

  prometheus::Family<prometheus::Counter>& family_;
  mutable std::mutex mutex_;
  std::map<Labels, prometheus::Counter*> series_;
};

class GaugeFamily {
 public:
  explicit GaugeFamily(prometheus::Family<prometheus::Gauge>& family) : family_(family) {}
  void Set(const Labels& labels, double value);
  // Drops every series, for gauges recomputed as a whole (drivers by state).
  void Clear();
  [[nodiscard]] double Value(const Labels& labels) const;

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  mutable std::mutex mutex_;
  std::map<Labels, prometheus::Gauge*> series_;
};

class HistogramFamily {
 public:
  // `bounds`: upper bounds of the buckets (+Inf is implied).
  HistogramFamily(prometheus::Family<prometheus::Histogram>& family, std::vector<double> bounds);
  void Observe(const Labels& labels, double value);
  [[nodiscard]] std::uint64_t Count(const Labels& labels) const;

  // Bounds suited to request latencies in seconds, 0.5 ms to 10 s.
  static std::vector<double> LatencyBounds();

 private:
  prometheus::Family<prometheus::Histogram>& family_;
  const std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<Labels, prometheus::Histogram*> series_;
};

// Owns the families and renders them all, in registration order.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& Counter(const std::string& name, const std::string& help);
  GaugeFamily& Gauge(const std::string& name, const std::string& help);
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<double> bounds = HistogramFamily::LatencyBounds());
  // `collect` runs at the start of every Render, to refresh values computed on
  // demand (e.g. from another component's state). It must not call Render.
  void AddCollector(std::function<void()> collect);
  [[nodiscard]] std::string Render() const;

 private:
  void Remember(const prometheus::Collectable& family);  // with mutex_ held

  mutable std::mutex mutex_;
  std::unique_ptr<prometheus::Registry> registry_;
  std::vector<const prometheus::Collectable*> order_;  // prometheus-cpp groups by type
  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  std::vector<std::function<void()>> collectors_;
};

}  // namespace discoblocks::metrics
