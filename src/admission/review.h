// The AdmissionReview (admission.k8s.io/v1) envelope, shared by the webhooks:
// reading a request, writing the answer, and the metrics every endpoint keeps.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/rules.h"
#include "util/metrics.h"
#include "util/result.h"

namespace discoblocks::admission {

struct WebhookResponse {
  int http_status = 200;
  std::string body;  // JSON: an AdmissionReview, or {"error": ...} for a 4xx
};

struct ReviewRequest {
  std::string uid;
  std::string operation_name;  // as sent
  Operation operation = Operation::kCreate;
  std::string sub_resource;  // e.g. "status"; empty for the resource itself
  std::string ns;
  std::string name;
  // Into the parsed review; null when absent.
  const nlohmann::json* object = nullptr;
  const nlohmann::json* old_object = nullptr;
  bool dry_run = false;
};

// "<namespace>/<name>", or the name alone for a cluster-scoped object, for logs.
std::string ObjectName(const ReviewRequest& request);

struct ReviewError {
  std::string message;  // for the 400, naming what was wrong
  // The operation for metrics: "unknown" before it was read, "other" for one
  // the client made up (so that it cannot create a time series of its own).
  std::string operation_label = "unknown";
};

// Parses `body` into `review` within kReviewLimits (limits first: copying or
// dumping a document recurses, so one nested too deeply must not even be
// parsed) and reads its request. Every field goes through checked accessors:
// a wrong type is an error that names the field, never an exception.
Result<ReviewRequest, ReviewError> ReadReview(std::string_view body, nlohmann::json& review);

struct AdmissionAnswer {
  bool allowed = true;
  std::string message;  // why denied (sent with code 403)
  std::vector<std::string> warnings;
  // RFC 6902 operations, sent base64-encoded with patchType JSONPatch; none
  // when null or empty.
  nlohmann::json patch;
};

// The AdmissionReview answering request `uid`.
WebhookResponse Answer(std::string_view uid, const AdmissionAnswer& answer);

// A 400 with {"error": message}.
WebhookResponse BadRequest(const std::string& message);

// discoblocks_admission_requests_total{endpoint, operation, result} and
// discoblocks_admission_duration_seconds{endpoint, result}, shared by every
// endpoint. `registry` may be null: nothing is recorded then.
class AdmissionMetrics {
 public:
  AdmissionMetrics(metrics::Registry* registry, std::string_view endpoint);
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }
  void Record(const std::string& operation_label, const std::string& result,
              std::chrono::steady_clock::duration elapsed) const;

 private:
  std::string endpoint_;
  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* latency_ = nullptr;
};

// An admission endpoint: an AdmissionReview v1 in, an AdmissionReview (or a
// 400) out. Transport-free (the HTTPS server calls it), so that it can be
// tested and measured on its own. Handle reads the envelope; a body that is
// not an AdmissionReview v1 with a request and a uid, or has a field of the
// wrong type in the envelope, gets a 400 saying what was wrong; Decide
// answers every other request. Never throws.
class AdmissionWebhook {
 public:
  virtual ~AdmissionWebhook() = default;

  [[nodiscard]] WebhookResponse Handle(std::string_view body) const;
  [[nodiscard]] const std::string& path() const { return metrics_.endpoint(); }

 protected:
  using Clock = std::chrono::steady_clock;

  // `metrics` may be null. Registers the families there, shared by every
  // endpoint (AdmissionMetrics).
  AdmissionWebhook(std::string_view path, metrics::Registry* metrics) : metrics_(metrics, path) {}

  // Counts a decided request (`result`: allowed, mutated or denied).
  void Record(const ReviewRequest& request, const std::string& result,
              Clock::time_point started) const {
    metrics_.Record(request.operation_name, result, Clock::now() - started);
  }

 private:
  [[nodiscard]] virtual WebhookResponse Decide(const ReviewRequest& request,
                                               Clock::time_point started) const = 0;

  AdmissionMetrics metrics_;
};

}  // namespace discoblocks::admission
