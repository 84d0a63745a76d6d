// The autoscaler's new disks (the `new-disk` decision): the family's next
// claim, built as the pod webhook builds claims (admission::PlanAddedDisk:
// the driver's stub, the topology the pod's node calls for) and created with
// its StorageClass copy. It is owned as the claim it follows is (by the pod,
// for ReadWriteOnce), so it goes with its family. Attaching it and mounting
// it into the running pod follow once it is bound.
#pragma once

#include "admission/pod_mutation.h"
#include "admission/pod_webhook.h"
#include "drivers/registry.h"
#include "kube/informer.h"
#include "operator/autoscale_actions.h"

namespace discoblocks::op {

struct NewDiskSources {
  const drivers::Registry* registry = nullptr;  // may be null: every driver missing
  drivers::CallOptions call_options;
  const kube::Informer* storage_classes = nullptr;
  const kube::Informer* nodes = nullptr;
  const kube::Informer* claims = nullptr;  // indexed by the `discoblocks` label
  admission::ObjectWriter* writer = nullptr;
};

// Everything in `sources` outlives the function.
AddDisk NewDiskMaker(NewDiskSources sources);

}  // namespace discoblocks::op
