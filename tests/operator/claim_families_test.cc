#include "operator/claim_families.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;

admission::DiskConfig Config(const char* mode) {
  admission::DiskConfig config;
  config.ns = "shop";
  config.name = "db";
  config.availability_mode = mode;
  return config;
}

json Claim(const std::string& name, const char* index, const std::string& pod_uid = "",
           const std::string& node = "") {
  json claim = {
      {"metadata",
       {{"name", name}, {"namespace", "shop"}, {"labels", {{"discoblocks-index", index}}}}}};
  if (!pod_uid.empty()) {
    claim["metadata"]["ownerReferences"] =
        json::array({{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "p"}, {"uid", pod_uid}}});
  }
  if (!node.empty()) claim["metadata"]["annotations"]["discoblocks.ondat.io/node"] = node;
  return claim;
}

TEST(ClaimFamiliesTest, ReadWriteOnceFamiliesArePods) {
  const json a0 = Claim("a-0", "0", "uid-a"), a1 = Claim("a-1", "1", "uid-a");
  const json b0 = Claim("b-0", "0", "uid-b");
  const json orphan = Claim("c-0", "0");  // no pod owner: a family of its own
  const auto placed = PlaceInFamilies(Config("ReadWriteOnce"), {&a0, &a1, &b0, &orphan});
  EXPECT_EQ(placed.at("shop/a-0").disks, 2);
  EXPECT_FALSE(placed.at("shop/a-0").newest);
  EXPECT_TRUE(placed.at("shop/a-1").newest);
  EXPECT_EQ(placed.at("shop/b-0").disks, 1);
  EXPECT_TRUE(placed.at("shop/b-0").newest);
  EXPECT_EQ(placed.at("shop/c-0").disks, 1);
  EXPECT_EQ(FamilyKey(Config("ReadWriteOnce"), a0), "shop/db/pod/uid-a");
  EXPECT_EQ(FamilyKey(Config("ReadWriteOnce"), orphan), "");
}

TEST(ClaimFamiliesTest, ReadWriteSameIsOneFamilyAndDaemonOnePerNode) {
  const json s0 = Claim("s-0", "0"), s1 = Claim("s-1", "1"), s2 = Claim("s-2", "2");
  const auto same = PlaceInFamilies(Config("ReadWriteSame"), {&s2, &s0, &s1});
  EXPECT_EQ(same.at("shop/s-0").disks, 3);
  EXPECT_TRUE(same.at("shop/s-2").newest);
  EXPECT_FALSE(same.at("shop/s-1").newest);

  const json n1 = Claim("n1-0", "0", "", "node-1"), n2 = Claim("n2-0", "0", "", "node-2");
  const json n2b = Claim("n2-1", "1", "", "node-2");
  const auto daemon = PlaceInFamilies(Config("ReadWriteDaemon"), {&n1, &n2, &n2b});
  EXPECT_EQ(daemon.at("shop/n1-0").disks, 1);
  EXPECT_EQ(daemon.at("shop/n2-0").disks, 2);
  EXPECT_TRUE(daemon.at("shop/n2-1").newest);
}

TEST(ClaimFamiliesTest, IndexLabelMustBeASmallNumber) {
  EXPECT_EQ(ClaimIndex(Claim("x", "7")), 7);
  for (const char* bad : {"", "-1", "150", "1x", " 1", "99999999999"}) {
    EXPECT_EQ(ClaimIndex(Claim("x", bad)), -1) << bad;
  }
  EXPECT_EQ(ClaimIndex(json::array()), -1);
}

}  // namespace
}  // namespace discoblocks::op
