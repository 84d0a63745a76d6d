// A DiskConfig's nodeSelector as a pod's required node affinity, and the
// node a pod is pinned to.
#include "admission/pod_affinity.h"

#include <gtest/gtest.h>

namespace discoblocks::admission {
namespace {

using nlohmann::json;

json Requirement(const std::string& key, const std::string& op, const json& values = nullptr) {
  json requirement = {{"key", key}, {"operator", op}};
  if (!values.is_null()) requirement["values"] = values;
  return requirement;
}

json Terms(const json& pod) {
  return pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"];
}

json PodWithTerms(const json& terms) {
  return {{"spec",
           {{"containers", json::array()},
            {"affinity",
             {{"nodeAffinity",
               {{"requiredDuringSchedulingIgnoredDuringExecution",
                 {{"nodeSelectorTerms", terms}}}}}}}}}};
}

TEST(NodeRequirementsTest, LabelsAndExpressionsSayTheSameOfNodes) {
  const json selector = json::parse(R"({
    "matchLabels": {"kubernetes.io/os": "linux"},
    "matchExpressions": [
      {"key": "zone", "operator": "In", "values": ["a", "b"]},
      {"key": "spot", "operator": "DoesNotExist"}]})");
  const auto requirements = NodeRequirements(selector);
  ASSERT_TRUE(requirements) << requirements.error().message;
  EXPECT_EQ(json(*requirements), json::array({Requirement("kubernetes.io/os", "In", {"linux"}),
                                              Requirement("zone", "In", {"a", "b"}),
                                              Requirement("spot", "DoesNotExist")}));
}

TEST(NodeLabelsMeetTest, EachOperatorAsTheSchedulerJudgesIt) {
  const json labels = {{"zone", "a"}, {"os", "linux"}};
  EXPECT_TRUE(NodeLabelsMeet({}, labels));
  EXPECT_TRUE(NodeLabelsMeet({Requirement("zone", "In", {"a", "b"})}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("zone", "In", {"b"})}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("rack", "In", {"a"})}, labels));
  EXPECT_TRUE(NodeLabelsMeet({Requirement("zone", "NotIn", {"b"})}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("zone", "NotIn", {"a"})}, labels));
  EXPECT_TRUE(NodeLabelsMeet({Requirement("rack", "NotIn", {"a"})}, labels)) << "no label";
  EXPECT_TRUE(NodeLabelsMeet({Requirement("os", "Exists")}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("spot", "Exists")}, labels));
  EXPECT_TRUE(NodeLabelsMeet({Requirement("spot", "DoesNotExist")}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("os", "DoesNotExist")}, labels));
  // Every requirement must hold.
  EXPECT_FALSE(
      NodeLabelsMeet({Requirement("os", "Exists"), Requirement("zone", "In", {"b"})}, labels));
  EXPECT_FALSE(NodeLabelsMeet({Requirement("os", "Exists")}, nullptr)) << "a node with no labels";
}

TEST(NodeRequirementsTest, NoSelectorRequiresNothing) {
  EXPECT_TRUE(NodeRequirements(nullptr)->empty());
  EXPECT_TRUE(NodeRequirements(json::object())->empty());
}

TEST(NodeRequirementsTest, MalformedSelectorsNameTheField) {
  const auto message = [](const char* text) {
    const auto requirements = NodeRequirements(json::parse(text));
    return requirements ? std::string("(accepted)") : requirements.error().message;
  };
  EXPECT_EQ(message(R"("linux")"),
            "spec.nodeSelector: expected a LabelSelector (an object), got a string");
  EXPECT_EQ(message(R"({"matchLabels": {"os": 1}})"),
            "spec.nodeSelector.matchLabels.os: expected a string, got a number");
  EXPECT_EQ(
      message(R"({"matchExpressions": [{"key": "z", "operator": "Gt", "values": ["1"]}]})"),
      R"(spec.nodeSelector.matchExpressions[0].operator: "Gt" is not In, NotIn, Exists or DoesNotExist)");
  EXPECT_EQ(message(R"({"matchExpressions": [{"key": "z", "operator": "In"}]})"),
            "spec.nodeSelector.matchExpressions[0].values: must not be empty for In");
  EXPECT_EQ(
      message(R"({"matchExpressions": [{"key": "z", "operator": "Exists", "values": ["x"]}]})"),
      "spec.nodeSelector.matchExpressions[0].values: must be empty for Exists");
  EXPECT_EQ(message(R"({"matchExpressions": [{"operator": "Exists"}]})"),
            "spec.nodeSelector.matchExpressions[0].key: is required");
  EXPECT_EQ(message(R"({"matchExpressions": [{"key": "z", "operator": "In", "values": [1]}]})"),
            "spec.nodeSelector.matchExpressions[0].values: expected strings, got a number");
}

TEST(RequireNodeAffinityTest, PodWithoutAffinityGetsOneTerm) {
  json pod = {{"spec", {{"containers", json::array()}}}};
  ASSERT_TRUE(RequireNodeAffinity(pod, {Requirement("os", "In", {"linux"})}));
  EXPECT_EQ(Terms(pod), json::parse(R"([{"matchExpressions":[
      {"key":"os","operator":"In","values":["linux"]}]}])"));
}

// The terms are ORed: (A or B) and S is (A and S) or (B and S).
TEST(RequireNodeAffinityTest, EveryTermOfThePodsOwnGetsTheRequirements) {
  json pod = PodWithTerms(json::parse(R"([
      {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
      {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
      {}])"));
  const json os = Requirement("os", "In", {"linux"});
  ASSERT_TRUE(RequireNodeAffinity(pod, {os}));
  const json terms = Terms(pod);
  EXPECT_EQ(terms[0]["matchExpressions"], json::array({Requirement("zone", "In", {"a"}), os}));
  EXPECT_EQ(terms[1]["matchExpressions"], json::array({os}));
  EXPECT_EQ(terms[1]["matchFields"].size(), 1U);
  EXPECT_EQ(terms[2], json::object()) << "an empty term matches no node, with or without us";
  // Once is enough, however often it is required.
  ASSERT_TRUE(RequireNodeAffinity(pod, {os}));
  EXPECT_EQ(Terms(pod), terms);
}

TEST(RequireNodeAffinityTest, PreferredAffinityAndPodAffinityAreKept) {
  json pod = json::parse(R"({"spec": {"affinity": {
      "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []},
      "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}}}})");
  ASSERT_TRUE(RequireNodeAffinity(pod, {Requirement("os", "Exists")}));
  EXPECT_TRUE(pod["spec"]["affinity"].contains("podAntiAffinity"));
  EXPECT_EQ(
      pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
          .size(),
      1U);
  EXPECT_EQ(Terms(pod).size(), 1U);
}

TEST(RequireNodeAffinityTest, MalformedAffinityNamesTheFieldAndLeavesThePod) {
  json pod = PodWithTerms(json::array({json::object({{"matchFields", json::array()}}), 5}));
  const json before = pod;
  const auto required = RequireNodeAffinity(pod, {Requirement("os", "Exists")});
  ASSERT_FALSE(required);
  EXPECT_EQ(required.error().message,
            "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
            "nodeSelectorTerms[1]: expected an object, got a number");
  EXPECT_EQ(pod, before);
  json affinity_string = {{"spec", {{"affinity", "x"}}}};
  EXPECT_EQ(RequireNodeAffinity(affinity_string, {Requirement("os", "Exists")}).error().message,
            "spec.affinity: expected an object, got a string");
}

TEST(PodNodeNameTest, FromNodeNameOrTheDaemonSetsAffinity) {
  EXPECT_EQ(*PodNodeName(json::parse(R"({"spec": {"nodeName": "n1"}})")), "n1");
  const json pinned =
      json::parse(R"({"key": "metadata.name", "operator": "In", "values": ["n2"]})");
  EXPECT_EQ(*PodNodeName(PodWithTerms({{{"matchFields", {pinned}}}})), "n2");
  // Every term pins to n2 (the DaemonSet controller adds it to each).
  EXPECT_EQ(*PodNodeName(PodWithTerms({{{"matchFields", {pinned}}},
                                       {{"matchFields", {pinned}},
                                        {"matchExpressions", {Requirement("os", "Exists")}}}})),
            "n2");
}

TEST(PodNodeNameTest, UnknownWhenNothingPinsThePodToOneNode) {
  EXPECT_EQ(*PodNodeName(json::parse(R"({"spec": {}})")), std::nullopt);
  EXPECT_EQ(*PodNodeName(json::object()), std::nullopt);
  const json pinned =
      json::parse(R"({"key": "metadata.name", "operator": "In", "values": ["n2"]})");
  const json other = json::parse(R"({"key": "metadata.name", "operator": "In", "values": ["n3"]})");
  const json two =
      json::parse(R"({"key": "metadata.name", "operator": "In", "values": ["n2", "n3"]})");
  EXPECT_EQ(*PodNodeName(PodWithTerms({{{"matchFields", {pinned}}}, {{"matchFields", {other}}}})),
            std::nullopt);
  EXPECT_EQ(*PodNodeName(PodWithTerms({{{"matchFields", {pinned}}},
                                       {{"matchExpressions", {Requirement("os", "Exists")}}}})),
            std::nullopt);
  EXPECT_EQ(*PodNodeName(PodWithTerms({{{"matchFields", {two}}}})), std::nullopt);
  EXPECT_FALSE(PodNodeName(json::parse(R"({"spec": {"nodeName": 5}})")));
  EXPECT_EQ(*PodNodeName(json::parse(R"({"spec": {"affinity": [1]}})")), std::nullopt);
}

TEST(IsDaemonSetPodTest, OnlyWhenADaemonSetIsTheController) {
  const auto pod = [](const char* kind, bool controller) {
    json owner = {
        {"apiVersion", "apps/v1"}, {"kind", kind}, {"name", "x"}, {"controller", controller}};
    json object;
    object["metadata"]["ownerReferences"] = json::array({owner});
    return object;
  };
  EXPECT_TRUE(IsDaemonSetPod(pod("DaemonSet", true)));
  EXPECT_FALSE(IsDaemonSetPod(pod("DaemonSet", false)));
  EXPECT_FALSE(IsDaemonSetPod(pod("ReplicaSet", true)));
  EXPECT_FALSE(IsDaemonSetPod(json::object()));
  EXPECT_FALSE(IsDaemonSetPod(json::parse(R"({"metadata": {"ownerReferences": "x"}})")));
}

}  // namespace
}  // namespace discoblocks::admission
