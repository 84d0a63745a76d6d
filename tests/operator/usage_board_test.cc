// The usage board: what the last cycle reported replaces what was known, a
// claim whose kubelet said nothing this cycle keeps its last value, and a
// claim gone from the cache is forgotten.
#include "operator/usage_board.h"

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

VolumeUsage Bytes(std::int64_t capacity, std::int64_t available) {
  VolumeUsage usage;
  usage.capacity_bytes = capacity;
  usage.available_bytes = available;
  return usage;
}

TEST(UsageBoardTest, KeepsTheLastKnownUntilTheClaimIsGone) {
  UsageBoard board;
  EXPECT_FALSE(board.Find("ns/a"));
  board.Update({{"ns/a", Bytes(100, 25)}, {"ns/b", Bytes(100, 90)}}, {"ns/a", "ns/b"});
  ASSERT_TRUE(board.Find("ns/a"));
  EXPECT_DOUBLE_EQ(*board.Find("ns/a")->bytes, 75.0);
  EXPECT_FALSE(board.Find("ns/a")->inodes);

  // b's node could not be read: b keeps 10%; a is replaced.
  board.Update({{"ns/a", Bytes(100, 5)}}, {"ns/a", "ns/b"});
  EXPECT_DOUBLE_EQ(*board.Find("ns/a")->bytes, 95.0);
  ASSERT_TRUE(board.Find("ns/b"));
  EXPECT_DOUBLE_EQ(*board.Find("ns/b")->bytes, 10.0);

  // b deleted.
  board.Update({{"ns/a", Bytes(100, 5)}}, {"ns/a"});
  EXPECT_FALSE(board.Find("ns/b"));
}

TEST(UsageBoardTest, UsageThatSaysNothingIsNotRecorded) {
  UsageBoard board;
  VolumeUsage inodes_only;
  inodes_only.inodes = 10;
  inodes_only.inodes_free = 1;
  board.Update({{"ns/empty", VolumeUsage{}}, {"ns/zero", Bytes(0, 0)}, {"ns/i", inodes_only}},
               {"ns/empty", "ns/zero", "ns/i"});
  EXPECT_FALSE(board.Find("ns/empty"));
  EXPECT_FALSE(board.Find("ns/zero"));
  ASSERT_TRUE(board.Find("ns/i"));
  EXPECT_DOUBLE_EQ(*board.Find("ns/i")->inodes, 90.0);
}

}  // namespace
}  // namespace discoblocks::op
