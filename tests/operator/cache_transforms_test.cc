// What the operator's caches keep of pods, claims and nodes: exactly the
// fields listed in operator/cache_transforms.h, from real-looking objects, and
// nothing that throws on odd ones.
#include "operator/cache_transforms.h"

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;

// A pod as the API server returns it, with what a Deployment's pods carry.
const json kPod = json::parse(R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "db-7d9f8c6b5-x2x9z", "generateName": "db-7d9f8c6b5-", "namespace": "shop",
    "uid": "6f1c2a8e-0000-4000-8000-000000000001", "resourceVersion": "4242",
    "creationTimestamp": "2024-05-01T10:00:00Z", "deletionTimestamp": "2024-05-01T11:00:00Z",
    "labels": {"app": "db", "pod-template-hash": "7d9f8c6b5"},
    "annotations": {"prometheus.io/scrape": "true", "checksum/config": "0123456789abcdef"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-7d9f8c6b5",
                         "uid": "6f1c2a8e-0000-4000-8000-000000000002", "controller": true}],
    "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                       "fieldsV1": {"f:metadata": {"f:labels": {}}}}]
  },
  "spec": {
    "nodeName": "node-3",
    "serviceAccountName": "db",
    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
      "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                              "values": ["node-3"]}]}]}},
                 "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                   {"weight": 100, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                     "labelSelector": {"matchLabels": {"app": "db"}}}}]}},
    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}},
                {"name": "config", "configMap": {"name": "db-config"}},
                {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
                  "accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                  "resources": {"requests": {"storage": "1Gi"}}}}}},
                {"name": "kube-api-access-x1", "projected": {"sources": [
                  {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}],
    "containers": [
      {"name": "db", "image": "postgres:16", "args": ["-c", "max_connections=200"],
       "env": [{"name": "PGDATA", "value": "/data/pg"}],
       "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
       "volumeMounts": [{"name": "data", "mountPath": "/data"},
                        {"name": "config", "mountPath": "/etc/db", "readOnly": true},
                        {"name": "kube-api-access-x1", "mountPath": "/var/run/secrets"}]},
      {"name": "exporter", "image": "exporter:1", "ports": [{"containerPort": 9187}],
       "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"},
                        {"name": "kube-api-access-x1", "mountPath": "/var/run/secrets"}]},
      {"name": "shell", "image": "busybox"}
    ],
    "initContainers": [{"name": "init", "image": "busybox"}],
    "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]
  },
  "status": {
    "phase": "Running", "podIP": "10.0.0.7", "qosClass": "Burstable",
    "conditions": [{"type": "Ready", "status": "True"}],
    "containerStatuses": [
      {"name": "db", "ready": true, "restartCount": 0, "containerID": "containerd://abc",
       "image": "postgres:16", "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}}},
      {"name": "exporter", "ready": false, "restartCount": 0}
    ]
  }
})");

// Only volumes that can be disks, and their mounts; only the node affinity.
TEST(CacheTransformsTest, PodKeepsWhatTheControllersAndThePodWebhookRead) {
  const json expected = json::parse(R"({
    "metadata": {
      "name": "db-7d9f8c6b5-x2x9z", "namespace": "shop",
      "uid": "6f1c2a8e-0000-4000-8000-000000000001", "resourceVersion": "4242",
      "deletionTimestamp": "2024-05-01T11:00:00Z",
      "labels": {"app": "db", "pod-template-hash": "7d9f8c6b5"},
      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-7d9f8c6b5",
                           "uid": "6f1c2a8e-0000-4000-8000-000000000002", "controller": true}]
    },
    "spec": {
      "nodeName": "node-3",
      "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                "values": ["node-3"]}]}]}}},
      "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}},
                  {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                    "resources": {"requests": {"storage": "1Gi"}}}}}}],
      "containers": [
        {"name": "db", "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
        {"name": "exporter", "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]},
        {"name": "shell"}
      ]
    },
    "status": {"phase": "Running",
               "containerStatuses": [{"name": "db", "containerID": "containerd://abc"}]}
  })");
  const json cached = PodForCache(kPod);
  EXPECT_EQ(cached, expected) << cached.dump(2);
}

TEST(CacheTransformsTest, PodWithoutOptionalFieldsStaysMinimal) {
  const json pending = {{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
                        {"spec", {{"containers", {{{"name", "c"}, {"image", "i"}}}}}}};
  EXPECT_EQ(PodForCache(pending), (json{{"metadata", {{"name", "p"}, {"namespace", "ns"}}},
                                        {"spec", {{"containers", {{{"name", "c"}}}}}}}));
}

TEST(CacheTransformsTest, ClaimKeepsSpecStatusAndMetadataButTheServersBookkeeping) {
  const json claim = json::parse(R"({
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {
      "name": "db-data", "namespace": "shop", "uid": "u", "resourceVersion": "9",
      "generation": 2, "creationTimestamp": "2024-05-01T10:00:00Z",
      "labels": {"discoblocks": "db", "discoblocks-index": "0"},
      "annotations": {"pv.kubernetes.io/bind-completed": "yes",
                      "kubectl.kubernetes.io/last-applied-configuration": "{}"},
      "finalizers": ["kubernetes.io/pvc-protection"],
      "managedFields": [{"manager": "discoblocks"}]
    },
    "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
             "resources": {"requests": {"storage": "10Gi"}}, "volumeName": "pv-1"},
    "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}}
  })");
  json expected = claim;
  expected.erase("apiVersion");
  expected.erase("kind");
  expected["metadata"].erase("managedFields");
  expected["metadata"]["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
  EXPECT_EQ(PersistentVolumeClaimForCache(claim), expected);
}

TEST(CacheTransformsTest, NodeKeepsItsNameAndLabelsOnly) {
  const json node = json::parse(R"({
    "apiVersion": "v1", "kind": "Node",
    "metadata": {"name": "node-3", "uid": "u", "resourceVersion": "5",
                 "labels": {"topology.kubernetes.io/zone": "a"},
                 "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
    "spec": {"podCIDR": "10.0.3.0/24"},
    "status": {"images": [{"names": ["postgres:16"], "sizeBytes": 1}],
               "conditions": [{"type": "Ready", "status": "True"}],
               "addresses": [{"type": "Hostname", "address": "node-3"},
                             {"type": "InternalIP", "address": "127.0.0.1"}],
               "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}
  })");
  EXPECT_EQ(NodeForCache(node),
            json::parse(R"({"metadata": {"name": "node-3", "uid": "u", "resourceVersion": "5",
                            "labels": {"topology.kubernetes.io/zone": "a"}},
                            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})"));
}

TEST(CacheTransformsTest, OddShapesGiveSmallObjectsAndNoException) {
  for (const json& odd :
       {json(nullptr), json::array({1}), json("pod"), json{{"metadata", 1}, {"spec", "x"}},
        json{{"spec", {{"containers", "not a list"}}}},
        json{{"spec", {{"containers", {1, json::object()}}}}}}) {
    EXPECT_TRUE(PodForCache(odd).is_object()) << odd.dump();
    EXPECT_TRUE(PersistentVolumeClaimForCache(odd).is_object()) << odd.dump();
    EXPECT_TRUE(NodeForCache(odd).is_object()) << odd.dump();
  }
  EXPECT_EQ(PodForCache(json{{"spec", {{"containers", {1, {{"name", "c"}}}}}}}),
            (json{{"spec", {{"containers", {json::object(), {{"name", "c"}}}}}}}));
  // Mounts with no name, volumes of another shape: dropped, not a crash.
  EXPECT_EQ(
      PodForCache(json{
          {"spec",
           {{"volumes", {1, {{"name", "d"}, {"ephemeral", json::object()}}}},
            {"containers",
             {{{"name", "c"}, {"volumeMounts", {1, {{"mountPath", "/x"}}, {{"name", "d"}}}}}}}}}}),
      (json{{"spec",
             {{"volumes", {{{"name", "d"}, {"ephemeral", json::object()}}}},
              {"containers", {{{"name", "c"}, {"volumeMounts", {{{"name", "d"}}}}}}}}}}));
}

}  // namespace
}  // namespace discoblocks::op
