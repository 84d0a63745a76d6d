#include "admission/webhook.h"

#include <utility>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "admission/limits.h"
#include "util/document.h"
#include "util/json_fields.h"
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

std::string ObjectName(const std::string& ns, const std::string& name) {
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
  std::string operation_name;
  // The metric's label takes only known values: an operation named by the
  // client must not create a time series of its own.
  std::string operation_label = "unknown";
  auto record = [&](const std::string& result) {
    if (requests_ == nullptr) return;
    const std::string endpoint(kValidateDiskConfigPath);
    requests_->Increment(
        {{"endpoint", endpoint}, {"operation", operation_label}, {"result", result}});
    latency_->Observe({{"endpoint", endpoint}},
                      std::chrono::duration<double>(Clock::now() - started).count());
  };
  auto bad_request = [&](const std::string& message) {
    record("bad_request");
    LogEvent(spdlog::level::warn, "bad admission request", {{"error", message}});
    return BadRequest(message);
  };

  // Limits first: copying or dumping a document recurses, so one nested too
  // deeply must not reach the rules (or even the parser's result).
  if (auto limits = CheckJsonLimits(body, "admission review", kReviewLimits); !limits) {
    return bad_request(limits.error().message);
  }
  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) return bad_request("request body is not JSON");
  // Every field is read through checked accessors: a wrong type is a 400 that
  // names the field, never an exception.
  const auto kind = OptionalString(review, "kind", "kind");
  if (!kind) return bad_request(kind.error().message);
  if (!review.is_object() || *kind != "AdmissionReview") {
    return bad_request("request body is not an AdmissionReview");
  }
  const auto api_version = OptionalString(review, "apiVersion", "apiVersion", "(missing)");
  if (!api_version) return bad_request(api_version.error().message);
  if (*api_version != kAdmissionApiVersion) {
    return bad_request(fmt::format("AdmissionReview apiVersion {} is not supported; use {}",
                                   *api_version, kAdmissionApiVersion));
  }
  const auto request_field = OptionalObject(review, "request", "request");
  if (!request_field) return bad_request(request_field.error().message);
  if (*request_field == nullptr) return bad_request("AdmissionReview has no request");
  const json& request = **request_field;
  const auto uid = OptionalString(request, "uid", "request.uid");
  if (!uid) return bad_request(uid.error().message);
  if (uid->empty()) return bad_request("AdmissionReview request has no uid");
  const auto operation_field = OptionalString(request, "operation", "request.operation");
  if (!operation_field) return bad_request(operation_field.error().message);
  operation_name = *operation_field;
  const auto operation = ParseOperation(operation_name);
  operation_label = operation ? operation_name : "other";
  if (!operation) return bad_request(fmt::format("unknown operation \"{}\"", operation_name));
  const auto ns = OptionalString(request, "namespace", "request.namespace");
  if (!ns) return bad_request(ns.error().message);
  const auto name = OptionalString(request, "name", "request.name");
  if (!name) return bad_request(name.error().message);
  const auto object = OptionalObject(request, "object", "request.object");
  if (!object) return bad_request(object.error().message);
  const auto old_object = OptionalObject(request, "oldObject", "request.oldObject");
  if (!old_object) return bad_request(old_object.error().message);

  // The API server has applied the CRD's defaults; applying them again makes
  // the rules independent of how the CRD was installed.
  const std::optional<json> current =
      *object != nullptr ? std::optional(WithDefaults(**object)) : std::nullopt;
  const std::optional<json> previous =
      *old_object != nullptr ? std::optional(WithDefaults(**old_object)) : std::nullopt;
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
      {{"object", ObjectName(*ns, *name)},
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
