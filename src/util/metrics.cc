#include "util/metrics.h"

#include <algorithm>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace discoblocks::metrics {
namespace {

// The metric of `labels` in `series`, or null.
template <typename Metric>
Metric* Find(const std::map<Labels, Metric*>& series, const Labels& labels) {
  const auto found = series.find(labels);
  return found == series.end() ? nullptr : found->second;
}

}  // namespace

prometheus::Counter& CounterFamily::At(const Labels& labels) {
  if (auto* counter = Find(series_, labels)) return *counter;
  prometheus::Counter& counter = family_.Add(labels);
  series_.emplace(labels, &counter);
  return counter;
}

void CounterFamily::Increment(const Labels& labels, double by) {
  const std::lock_guard lock(mutex_);
  At(labels).Increment(by);
}

void CounterFamily::SetTotal(const Labels& labels, double total) {
  const std::lock_guard lock(mutex_);
  prometheus::Counter* counter = &At(labels);
  const double current = counter->Value();
  if (total < current) {
    family_.Remove(counter);
    counter = &family_.Add(labels);
    series_[labels] = counter;
    counter->Increment(total);
    return;
  }
  counter->Increment(total - current);
}

double CounterFamily::Value(const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  const auto* counter = Find(series_, labels);
  return counter == nullptr ? 0 : counter->Value();
}

void GaugeFamily::Set(const Labels& labels, double value) {
  const std::lock_guard lock(mutex_);
  prometheus::Gauge* gauge = Find(series_, labels);
  if (gauge == nullptr) {
    gauge = &family_.Add(labels);
    series_.emplace(labels, gauge);
  }
  gauge->Set(value);
}

void GaugeFamily::Clear() {
  const std::lock_guard lock(mutex_);
  for (const auto& [labels, gauge] : series_) family_.Remove(gauge);
  series_.clear();
}

double GaugeFamily::Value(const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  const auto* gauge = Find(series_, labels);
  return gauge == nullptr ? 0 : gauge->Value();
}

HistogramFamily::HistogramFamily(prometheus::Family<prometheus::Histogram>& family,
                                 std::vector<double> bounds)
    : family_(family), bounds_([&] {
        std::sort(bounds.begin(), bounds.end());
        return std::move(bounds);
      }()) {}

std::vector<double> HistogramFamily::LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void HistogramFamily::Observe(const Labels& labels, double value) {
  const std::lock_guard lock(mutex_);
  prometheus::Histogram* histogram = Find(series_, labels);
  if (histogram == nullptr) {
    histogram = &family_.Add(labels, bounds_);
    series_.emplace(labels, histogram);
  }
  histogram->Observe(value);
}

std::uint64_t HistogramFamily::Count(const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  const auto* histogram = Find(series_, labels);
  return histogram == nullptr ? 0 : histogram->Collect().histogram.sample_count;
}

Registry::Registry() : registry_(std::make_unique<prometheus::Registry>()) {}

Registry::~Registry() = default;

void Registry::Remember(const prometheus::Collectable& family) {
  // prometheus-cpp hands back the family already registered under a name.
  if (std::find(order_.begin(), order_.end(), &family) == order_.end()) order_.push_back(&family);
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help) {
  const std::lock_guard lock(mutex_);
  auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
  Remember(family);
  counters_.push_back(std::make_unique<CounterFamily>(family));
  return *counters_.back();
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help) {
  const std::lock_guard lock(mutex_);
  auto& family = prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
  Remember(family);
  gauges_.push_back(std::make_unique<GaugeFamily>(family));
  return *gauges_.back();
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     std::vector<double> bounds) {
  const std::lock_guard lock(mutex_);
  auto& family = prometheus::BuildHistogram().Name(name).Help(help).Register(*registry_);
  Remember(family);
  histograms_.push_back(std::make_unique<HistogramFamily>(family, std::move(bounds)));
  return *histograms_.back();
}

void Registry::AddCollector(std::function<void()> collect) {
  const std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  std::vector<prometheus::MetricFamily> families;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& collect : collectors_) collect();
    for (const prometheus::Collectable* family : order_) {
      for (auto& collected : family->Collect()) families.push_back(std::move(collected));
    }
  }
  // prometheus-cpp keeps series in a hash map; sorted, a scrape reads the
  // same from one time to the next.
  for (auto& family : families) {
    std::sort(family.metric.begin(), family.metric.end(),
              [](const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
                return a.label < b.label;
              });
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace discoblocks::metrics
