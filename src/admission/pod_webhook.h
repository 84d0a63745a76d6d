// The pod mutating webhook (an AdmissionWebhook, review.h): its answer carries
// a JSON Patch, and what it creates in the cluster goes through an
// ObjectWriter the caller supplies.
#pragma once

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "admission/pod_mutation.h"
#include "admission/review.h"
#include "util/metrics.h"
#include "util/result.h"

namespace discoblocks::admission {

// The original's path, kept so existing webhook configurations work.
inline constexpr std::string_view kMutatePodPath = "/mutate--v1-pod";

// Creates the objects a pod's disks need (in the operator: through the API
// server, with Discoblocks' field manager).
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  // Each creates the object unless one of its name exists, and returns the
  // object stored under that name: the one created, or the one that was
  // there (AlreadyExists), which the webhook then checks is the one it meant
  // (SameManagedObject). An error says why there is neither.
  virtual Result<nlohmann::json> CreatePvcIfAbsent(const nlohmann::json& pvc) = 0;
  virtual Result<nlohmann::json> CreateStorageClassIfAbsent(
      const nlohmann::json& storage_class) = 0;
};

// The DiskConfigs of a namespace that are not being deleted, with the CRD's
// defaults applied.
using DiskConfigLookup = std::function<std::vector<DiskConfig>(std::string_view ns)>;

struct PodWebhookContext {
  const drivers::Registry* registry = nullptr;
  drivers::CallOptions call_options;
  DiskConfigLookup disk_configs;
  StorageClassLookup storage_class;
  NodeLookup node;
  PvcLookup pvcs;
  ObjectWriter* writer = nullptr;  // not owned; outlives the webhook
};

// A pod CREATE gets MutatePod's answer, after the StorageClasses and PVCs it
// needs are created (never on a dry run: request.dryRun true creates nothing);
// a creation that fails denies the pod with the reason. Every other
// operation, and subresources, are allowed unchanged.
class PodWebhook final : public AdmissionWebhook {
 public:
  PodWebhook(PodWebhookContext context, metrics::Registry* metrics)
      : AdmissionWebhook(kMutatePodPath, metrics), context_(std::move(context)) {}

 private:
  [[nodiscard]] WebhookResponse Decide(const ReviewRequest& request,
                                       Clock::time_point started) const override;
  [[nodiscard]] PodMutation Mutate(const ReviewRequest& request) const;

  PodWebhookContext context_;
};

}  // namespace discoblocks::admission
