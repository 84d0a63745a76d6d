// The operator's index functions: the values each object is filed under, and
// none (rather than an exception) for objects without the field or of odd shapes.
#include "operator/cache_indexes.h"

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;
using Values = std::vector<std::string>;

TEST(CacheIndexesTest, PodsByNode) {
  EXPECT_EQ(NodeNameIndex(json{{"spec", {{"nodeName", "node-3"}}}}), Values{"node-3"});
  EXPECT_EQ(NodeNameIndex(json{{"spec", {{"nodeName", ""}}}}), Values{});  // not scheduled
  EXPECT_EQ(NodeNameIndex(json{{"spec", json::object()}}), Values{});
}

TEST(CacheIndexesTest, ObjectsByEachLabel) {
  const json pod = {{"metadata", {{"labels", {{"app", "db"}, {"tier", "data"}}}}}};
  EXPECT_EQ(LabelIndex(pod), (Values{"app=db", "tier=data"}));
  EXPECT_EQ(LabelIndexValue("app", "db"), "app=db");
  EXPECT_EQ(LabelIndex(json{{"metadata", {{"name", "unlabelled"}}}}), Values{});
}

TEST(CacheIndexesTest, ClaimsByTheirDiskConfig) {
  const json claim = {
      {"metadata", {{"labels", {{"discoblocks", "db-disks"}, {"discoblocks-index", "0"}}}}}};
  EXPECT_EQ(DiskConfigLabelIndex(claim), Values{"db-disks"});
  EXPECT_EQ(DiskConfigLabelIndex(json{{"metadata", {{"labels", {{"app", "x"}}}}}}), Values{});
}

TEST(CacheIndexesTest, ObjectsByNamespace) {
  EXPECT_EQ(NamespaceIndex(json{{"metadata", {{"namespace", "shop"}, {"name", "c"}}}}),
            Values{"shop"});
  EXPECT_EQ(NamespaceIndex(json{{"metadata", {{"name", "cluster-scoped"}}}}), Values{});
}

TEST(CacheIndexesTest, OddShapesAreFiledUnderNothing) {
  for (const json& odd :
       {json(nullptr), json::array({1}), json("x"), json{{"metadata", 1}, {"spec", "x"}},
        json{{"metadata", {{"labels", {1, 2}}, {"namespace", 7}}}, {"spec", {{"nodeName", 3}}}},
        json{{"metadata", {{"labels", {{"discoblocks", 1}, {"app", nullptr}}}}}}}) {
    EXPECT_EQ(NodeNameIndex(odd), Values{}) << odd.dump();
    EXPECT_EQ(LabelIndex(odd), Values{}) << odd.dump();
    EXPECT_EQ(DiskConfigLabelIndex(odd), Values{}) << odd.dump();
    EXPECT_EQ(NamespaceIndex(odd), Values{}) << odd.dump();
  }
}

}  // namespace
}  // namespace discoblocks::op
