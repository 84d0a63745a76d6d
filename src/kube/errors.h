// Kubernetes API errors as values a caller can branch on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace discoblocks::kube {

enum class ErrorKind {
  kBadRequest,         // 400
  kUnauthorized,       // 401: missing, wrong or expired credentials
  kForbidden,          // 403: authenticated, but RBAC says no
  kNotFound,           // 404
  kAlreadyExists,      // 409, reason AlreadyExists
  kConflict,           // 409: stale resourceVersion on update
  kGone,               // 410: a watch's resourceVersion is too old; relist
  kInvalid,            // 422: the object breaks a rule; see causes
  kTooManyRequests,    // 429
  kTimeout,            // the request, or the server handling it, timed out
  kServerError,        // other 5xx
  kTransport,          // could not connect, TLS failure, connection dropped
  kMalformedResponse,  // the server's answer is not what the API promises
  kConfig,             // the client configuration is unusable
  kOther,
};

std::string_view ErrorKindName(ErrorKind kind);

// One field-level cause of an Invalid error (metav1.StatusCause).
struct FieldCause {
  std::string field;   // e.g. "spec.policy.coolDown"
  std::string reason;  // e.g. "FieldValueInvalid"
  std::string message;
};

struct ApiError {
  ErrorKind kind = ErrorKind::kOther;
  int http_status = 0;  // 0 when no HTTP response was received
  std::string message;  // for people: what failed and why
  std::string reason;   // metav1.Status reason, when the server gave one
  std::vector<FieldCause> causes;
  // False only when the failure proves that the server never received the
  // request (no connection could be made for it), so that even a request that
  // is not idempotent may be sent again.
  bool may_have_reached_server = true;

  // Worth retrying the same request later: throttling, server-side trouble,
  // or a connection that failed.
  [[nodiscard]] bool retryable() const;
};

template <typename T>
using KubeResult = Result<T, ApiError>;
using KubeStatus = Result<void, ApiError>;

// Builds the error for a non-2xx response from its status code and body (a
// metav1.Status when the API server produced it). `what` says what was asked,
// e.g. "get configmaps default/settings".
ApiError ErrorFromResponse(long http_status, std::string_view body, std::string_view what);

ApiError MakeApiError(ErrorKind kind, std::string message);

}  // namespace discoblocks::kube
