// What the pod webhook (admission/pod_webhook.h) reads and writes in `serve`:
// lookups served from the manager's informers, never from the API server (an
// admission must answer within its timeout), and an ObjectWriter that creates
// through the API server. Also the PVC operation counter shared with the
// controllers.
#pragma once

#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admission/pod_webhook.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "util/metrics.h"

namespace discoblocks::op {

// discoblocks_pvc_operations_total{operation, result}: operation create,
// patch or label-orphaned; result success, error or already_exists.
class PvcOperations {
 public:
  // Null registry: counts nothing.
  explicit PvcOperations(metrics::Registry* registry);
  void Count(std::string_view operation, std::string_view result) const;

 private:
  metrics::CounterFamily* counter_ = nullptr;
};

// Creates through `client` (field manager `discoblocks`); on AlreadyExists,
// reads and returns what is stored under the name, for the webhook to check.
class ClientObjectWriter final : public admission::ObjectWriter {
 public:
  ClientObjectWriter(std::shared_ptr<const kube::Client> client, const PvcOperations* operations)
      : client_(std::move(client)), operations_(operations) {}

  Result<nlohmann::json> CreatePvcIfAbsent(const nlohmann::json& pvc) override;
  Result<nlohmann::json> CreateStorageClassIfAbsent(const nlohmann::json& storage_class) override;

 private:
  const std::shared_ptr<const kube::Client> client_;
  const PvcOperations* operations_;  // may be null
};

// The caches the lookups read; each outlives the lookups made from it.
struct PodWebhookCaches {
  const kube::Informer* disk_configs = nullptr;  // indexed by namespace
  const kube::Informer* storage_classes = nullptr;
  const kube::Informer* nodes = nullptr;
  const kube::Informer* claims = nullptr;  // indexed by the `discoblocks` label and namespace
};

// A cached DiskConfig with the CRD's defaults, read. A list's items may come
// without apiVersion and kind (the list says them): they are the DiskConfig's.
Result<admission::DiskConfig> ParseCachedDiskConfig(const nlohmann::json& object);

// DiskConfigs of a namespace not being deleted, with the CRD's defaults;
// one that does not parse is left out (and logged): the DiskConfig webhook
// refuses such objects, so only one stored before it ran can be.
admission::DiskConfigLookup DiskConfigsFromCache(const kube::Informer& disk_configs);
admission::StorageClassLookup StorageClassesFromCache(const kube::Informer& storage_classes);
admission::NodeLookup NodesFromCache(const kube::Informer& nodes);
// The claims of the namespace with every label given, through the
// `discoblocks` index when the labels name one.
admission::PvcLookup ClaimsFromCache(const kube::Informer& claims);

}  // namespace discoblocks::op
