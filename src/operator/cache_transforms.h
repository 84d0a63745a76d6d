// What the operator's informers keep of each object (their
// Informer::Options::transform): only the fields the controllers and the pod
// webhook read, so that 10,000 cached pods stay small. Each function builds a
// new object from those fields; what it is given may be any JSON (a field of
// an unexpected type is copied as it is, or left out where its parts are
// picked), and nothing throws.
//
// A reader that needs a field not kept here must add it here; the tests in
// tests/operator/cache_transforms_test.cc list what each cache holds.
#pragma once

#include <nlohmann/json.hpp>

namespace discoblocks::op {

// metadata: name, namespace, uid, resourceVersion, labels, ownerReferences,
//           deletionTimestamp
// spec:     nodeName; affinity.nodeAffinity (where a DaemonSet's pod goes);
//           volumes that can be disks (persistentVolumeClaim, ephemeral);
//           containers[].name, and .volumeMounts of those volumes
// status:   phase; containerStatuses[].name and .containerID (of those that
//           have one: the disk mounter's Job finds the containers by it)
// The other volumes (the service account's token, config maps, secrets,
// emptyDir) and their mounts, and the pod (anti-)affinity, are most of what is
// left of a pod and never a disk: with them, 10,000 pods of
// bench/informer_memory_bench.cc held 139 MiB of heap, without them 56 MiB.
nlohmann::json PodForCache(const nlohmann::json& pod);

// metadata: name, namespace, uid, resourceVersion, generation, labels,
//           annotations (but kubectl's last applied configuration),
//           ownerReferences, finalizers, creationTimestamp, deletionTimestamp
// spec and status: whole (small: a claim's size, class, volume and phase)
nlohmann::json PersistentVolumeClaimForCache(const nlohmann::json& claim);

// metadata: name, uid, resourceVersion, labels
// status:   addresses of type InternalIP, daemonEndpoints (where the kubelet
//           answers, for the autoscaler)
// The rest of a node's status (its images, conditions) is most of its size
// and none of our business.
nlohmann::json NodeForCache(const nlohmann::json& node);

}  // namespace discoblocks::op
