// The DiskConfig validating webhook (an AdmissionWebhook, review.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "admission/review.h"
#include "admission/rules.h"
#include "util/metrics.h"

namespace discoblocks::admission {

// The original's path, kept so existing webhook configurations work.
inline constexpr std::string_view kValidateDiskConfigPath =
    "/validate-discoblocks-ondat-io-v1-diskconfig";

// Answers with the DiskConfig rules (rules.h) for the request's object, with
// the CRD's defaults applied; a malformed object is a denial with the reason.
class DiskConfigWebhook final : public AdmissionWebhook {
 public:
  DiskConfigWebhook(RuleContext context, metrics::Registry* metrics)
      : AdmissionWebhook(kValidateDiskConfigPath, metrics), context_(std::move(context)) {}

 private:
  [[nodiscard]] WebhookResponse Decide(const ReviewRequest& request,
                                       Clock::time_point started) const override;

  RuleContext context_;
};

// Metric families for driver calls, and an observer that fills them.
drivers::CallObserver DriverCallMetrics(metrics::Registry& registry);

}  // namespace discoblocks::admission
