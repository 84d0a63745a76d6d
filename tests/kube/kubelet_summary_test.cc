// ParseSummary and KubeletTargetOf on documents, without a network.
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kube/kubelet_stats.h"
#include "kube/kubelet_summary.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;

// A pod as a real kubelet reports it: container stats around the volumes.
json Pod(const std::string& name, json volumes) {
  return {{"podRef", {{"name", name}, {"namespace", "apps"}, {"uid", name + "-uid"}}},
          {"startTime", "2026-11-30T00:00:00Z"},
          {"containers",
           {{{"name", "app"},
             {"cpu", {{"time", "2026-11-30T01:00:00Z"}, {"usageNanoCores", 1234}}},
             {"memory", {{"workingSetBytes", 1 << 20}, {"rssBytes", 12345}}},
             {"rootfs", {{"capacityBytes", 100}, {"usedBytes", 5}, {"inodes", 9}}},
             {"logs", {{"usedBytes", 7}}}}}},
          {"network", {{"interfaces", {{{"name", "eth0"}, {"rxBytes", 1}}}}}},
          {"volume", std::move(volumes)},
          {"ephemeral-storage", {{"usedBytes", 3}}}};
}

json PvcVolume(const std::string& volume, const std::string& pvc) {
  return {{"name", volume},
          {"pvcRef", {{"name", pvc}, {"namespace", "apps"}}},
          {"time", "2026-11-30T01:00:00Z"},
          {"capacityBytes", 1073741824},
          {"availableBytes", 200000000},
          {"usedBytes", 838860800},
          {"inodes", 65536},
          {"inodesFree", 65000},
          {"inodesUsed", 536}};
}

json Summary(json pods) {
  return {{"node",
           {{"nodeName", "node-1"},
            {"fs", {{"capacityBytes", 1}, {"usedBytes", 1}}},
            {"systemContainers", {{{"name", "kubelet"}, {"cpu", {{"usageNanoCores", 1}}}}}}}},
          {"pods", std::move(pods)}};
}

TEST(ParseSummaryTest, KeepsOnlyVolumesWithAPvcRef) {
  json config_map = {{"name", "config"}, {"capacityBytes", 10}, {"usedBytes", 1}};
  const std::string body =
      Summary({Pod("web-0", {config_map, PvcVolume("data", "data-web-0")}),
               Pod("web-1", {PvcVolume("data", "data-web-1"), PvcVolume("logs", "logs-web-1")}),
               Pod("no-volumes", json::array())})
          .dump();
  auto parsed = ParseSummary(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->volumes.size(), 3u);
  EXPECT_EQ(parsed->skipped_count, 0u);
  const VolumeUsage& first = parsed->volumes[0];
  EXPECT_EQ(first.pvc_namespace, "apps");
  EXPECT_EQ(first.pvc_name, "data-web-0");
  EXPECT_EQ(first.pod_namespace, "apps");
  EXPECT_EQ(first.pod_name, "web-0");
  EXPECT_EQ(first.pod_uid, "web-0-uid");
  EXPECT_EQ(first.volume_name, "data");
  EXPECT_EQ(first.capacity_bytes, 1073741824u);
  EXPECT_EQ(first.available_bytes, 200000000u);
  EXPECT_EQ(first.used_bytes, 838860800u);
  EXPECT_EQ(first.inodes, 65536u);
  EXPECT_EQ(first.inodes_free, 65000u);
  EXPECT_EQ(first.inodes_used, 536u);
  EXPECT_EQ(first.time, "2026-11-30T01:00:00Z");
  EXPECT_EQ(parsed->volumes[2].pvc_name, "logs-web-1");
  EXPECT_EQ(parsed->volumes[2].pod_name, "web-1");
}

TEST(ParseSummaryTest, PodRefAfterTheVolumesStillNamesThem) {
  const std::string body =
      R"({"pods":[{"volume":[{"name":"d","pvcRef":{"name":"p","namespace":"n"}}],)"
      R"("podRef":{"name":"late","namespace":"n","uid":"u"}}]})";
  auto parsed = ParseSummary(body);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->volumes.size(), 1u);
  EXPECT_EQ(parsed->volumes[0].pod_name, "late");
}

TEST(ParseSummaryTest, AbsentAndNullFiguresAreAbsent) {
  json volume = {{"name", "data"},
                 {"pvcRef", {{"name", "p"}, {"namespace", "apps"}}},
                 {"capacityBytes", 100},
                 {"usedBytes", nullptr}};
  auto parsed = ParseSummary(Summary({Pod("a", {volume})}).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->volumes.size(), 1u);
  const VolumeUsage& usage = parsed->volumes[0];
  EXPECT_EQ(usage.capacity_bytes, 100u);
  EXPECT_FALSE(usage.available_bytes.has_value());
  EXPECT_FALSE(usage.used_bytes.has_value());
  EXPECT_FALSE(usage.inodes.has_value());
  EXPECT_FALSE(usage.inodes_free.has_value());
  EXPECT_FALSE(usage.inodes_used.has_value());
  EXPECT_EQ(usage.time, "");
}

TEST(ParseSummaryTest, NoPodsIsAnEmptyAnswer) {
  for (const char* body : {R"({"node":{"nodeName":"n"}})", R"({"pods":null})", R"({"pods":[]})"}) {
    auto parsed = ParseSummary(body);
    ASSERT_TRUE(parsed.ok()) << body << ": " << parsed.error().message;
    EXPECT_TRUE(parsed->volumes.empty()) << body;
  }
}

TEST(ParseSummaryTest, AWrongTypeInAVolumeSkipsThatVolumeAndSaysWhere) {
  json bad_used = PvcVolume("data", "bad-used");
  bad_used["usedBytes"] = "800Mi";
  json negative = PvcVolume("data", "negative");
  negative["availableBytes"] = -1;
  json bad_ref = PvcVolume("data", "x");
  bad_ref["pvcRef"]["name"] = 42;
  json array_capacity = PvcVolume("data", "array-capacity");
  array_capacity["capacityBytes"] = json::array({1});
  auto parsed = ParseSummary(Summary({Pod("a", {bad_used, PvcVolume("ok", "good"), negative}),
                                      Pod("b", {bad_ref, array_capacity})})
                                 .dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->volumes.size(), 1u);
  EXPECT_EQ(parsed->volumes[0].pvc_name, "good");
  EXPECT_EQ(parsed->skipped_count, 4u);
  ASSERT_EQ(parsed->skipped.size(), 4u);
  EXPECT_EQ(parsed->skipped[0],
            "pods[0].volume[0].usedBytes: expected a non-negative integer, got a string");
  EXPECT_EQ(parsed->skipped[1],
            "pods[0].volume[2].availableBytes: expected a non-negative integer, got a negative "
            "number");
  EXPECT_EQ(parsed->skipped[2], "pods[1].volume[0].pvcRef.name: expected a string, got a number");
  EXPECT_EQ(parsed->skipped[3],
            "pods[1].volume[1].capacityBytes: expected a non-negative integer, got an array");
}

TEST(ParseSummaryTest, AWrongPodRefSkipsThePodsVolumes) {
  json pod = Pod("a", {PvcVolume("d1", "p1"), PvcVolume("d2", "p2")});
  pod["podRef"] = "a";
  auto parsed = ParseSummary(Summary({pod, Pod("b", {PvcVolume("d", "p3")})}).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->volumes.size(), 1u);
  EXPECT_EQ(parsed->volumes[0].pvc_name, "p3");
  EXPECT_EQ(parsed->skipped_count, 2u);
  ASSERT_EQ(parsed->skipped.size(), 1u);
  EXPECT_EQ(parsed->skipped[0], "pods[0].podRef: expected an object, got a string");
}

TEST(ParseSummaryTest, SkippedMessagesAreBounded) {
  json volumes = json::array();
  for (int i = 0; i < 100; ++i) {
    json volume = PvcVolume("d", fmt::format("p{}", i));
    volume["inodes"] = true;
    volumes.push_back(volume);
  }
  auto parsed = ParseSummary(Summary({Pod("a", volumes)}).dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->skipped_count, 100u);
  EXPECT_EQ(parsed->skipped.size(), kMaxSkippedMessages);
}

TEST(ParseSummaryTest, AWrongSkeletonIsAnErrorNamingIt) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1,2])", "the summary is not a JSON object: got an array"},
      {R"("summary")", "the summary is not a JSON object: got a string"},
      {R"({"pods":{}})", "pods: expected an array, got an object"},
      {R"({"pods":"all"})", "pods: expected an array, got a string"},
      {R"({"pods":[{"podRef":{}},7]})", "pods[1]: expected an object, got a number"},
      {R"({"pods":[[]]})", "pods[0]: expected an object, got an array"},
  };
  for (const auto& [body, message] : cases) {
    auto parsed = ParseSummary(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.error().message, message) << body;
  }
}

TEST(ParseSummaryTest, GarbageIsNotJsonWithItsPlace) {
  for (const char* body :
       {"", "<html>502 Bad Gateway</html>", R"({"pods":[)", R"({"pods":[]} x)", "\xff\xfe{}"}) {
    auto parsed = ParseSummary(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_NE(parsed.error().message.find("not valid JSON at byte"), std::string::npos)
        << parsed.error().message;
  }
}

TEST(ParseSummaryTest, DeepNestingIsRefusedWherever) {
  const std::string deep_array = std::string(100000, '[') + std::string(100000, ']');
  const std::string in_skipped = R"({"node":)" + std::string(50, '[') + std::string(50, ']') + "}";
  const std::string in_volume =
      R"({"pods":[{"volume":[{"x":)" + std::string(40, '[') + std::string(40, ']') + "}]}]}";
  for (const std::string& body : {deep_array, in_skipped, in_volume}) {
    auto parsed = ParseSummary(body);
    ASSERT_FALSE(parsed.ok()) << body.substr(0, 40);
    if (body == deep_array) {
      EXPECT_EQ(parsed.error().message, "the summary is not a JSON object: got an array");
    } else {
      EXPECT_EQ(parsed.error().message, "the summary nests deeper than 32 levels");
    }
  }
  // Within the limit is fine.
  const std::string shallow = R"({"node":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_TRUE(ParseSummary(shallow).ok());
}

json Node(json addresses, json port) {
  json node = {{"metadata", {{"name", "node-1"}}}, {"status", {{"addresses", addresses}}}};
  if (!port.is_null()) node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = port;
  return node;
}

TEST(KubeletTargetOfTest, InternalIpAndPort) {
  auto target = KubeletTargetOf(Node({{{"type", "Hostname"}, {"address", "node-1"}},
                                      {{"type", "InternalIP"}, {"address", "127.0.0.1"}}},
                                     10250));
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->node, "node-1");
  EXPECT_EQ(target->address, "127.0.0.1");
  EXPECT_EQ(target->port, 10250);
}

TEST(KubeletTargetOfTest, ErrorsNameWhatIsMissing) {
  const json internal = {{{"type", "InternalIP"}, {"address", "127.0.0.1"}}};
  const std::pair<json, std::string> cases[] = {
      {json::array(), "node: expected an object, got an array"},
      {json::object(), "node: metadata.name is missing or not a string"},
      {Node({{{"type", "ExternalIP"}, {"address", "1.2.3.4"}}}, 10250),
       "node node-1: no InternalIP in status.addresses; its kubelet cannot be reached"},
      {Node("many", 10250), "node node-1: status.addresses: expected an array, got a string"},
      {Node(internal, nullptr),
       "node node-1: no status.daemonEndpoints.kubeletEndpoint.Port; is its kubelet registered?"},
      {Node(internal, 0),
       "node node-1: status.daemonEndpoints.kubeletEndpoint.Port is 0, not a port (1-65535)"},
      {Node(internal, "10250"),
       "node node-1: status.daemonEndpoints.kubeletEndpoint.Port is \"10250\", not a port "
       "(1-65535)"},
  };
  for (const auto& [node, message] : cases) {
    auto target = KubeletTargetOf(node);
    ASSERT_FALSE(target.ok()) << node.dump();
    EXPECT_EQ(target.error().message, message);
  }
}

}  // namespace
}  // namespace discoblocks::kube
