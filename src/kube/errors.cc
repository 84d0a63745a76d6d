#include "kube/errors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/document.h"
#include "util/json_fields.h"

namespace discoblocks::kube {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadRequest:
      return "BadRequest";
    case ErrorKind::kUnauthorized:
      return "Unauthorized";
    case ErrorKind::kForbidden:
      return "Forbidden";
    case ErrorKind::kNotFound:
      return "NotFound";
    case ErrorKind::kAlreadyExists:
      return "AlreadyExists";
    case ErrorKind::kConflict:
      return "Conflict";
    case ErrorKind::kGone:
      return "Gone";
    case ErrorKind::kInvalid:
      return "Invalid";
    case ErrorKind::kTooManyRequests:
      return "TooManyRequests";
    case ErrorKind::kTimeout:
      return "Timeout";
    case ErrorKind::kServerError:
      return "ServerError";
    case ErrorKind::kTransport:
      return "Transport";
    case ErrorKind::kMalformedResponse:
      return "MalformedResponse";
    case ErrorKind::kConfig:
      return "Config";
    case ErrorKind::kOther:
      break;
  }
  return "Other";
}

bool ApiError::retryable() const {
  switch (kind) {
    case ErrorKind::kTooManyRequests:
    case ErrorKind::kServerError:
    case ErrorKind::kTransport:
    case ErrorKind::kTimeout:
      return true;
    default:
      return false;
  }
}

ApiError MakeApiError(ErrorKind kind, std::string message) {
  ApiError error;
  error.kind = kind;
  error.message = std::move(message);
  return error;
}

namespace {

ErrorKind KindOf(long http_status, std::string_view reason) {
  if (reason == "AlreadyExists") return ErrorKind::kAlreadyExists;
  if (reason == "Timeout" || reason == "ServerTimeout") return ErrorKind::kTimeout;
  if (reason == "Expired" || reason == "Gone") return ErrorKind::kGone;
  switch (http_status) {
    case 400:
      return ErrorKind::kBadRequest;
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 408:
    case 504:
      return ErrorKind::kTimeout;
    case 409:
      return ErrorKind::kConflict;
    case 410:
      return ErrorKind::kGone;
    case 422:
      return ErrorKind::kInvalid;
    case 429:
      return ErrorKind::kTooManyRequests;
    default:
      return http_status >= 500 ? ErrorKind::kServerError : ErrorKind::kOther;
  }
}

}  // namespace

ApiError ErrorFromResponse(long http_status, std::string_view body, std::string_view what) {
  ApiError error;
  error.http_status = static_cast<int>(http_status);
  // A body nested too deeply is quoted as text like any other non-Status.
  const bool within_limits = CheckJsonLimits(body, what, {kNoByteLimit, kDefaultMaxDepth}).ok();
  const auto status = within_limits
                          ? nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false)
                          : nlohmann::json();
  std::string server_message;
  if (StringOr(status, "kind") == "Status") {
    server_message = StringOr(status, "message");
    error.reason = StringOr(status, "reason");
    const auto details = status.find("details");
    if (details != status.end() && details->is_object() && details->contains("causes") &&
        (*details)["causes"].is_array()) {
      for (const auto& cause : (*details)["causes"]) {
        if (!cause.is_object()) continue;
        error.causes.push_back(
            {StringOr(cause, "field"), StringOr(cause, "reason"), StringOr(cause, "message")});
      }
    }
  } else if (!body.empty()) {
    // Not a Status (a proxy, or a non-Kubernetes server): quote the start of it.
    server_message = std::string(body.substr(0, 200));
  }
  error.kind = KindOf(http_status, error.reason);
  error.message = fmt::format("{}: {} ({})", what,
                              server_message.empty() ? "no message" : server_message, http_status);
  return error;
}

}  // namespace discoblocks::kube
