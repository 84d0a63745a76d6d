#include "util/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace discoblocks::metrics {
namespace {

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);
}

std::string LabelText(const Labels& labels, const std::string& extra_name = {},
                      const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string text = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) text += ',';
    first = false;
    text += fmt::format("{}=\"{}\"", name, EscapeLabelValue(value));
  }
  if (!extra_name.empty()) {
    if (!first) text += ',';
    text += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  return text + "}";
}

void Header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string escaped;
  for (const char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

ValueFamily::ValueFamily(std::string name, std::string help, const char* type)
    : name_(std::move(name)), help_(std::move(help)), type_(type) {}

void ValueFamily::Add(const Labels& labels, double by) {
  const std::lock_guard lock(mutex_);
  values_[labels] += by;
}

void ValueFamily::Store(const Labels& labels, double value) {
  const std::lock_guard lock(mutex_);
  values_[labels] = value;
}

void ValueFamily::RemoveAll() {
  const std::lock_guard lock(mutex_);
  values_.clear();
}

double ValueFamily::Value(const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  const auto found = values_.find(labels);
  return found == values_.end() ? 0 : found->second;
}

void ValueFamily::Render(std::string& out) const {
  Header(out, name_, help_, type_);
  const std::lock_guard lock(mutex_);
  for (const auto& [labels, value] : values_) {
    out += fmt::format("{}{} {}\n", name_, LabelText(labels), Number(value));
  }
}

CounterFamily::CounterFamily(std::string name, std::string help)
    : ValueFamily(std::move(name), std::move(help), "counter") {}

GaugeFamily::GaugeFamily(std::string name, std::string help)
    : ValueFamily(std::move(name), std::move(help), "gauge") {}

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<double> bounds)
    : name_(std::move(name)), help_(std::move(help)), bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
}

std::vector<double> HistogramFamily::LatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void HistogramFamily::Observe(const Labels& labels, double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  const std::lock_guard lock(mutex_);
  Series& series = series_[labels];
  if (series.buckets.empty()) series.buckets.assign(bounds_.size() + 1, 0);
  ++series.buckets[bucket];
  ++series.count;
  series.sum += value;
}

std::uint64_t HistogramFamily::Count(const Labels& labels) const {
  const std::lock_guard lock(mutex_);
  const auto found = series_.find(labels);
  return found == series_.end() ? 0 : found->second.count;
}

void HistogramFamily::Render(std::string& out) const {
  Header(out, name_, help_, "histogram");
  const std::lock_guard lock(mutex_);
  for (const auto& [labels, series] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += series.buckets[i];
      out += fmt::format("{}_bucket{} {}\n", name_, LabelText(labels, "le", Number(bounds_[i])),
                         cumulative);
    }
    out += fmt::format("{}_bucket{} {}\n", name_, LabelText(labels, "le", "+Inf"), series.count);
    out += fmt::format("{}_sum{} {}\n", name_, LabelText(labels), Number(series.sum));
    out += fmt::format("{}_count{} {}\n", name_, LabelText(labels), series.count);
  }
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help) {
  const std::lock_guard lock(mutex_);
  families_.push_back(std::make_unique<CounterFamily>(name, help));
  return static_cast<CounterFamily&>(*families_.back());
}

GaugeFamily& Registry::Gauge(const std::string& name, const std::string& help) {
  const std::lock_guard lock(mutex_);
  families_.push_back(std::make_unique<GaugeFamily>(name, help));
  return static_cast<GaugeFamily&>(*families_.back());
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     std::vector<double> bounds) {
  const std::lock_guard lock(mutex_);
  families_.push_back(std::make_unique<HistogramFamily>(name, help, std::move(bounds)));
  return static_cast<HistogramFamily&>(*families_.back());
}

void Registry::AddCollector(std::function<void()> collect) {
  const std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Render() const {
  const std::lock_guard lock(mutex_);
  for (const auto& collect : collectors_) collect();
  std::string out;
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace discoblocks::metrics
