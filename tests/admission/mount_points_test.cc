// Mount points both ways, with the original's own test cases
// (docs/discoblocks.md, "Pods, modes and names").
#include "admission/mount_points.h"

#include <gtest/gtest.h>

namespace discoblocks::admission {
namespace {

TEST(MountPointsTest, RendersAsTheOriginal) {
  EXPECT_EQ(RenderMountPoint("", "foo", 1), "/media/discoblocks/foo-1");
  EXPECT_EQ(RenderMountPoint("/bar-%d", "foo", 1), "/bar-1");
  EXPECT_EQ(RenderMountPoint("/bar", "foo", 0), "/bar");
  EXPECT_EQ(RenderMountPoint("/bar", "foo", 1), "/bar-1");
}

TEST(MountPointsTest, IndexZeroOfAPatternWithPlaceholderIsZero) {
  EXPECT_EQ(RenderMountPoint("/bar-%d", "foo", 0), "/bar-0");
  EXPECT_EQ(RenderMountPoint("/data/%d/x", "foo", 7), "/data/7/x");
  EXPECT_EQ(RenderMountPoint("", "foo", 0), "/media/discoblocks/foo-0");
  EXPECT_EQ(DefaultMountPointPattern("foo"), "/media/discoblocks/foo-%d");
}

// Only %d is a placeholder; printf would have mangled "%x".
TEST(MountPointsTest, OtherPercentSignsArePartOfThePath) {
  EXPECT_EQ(RenderMountPoint("/data%x-%d", "foo", 2), "/data%x-2");
  EXPECT_EQ(RenderMountPoint("/data%x", "foo", 2), "/data%x-2");
}

TEST(MountPointsTest, FindsTheIndexOfAPathAsTheOriginal) {
  const char* pattern = "/media/discoblocks/foo";
  EXPECT_EQ(MountPointIndex(pattern, "foo", "/media/discoblocks/foo"), 0);
  EXPECT_EQ(MountPointIndex(pattern, "foo", "/media/discoblocks/foo-99"), 99);
  EXPECT_EQ(MountPointIndex(pattern, "foo", "/media/discoblocks/foo-1000"), std::nullopt);
  EXPECT_EQ(MountPointIndex(pattern, "foo", "/media/discoblocks/bar"), std::nullopt);
}

TEST(MountPointsTest, AtMostOneHundredAndFiftyDisks) {
  EXPECT_EQ(MountPointIndex("/d-%d", "foo", "/d-149"), 149);
  EXPECT_EQ(MountPointIndex("/d-%d", "foo", "/d-150"), std::nullopt);
  EXPECT_EQ(MountPointIndex("", "foo", "/media/discoblocks/foo-3"), 3);
}

}  // namespace
}  // namespace discoblocks::admission
