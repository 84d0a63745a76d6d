// The DiskConfig validating webhook: admission.k8s.io/v1 AdmissionReview in,
// AdmissionReview out. Transport-free (the HTTPS server calls it), so that it
// can be tested and measured on its own.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "admission/rules.h"
#include "util/metrics.h"

namespace discoblocks::admission {

// The original's path, kept so existing webhook configurations work.
inline constexpr std::string_view kValidateDiskConfigPath =
    "/validate-discoblocks-ondat-io-v1-diskconfig";

struct WebhookResponse {
  int http_status = 200;
  std::string body;  // JSON: an AdmissionReview, or {"error": ...} for a 4xx
};

class DiskConfigWebhook {
 public:
  // `metrics` may be null. Registers its families there.
  DiskConfigWebhook(RuleContext context, metrics::Registry* metrics);

  // Never throws. A body that is not an AdmissionReview v1 with a request and a
  // uid gets a 400 saying what was wrong; everything else gets an
  // AdmissionReview answer (a malformed object is a denial with the reason).
  [[nodiscard]] WebhookResponse Handle(std::string_view body) const;

 private:
  RuleContext context_;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* latency_ = nullptr;
};

// Metric families for driver calls, and an observer that fills them.
drivers::CallObserver DriverCallMetrics(metrics::Registry& registry);

}  // namespace discoblocks::admission
