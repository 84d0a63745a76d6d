// The same lifecycle on every resource type Discoblocks uses: create, get,
// update, a conflicting update, list with a selector and pagination, a watch
// resumed from a resourceVersion, and delete.
#include <atomic>
#include <functional>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "kube/client.h"
#include "support/control_plane.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::ControlPlane;
using testing::TestNamespace;

struct Kind {
  std::string description;
  const ResourceType* type;
  // A valid object of this kind named `name`, in namespace `ns` when namespaced.
  std::function<json(const std::string& name, const std::string& ns)> make;
};

void PrintTo(const Kind& kind, std::ostream* out) { *out << kind.description; }

json WithMetadata(json object, const std::string& name, const std::string& ns,
                  const ResourceType& type) {
  object["metadata"] = {{"name", name}, {"labels", {{"suite", "lifecycle"}}}};
  if (type.namespaced) object["metadata"]["namespace"] = ns;
  return object;
}

// Deletes an object for good. PVCs get the kubernetes.io/pvc-protection
// finalizer, which a controller-manager would remove; none runs here, so the
// test removes it (with a merge patch) as that controller would.
void Remove(const Client& client, const ResourceType& type, const std::string& ns,
            const std::string& name) {
  ASSERT_TRUE(client.Delete(type, ns, name).ok());
  auto left = client.Get(type, ns, name);
  if (left.ok() && (*left)["metadata"].contains("finalizers")) {
    auto patched = client.MergePatch(type, ns, name, {{"metadata", {{"finalizers", nullptr}}}});
    ASSERT_TRUE(patched.ok() || patched.error().kind == ErrorKind::kNotFound)
        << patched.error().message;
  }
}

class LifecycleTest : public ::testing::TestWithParam<Kind> {};

TEST_P(LifecycleTest, CreateGetUpdateConflictListWatchDelete) {
  const Kind& kind = GetParam();
  const ResourceType& type = *kind.type;
  TestNamespace ns("life");
  auto client = ControlPlane::Get().AdminClient();
  // Cluster-scoped names must not collide between runs of this test.
  auto name = [&](int i) { return fmt::format("{}-{}", ns.name(), i); };
  const std::string where = type.namespaced ? ns.name() : "";

  // Create three, get one back.
  for (int i = 0; i < 3; ++i) {
    auto created = client->Create(type, where, kind.make(name(i), ns.name()));
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  auto fetched = client->Get(type, where, name(0));
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;

  // Update; then the same update from the stale copy conflicts.
  json changed = *fetched;
  changed["metadata"]["labels"]["changed"] = "yes";
  auto updated = client->Update(type, where, changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["metadata"]["labels"]["changed"], "yes");
  json stale = *fetched;
  stale["metadata"]["labels"]["changed"] = "stale";
  auto conflict = client->Update(type, where, stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict) << conflict.error().message;

  // List by selector, two per page.
  ListOptions options;
  options.label_selector = "suite=lifecycle";
  options.limit = 2;
  auto page = client->List(type, where, options);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ((*page)["items"].size(), 2U);
  auto all = client->ListAll(type, where, options);
  ASSERT_TRUE(all.ok()) << all.error().message;
  std::size_t ours = 0;
  for (const auto& item : (*all)["items"]) {
    ours += item["metadata"]["name"].get<std::string>().starts_with(ns.name()) ? 1 : 0;
  }
  EXPECT_EQ(ours, 3U);
  ListOptions changed_only;
  changed_only.label_selector = "suite=lifecycle,changed=yes";
  EXPECT_EQ((*client->List(type, where, changed_only))["items"].size(), 1U);

  // A watch from the list's version sees what happens after it.
  const std::string version = (*all)["metadata"]["resourceVersion"];
  Remove(*client, type, where, name(1));
  std::atomic<bool> cancel{false};
  WatchOptions watch;
  watch.resource_version = version;
  watch.label_selector = "suite=lifecycle";
  watch.timeout = std::chrono::seconds(10);
  bool saw_delete = false;
  auto watched = client->Watch(
      type, where, watch,
      [&](const WatchEvent& event) {
        saw_delete =
            event.type == WatchEvent::Type::kDeleted && event.object["metadata"]["name"] == name(1);
        return !saw_delete;
      },
      cancel);
  ASSERT_TRUE(watched.ok()) << watched.error().message;
  EXPECT_TRUE(saw_delete);

  // Delete the rest; they are gone.
  for (int i : {0, 2}) Remove(*client, type, where, name(i));
  auto gone = client->Get(type, where, name(0));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(
    Kube, LifecycleTest,
    ::testing::Values(Kind{"ConfigMaps", &resources::kConfigMaps,
                           [](const std::string& name, const std::string& ns) {
                             return WithMetadata({{"apiVersion", "v1"},
                                                  {"kind", "ConfigMap"},
                                                  {"data", {{"k", "v"}}}},
                                                 name, ns, resources::kConfigMaps);
                           }},
                      Kind{"StorageClasses", &resources::kStorageClasses,
                           [](const std::string& name, const std::string& ns) {
                             json object = testing::Fixture("storageclasses/ebs-gp3.yaml");
                             return WithMetadata(object, name, ns, resources::kStorageClasses);
                           }},
                      Kind{"PersistentVolumeClaims", &resources::kPersistentVolumeClaims,
                           [](const std::string& name, const std::string& ns) {
                             return WithMetadata(
                                 {{"apiVersion", "v1"},
                                  {"kind", "PersistentVolumeClaim"},
                                  {"spec",
                                   {{"storageClassName", "ebs-gp3"},
                                    {"accessModes", {"ReadWriteOnce"}},
                                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}},
                                 name, ns, resources::kPersistentVolumeClaims);
                           }},
                      Kind{"DiskConfigs", &resources::kDiskConfigs,
                           [](const std::string& name, const std::string& ns) {
                             json object = testing::Fixture("diskconfigs/nginx-ebs.yaml");
                             return WithMetadata(object, name, ns, resources::kDiskConfigs);
                           }}),
    [](const auto& test_info) { return test_info.param.description; });

}  // namespace
}  // namespace discoblocks::kube
