#include "admission/webhook.h"

#include <utility>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "util/logging.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAdmissionApiVersion = "admission.k8s.io/v1";

WebhookResponse BadRequest(const std::string& message) {
  return {400, json({{"error", message}}).dump()};
}

std::optional<Operation> ParseOperation(const std::string& name) {
  if (name == "CREATE") return Operation::kCreate;
  if (name == "UPDATE") return Operation::kUpdate;
  if (name == "DELETE") return Operation::kDelete;
  if (name == "CONNECT") return Operation::kConnect;
  return std::nullopt;
}

std::string ObjectName(const json& request) {
  const std::string ns = request.value("namespace", "");
  const std::string name = request.value("name", "");
  return ns.empty() ? name : ns + "/" + name;
}

}  // namespace

DiskConfigWebhook::DiskConfigWebhook(RuleContext context, metrics::Registry* metrics)
    : context_(std::move(context)) {
  if (metrics == nullptr) return;
  requests_ = &metrics->Counter("discoblocks_admission_requests_total",
                                "Admission requests by endpoint, operation and result "
                                "(allowed, denied, bad_request).");
  latency_ = &metrics->Histogram("discoblocks_admission_duration_seconds",
                                 "Time to decide one admission request, by endpoint.");
}

WebhookResponse DiskConfigWebhook::Handle(std::string_view body) const {
  const auto started = Clock::now();
  std::string operation_name = "unknown";
  auto record = [&](const std::string& result) {
    if (requests_ == nullptr) return;
    const std::string endpoint(kValidateDiskConfigPath);
    requests_->Increment(
        {{"endpoint", endpoint}, {"operation", operation_name}, {"result", result}});
    latency_->Observe({{"endpoint", endpoint}},
                      std::chrono::duration<double>(Clock::now() - started).count());
  };
  auto bad_request = [&](const std::string& message) {
    record("bad_request");
    LogEvent(spdlog::level::warn, "bad admission request", {{"error", message}});
    return BadRequest(message);
  };

  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) return bad_request("request body is not JSON");
  if (!review.is_object() || review.value("kind", "") != "AdmissionReview") {
    return bad_request("request body is not an AdmissionReview");
  }
  if (review.value("apiVersion", "") != kAdmissionApiVersion) {
    return bad_request(fmt::format("AdmissionReview apiVersion {} is not supported; use {}",
                                   review.value("apiVersion", "(missing)"), kAdmissionApiVersion));
  }
  const auto request_field = review.find("request");
  if (request_field == review.end() || !request_field->is_object()) {
    return bad_request("AdmissionReview has no request");
  }
  const json& request = *request_field;
  const auto uid = request.find("uid");
  if (uid == request.end() || !uid->is_string() || uid->get<std::string>().empty()) {
    return bad_request("AdmissionReview request has no uid");
  }
  operation_name = request.value("operation", "");
  const auto operation = ParseOperation(operation_name);
  if (!operation) return bad_request(fmt::format("unknown operation \"{}\"", operation_name));

  const json* object =
      request.contains("object") && request["object"].is_object() ? &request["object"] : nullptr;
  const json* old_object = request.contains("oldObject") && request["oldObject"].is_object()
                               ? &request["oldObject"]
                               : nullptr;
  // The API server has applied the CRD's defaults; applying them again makes
  // the rules independent of how the CRD was installed.
  const std::optional<json> current = object ? std::optional(WithDefaults(*object)) : std::nullopt;
  const std::optional<json> previous =
      old_object ? std::optional(WithDefaults(*old_object)) : std::nullopt;
  const Decision decision = Validate(*operation, current ? &*current : nullptr,
                                     previous ? &*previous : nullptr, context_);

  json response = {{"uid", *uid}, {"allowed", decision.allowed}};
  if (!decision.allowed) {
    response["status"] = {{"code", 403}, {"reason", "Forbidden"}, {"message", decision.message}};
  }
  if (!decision.warnings.empty()) response["warnings"] = decision.warnings;
  record(decision.allowed ? "allowed" : "denied");
  LogEvent(
      spdlog::level::info, "admission decision",
      {{"object", ObjectName(request)},
       {"operation", operation_name},
       {"provisioner", decision.provisioner},
       {"allowed", decision.allowed},
       {"rule", decision.rule},
       {"message", decision.message},
       {"warnings", decision.warnings},
       {"duration_ms", std::chrono::duration<double, std::milli>(Clock::now() - started).count()}});
  const json answer = {
      {"apiVersion", kAdmissionApiVersion}, {"kind", "AdmissionReview"}, {"response", response}};
  return {200, answer.dump(-1, ' ', false, json::error_handler_t::replace)};
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
