// The names of what Discoblocks creates for pods: valid for Kubernetes
// whatever the DiskConfig and node names, deterministic, and distinct for
// distinct inputs.
#include "admission/names.h"

#include <string>

#include <gtest/gtest.h>

#include "util/sha256.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

std::string Hash8(const std::string& text) { return Sha256Hex(text).substr(0, 8); }

// A valid DiskConfig (or node) name of the largest size: 253 characters, with dots.
std::string LongSubdomain() {
  std::string name;
  while (name.size() < 240) name += "abcdefghij.";
  name += "klmnopqrstu";
  EXPECT_EQ(name.size(), 253U);
  EXPECT_TRUE(IsDns1123Subdomain(name));
  return name;
}

TEST(NamesTest, NameRules) {
  for (const std::string& label : {std::string("discoblocks-web-0"), std::string(63, 'a')}) {
    EXPECT_TRUE(IsDns1123Label(label)) << label;
  }
  for (const std::string& not_label :
       {std::string("my.config"), std::string("-web"), std::string("web-"), std::string("Web"),
        std::string(), std::string(64, 'a')}) {
    EXPECT_FALSE(IsDns1123Label(not_label)) << not_label;
  }
  // As Kubernetes checks it: only the whole is limited, not each part.
  for (const std::string& subdomain :
       {std::string("ip-10-0-1-23.eu-west-1.compute.internal"), std::string(100, 'a') + ".b"}) {
    EXPECT_TRUE(IsDns1123Subdomain(subdomain)) << subdomain;
  }
  for (const std::string& not_subdomain :
       {std::string("a..b"), std::string("a.-b"), std::string("a."), std::string(254, 'a')}) {
    EXPECT_FALSE(IsDns1123Subdomain(not_subdomain)) << not_subdomain;
  }
  for (const std::string& value : {std::string(), std::string("My_config.v1")}) {
    EXPECT_TRUE(IsLabelValue(value)) << value;
  }
  for (const std::string& not_value :
       {std::string("_x"), std::string("a/b"), std::string(64, 'a')}) {
    EXPECT_FALSE(IsLabelValue(not_value)) << not_value;
  }
}

TEST(NamesTest, ShortNamesAreKeptAsTheyAre) {
  EXPECT_EQ(VolumeName("web", 0), "discoblocks-web-0");
  EXPECT_EQ(VolumeName("web", 12), "discoblocks-web-12");
  EXPECT_EQ(SharedPvcName("web", 1), "discoblocks-web-1");
  EXPECT_EQ(SharedPvcName("my.config", 0), "discoblocks-my.config-0");  // dots are fine here
  EXPECT_EQ(DaemonPvcName("web", "ip-10-0-1-23.eu-west-1.compute.internal", 0),
            "discoblocks-web-ip-10-0-1-23.eu-west-1.compute.internal-0");
  EXPECT_EQ(FitLabelValue("web"), "web");
}

// A volume name is a DNS-1123 label: no dots.
TEST(NamesTest, ADotInTheConfigNameGivesAHashedVolumeName) {
  const std::string name = VolumeName("my.config", 0);
  EXPECT_EQ(name, "discoblocks-my-config-0-" + Hash8("discoblocks-my.config-0"));
  EXPECT_TRUE(IsDns1123Label(name));
  // Not the name of the config that has a '-' where this one has a '.'.
  EXPECT_EQ(VolumeName("my-config", 0), "discoblocks-my-config-0");
}

TEST(NamesTest, LongNamesFitTheirLimitsAndStayDistinct) {
  const std::string config = LongSubdomain();
  const std::string node = LongSubdomain();
  for (int index : {0, 1, 149}) {
    const std::string volume = VolumeName(config, index);
    EXPECT_TRUE(IsDns1123Label(volume)) << volume;
    EXPECT_EQ(volume, VolumeName(config, index)) << "deterministic";
    EXPECT_TRUE(IsDns1123Subdomain(SharedPvcName(config, index))) << SharedPvcName(config, index);
    EXPECT_TRUE(IsDns1123Subdomain(DaemonPvcName(config, node, index)));
  }
  EXPECT_NE(VolumeName(config, 0), VolumeName(config, 1));
  EXPECT_NE(SharedPvcName(config, 0), SharedPvcName(config, 1));
  EXPECT_NE(DaemonPvcName(config, node, 0), DaemonPvcName(config, node + "x", 0));
  EXPECT_NE(DaemonPvcName(config, "node-a", 0), DaemonPvcName(config, "node-b", 0));
  const std::string label = FitLabelValue(config);
  EXPECT_TRUE(IsLabelValue(label)) << label;
  EXPECT_EQ(label.size(), 63U);
  EXPECT_EQ(label.substr(label.size() - 8), Hash8(config));
}

TEST(NamesTest, NothingValidLeftOfThePrefixGivesTheHashAlone) {
  EXPECT_EQ(FitLabelValue("///"), Hash8("///"));
  EXPECT_EQ(FitDns1123Label("..."), Hash8("..."));
}

TEST(NamesTest, TopologyStorageClassNameHashesTheTerms) {
  const std::vector<json> terms = {json::parse(
      R"({"matchLabelExpressions":[{"key":"topology.kubernetes.io/zone","values":["eu-west-1a"]}]})")};
  const std::string hash = Hash8(json(terms).dump());
  EXPECT_EQ(TopologyStorageClassName("ebs-gp3", terms), "ebs-gp3-" + hash);
  // Object keys are written sorted, whatever order they came in.
  const std::vector<json> reordered = {json::parse(
      R"({"matchLabelExpressions":[{"values":["eu-west-1a"],"key":"topology.kubernetes.io/zone"}]})")};
  EXPECT_EQ(TopologyStorageClassName("ebs-gp3", reordered), "ebs-gp3-" + hash);
  const std::vector<json> other_zone = {json::parse(
      R"({"matchLabelExpressions":[{"key":"topology.kubernetes.io/zone","values":["eu-west-1b"]}]})")};
  EXPECT_NE(TopologyStorageClassName("ebs-gp3", other_zone), "ebs-gp3-" + hash);
  const std::string long_name = TopologyStorageClassName(LongSubdomain(), terms);
  EXPECT_TRUE(IsDns1123Subdomain(long_name)) << long_name;
  EXPECT_EQ(long_name.substr(long_name.size() - 9), "-" + hash);
}

}  // namespace
}  // namespace discoblocks::admission
