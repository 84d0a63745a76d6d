// Counters, gauges and histograms with labels, rendered in the Prometheus text
// exposition format (version 0.0.4). Small glue that no library in reach does
// well; thread-safe; cheap on the hot path (one mutex per family, no
// allocation once a label set has been seen).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace discoblocks::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Family {
 public:
  virtual ~Family() = default;
  virtual void Render(std::string& out) const = 0;
};

// One number per label set; the base of counters and gauges.
class ValueFamily : public Family {
 public:
  [[nodiscard]] double Value(const Labels& labels) const;
  void Render(std::string& out) const override;

 protected:
  ValueFamily(std::string name, std::string help, const char* type);
  void Add(const Labels& labels, double by);
  void Store(const Labels& labels, double value);
  void RemoveAll();

 private:
  std::string name_;
  std::string help_;
  const char* type_;  // "counter" or "gauge"
  mutable std::mutex mutex_;
  std::map<Labels, double> values_;
};

class CounterFamily : public ValueFamily {
 public:
  CounterFamily(std::string name, std::string help);
  void Increment(const Labels& labels, double by = 1) { Add(labels, by); }
  // For totals counted elsewhere and copied in when scraped; must not decrease.
  void SetTotal(const Labels& labels, double total) { Store(labels, total); }
};

class GaugeFamily : public ValueFamily {
 public:
  GaugeFamily(std::string name, std::string help);
  void Set(const Labels& labels, double value) { Store(labels, value); }
  // Drops every series, for gauges recomputed as a whole (drivers by state).
  void Clear() { RemoveAll(); }
};

class HistogramFamily : public Family {
 public:
  // `bounds`: upper bounds of the buckets, ascending (+Inf is implied).
  HistogramFamily(std::string name, std::string help, std::vector<double> bounds);
  void Observe(const Labels& labels, double value);
  [[nodiscard]] std::uint64_t Count(const Labels& labels) const;
  void Render(std::string& out) const override;

  // Bounds suited to request latencies in seconds, 0.5 ms to 10 s.
  static std::vector<double> LatencyBounds();

 private:
  struct Series {
    std::vector<std::uint64_t> buckets;  // cumulative at render time, not here
    std::uint64_t count = 0;
    double sum = 0;
  };
  std::string name_;
  std::string help_;
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<Labels, Series> series_;
};

// Owns families and renders them all, in registration order.
class Registry {
 public:
  CounterFamily& Counter(const std::string& name, const std::string& help);
  GaugeFamily& Gauge(const std::string& name, const std::string& help);
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<double> bounds = HistogramFamily::LatencyBounds());
  // `collect` runs at the start of every Render, to refresh values computed on
  // demand (e.g. from another component's state). It must not call Render.
  void AddCollector(std::function<void()> collect);
  [[nodiscard]] std::string Render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Label values escaped for the text format (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace discoblocks::metrics
