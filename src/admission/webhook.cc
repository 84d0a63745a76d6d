#include "admission/webhook.h"

#include <utility>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "util/logging.h"

namespace discoblocks::admission {

using nlohmann::json;

WebhookResponse DiskConfigWebhook::Decide(const ReviewRequest& request,
                                          Clock::time_point started) const {
  // The API server has applied the CRD's defaults; applying them again makes
  // the rules independent of how the CRD was installed.
  const std::optional<json> current =
      request.object != nullptr ? std::optional(WithDefaults(*request.object)) : std::nullopt;
  const std::optional<json> previous = request.old_object != nullptr
                                           ? std::optional(WithDefaults(*request.old_object))
                                           : std::nullopt;
  const Decision decision = Validate(request.operation, current ? &*current : nullptr,
                                     previous ? &*previous : nullptr, context_);

  Record(request, decision.allowed ? "allowed" : "denied", started);
  LogEvent(
      spdlog::level::info, "admission decision",
      {{"object", ObjectName(request)},
       {"operation", request.operation_name},
       {"provisioner", decision.provisioner},
       {"allowed", decision.allowed},
       {"rule", decision.rule},
       {"message", decision.message},
       {"warnings", decision.warnings},
       {"duration_ms", std::chrono::duration<double, std::milli>(Clock::now() - started).count()}});
  return Answer(request.uid, {decision.allowed, decision.message, decision.warnings, nullptr});
}

drivers::CallObserver DriverCallMetrics(metrics::Registry& registry) {
  auto& calls = registry.Counter("discoblocks_driver_calls_total",
                                 "Driver calls by provisioner, function and outcome.");
  auto& latency = registry.Histogram("discoblocks_driver_call_duration_seconds",
                                     "Driver call time by provisioner and function.");
  return [&calls, &latency](std::string_view provisioner, const drivers::FunctionSpec& function,
                            const drivers::Outcome& outcome) {
    const std::string provisioner_name(provisioner);
    const std::string function_name(function.name);
    calls.Increment({{"provisioner", provisioner_name},
                     {"function", function_name},
                     {"outcome", std::string(drivers::OutcomeName(outcome.kind))}});
    latency.Observe({{"provisioner", provisioner_name}, {"function", function_name}},
                    std::chrono::duration<double>(outcome.duration).count());
  };
}

}  // namespace discoblocks::admission
