#include "admission/review.h"

#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "admission/limits.h"
#include "util/base64.h"
#include "util/document.h"
#include "util/json_fields.h"
#include "util/logging.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

constexpr const char* kAdmissionApiVersion = "admission.k8s.io/v1";

std::optional<Operation> ParseOperation(const std::string& name) {
  if (name == "CREATE") return Operation::kCreate;
  if (name == "UPDATE") return Operation::kUpdate;
  if (name == "DELETE") return Operation::kDelete;
  if (name == "CONNECT") return Operation::kConnect;
  return std::nullopt;
}

}  // namespace

Result<ReviewRequest, ReviewError> ReadReview(std::string_view body, json& review) {
  ReviewError error;
  auto fail = [&error](std::string message) {
    error.message = std::move(message);
    return error;
  };
  if (auto limits = CheckJsonLimits(body, "admission review", kReviewLimits); !limits) {
    return fail(limits.error().message);
  }
  review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (review.is_discarded()) return fail("request body is not JSON");
  const auto kind = OptionalString(review, "kind", "kind");
  if (!kind) return fail(kind.error().message);
  if (!review.is_object() || *kind != "AdmissionReview") {
    return fail("request body is not an AdmissionReview");
  }
  const auto api_version = OptionalString(review, "apiVersion", "apiVersion", "(missing)");
  if (!api_version) return fail(api_version.error().message);
  if (*api_version != kAdmissionApiVersion) {
    return fail(fmt::format("AdmissionReview apiVersion {} is not supported; use {}", *api_version,
                            kAdmissionApiVersion));
  }
  const auto request_field = OptionalObject(review, "request", "request");
  if (!request_field) return fail(request_field.error().message);
  if (*request_field == nullptr) return fail("AdmissionReview has no request");
  const json& request = **request_field;
  ReviewRequest read;
  const auto uid = OptionalString(request, "uid", "request.uid");
  if (!uid) return fail(uid.error().message);
  if (uid->empty()) return fail("AdmissionReview request has no uid");
  read.uid = *uid;
  const auto operation_name = OptionalString(request, "operation", "request.operation");
  if (!operation_name) return fail(operation_name.error().message);
  read.operation_name = *operation_name;
  const auto operation = ParseOperation(read.operation_name);
  error.operation_label = operation ? read.operation_name : "other";
  if (!operation) return fail(fmt::format("unknown operation \"{}\"", read.operation_name));
  read.operation = *operation;
  for (auto [key, path, target] :
       {std::tuple{"subResource", "request.subResource", &read.sub_resource},
        std::tuple{"namespace", "request.namespace", &read.ns},
        std::tuple{"name", "request.name", &read.name}}) {
    auto value = OptionalString(request, key, path);
    if (!value) return fail(value.error().message);
    *target = *value;
  }
  const auto object = OptionalObject(request, "object", "request.object");
  if (!object) return fail(object.error().message);
  read.object = *object;
  const auto old_object = OptionalObject(request, "oldObject", "request.oldObject");
  if (!old_object) return fail(old_object.error().message);
  read.old_object = *old_object;
  if (const json* dry_run = FindMember(request, {"dryRun"})) {
    if (!dry_run->is_boolean())
      return fail(WrongType("request.dryRun", "a boolean", *dry_run).message);
    read.dry_run = dry_run->get<bool>();
  }
  return read;
}

std::string ObjectName(const ReviewRequest& request) {
  return request.ns.empty() ? request.name : request.ns + "/" + request.name;
}

WebhookResponse Answer(std::string_view uid, const AdmissionAnswer& answer) {
  json response = {{"uid", uid}, {"allowed", answer.allowed}};
  if (!answer.allowed) {
    response["status"] = {{"code", 403}, {"reason", "Forbidden"}, {"message", answer.message}};
  }
  if (!answer.warnings.empty()) response["warnings"] = answer.warnings;
  if (answer.patch.is_array() && !answer.patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] =
        Base64Encode(answer.patch.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  const json review = {
      {"apiVersion", kAdmissionApiVersion}, {"kind", "AdmissionReview"}, {"response", response}};
  return {200, review.dump(-1, ' ', false, json::error_handler_t::replace)};
}

WebhookResponse BadRequest(const std::string& message) {
  return {400, json({{"error", message}}).dump(-1, ' ', false, json::error_handler_t::replace)};
}

AdmissionMetrics::AdmissionMetrics(metrics::Registry* registry, std::string_view endpoint)
    : endpoint_(endpoint) {
  if (registry == nullptr) return;
  // Every endpoint registers the same families; the registry hands back the
  // one already there, and `endpoint` tells the series apart.
  requests_ = &registry->Counter("discoblocks_admission_requests_total",
                                 "Admission requests by endpoint, operation and result "
                                 "(allowed, mutated, denied, bad_request).");
  latency_ = &registry->Histogram("discoblocks_admission_duration_seconds",
                                  "Time to decide one admission request, by endpoint and result.");
}

void AdmissionMetrics::Record(const std::string& operation_label, const std::string& result,
                              std::chrono::steady_clock::duration elapsed) const {
  if (requests_ == nullptr) return;
  requests_->Increment(
      {{"endpoint", endpoint_}, {"operation", operation_label}, {"result", result}});
  latency_->Observe({{"endpoint", endpoint_}, {"result", result}},
                    std::chrono::duration<double>(elapsed).count());
}

WebhookResponse AdmissionWebhook::Handle(std::string_view body) const {
  const auto started = Clock::now();
  json review;
  auto request = ReadReview(body, review);
  if (request) return Decide(*request, started);
  const ReviewError& error = request.error();
  metrics_.Record(error.operation_label, "bad_request", Clock::now() - started);
  LogEvent(spdlog::level::warn, "bad admission request",
           {{"endpoint", path()}, {"error", error.message}});
  return BadRequest(error.message);
}

}  // namespace discoblocks::admission
