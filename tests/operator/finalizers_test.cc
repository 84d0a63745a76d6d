// Finalizer patches: added and removed keeping the others, idempotent, with
// the resourceVersion they were computed from (so a concurrent change is a
// conflict), none added to an object being deleted, and malformed lists.
#include "operator/finalizers.h"

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;

json Object(json finalizers) {
  json object = {{"metadata", {{"name", "fast"}, {"resourceVersion", "41"}}}};
  if (!finalizers.is_null()) object["metadata"]["finalizers"] = std::move(finalizers);
  return object;
}

TEST(FinalizersTest, AddedAfterTheOthersWithTheResourceVersion) {
  const auto patch = FinalizerPatch(Object({"other/keep"}), "discoblocks.ondat.io/in-use", true);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(*patch, json::parse(R"({"metadata":{"resourceVersion":"41",
      "finalizers":["other/keep","discoblocks.ondat.io/in-use"]}})"));
  const auto first = FinalizerPatch(Object(nullptr), "x/y", true);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)["metadata"]["finalizers"], json::array({"x/y"}));
}

TEST(FinalizersTest, RemovedKeepingTheOthers) {
  const auto patch = FinalizerPatch(Object({"a/b", "x/y", "c/d"}), "x/y", false);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ((*patch)["metadata"]["finalizers"], json::array({"a/b", "c/d"}));
  EXPECT_EQ((*patch)["metadata"]["resourceVersion"], "41");
}

TEST(FinalizersTest, NothingToWriteWhenItIsSoAlready) {
  EXPECT_FALSE(FinalizerPatch(Object({"x/y"}), "x/y", true).has_value());
  EXPECT_FALSE(FinalizerPatch(Object({"a/b"}), "x/y", false).has_value());
  EXPECT_FALSE(FinalizerPatch(Object(nullptr), "x/y", false).has_value());
  EXPECT_TRUE(HasFinalizer(Object({"x/y"}), "x/y"));
}

TEST(FinalizersTest, NoneAddedToAnObjectBeingDeletedButOneIsRemoved) {
  json deleting = Object({"x/y"});
  deleting["metadata"]["deletionTimestamp"] = "2026-11-29T18:00:00Z";
  EXPECT_TRUE(BeingDeleted(deleting));
  EXPECT_FALSE(FinalizerPatch(deleting, "a/b", true).has_value());
  EXPECT_TRUE(FinalizerPatch(deleting, "x/y", false).has_value());
}

TEST(FinalizersTest, MalformedListsAndObjectsDoNotCrashIt) {
  EXPECT_FALSE(HasFinalizer(Object("x/y"), "x/y"));
  EXPECT_FALSE(HasFinalizer(json::array(), "x/y"));
  EXPECT_FALSE(HasFinalizer(json(nullptr), "x/y"));
  const auto patch = FinalizerPatch(Object("x/y"), "x/y", true);
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ((*patch)["metadata"]["finalizers"], json::array({"x/y"}));
  const auto odd = FinalizerPatch(Object({1, "x/y"}), "x/y", false);
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ((*odd)["metadata"]["finalizers"], json::array({1}));
  EXPECT_TRUE(FinalizerPatch(json::array(), "x/y", true).has_value());
}

}  // namespace
}  // namespace discoblocks::op
