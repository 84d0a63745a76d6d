// ReleaseFreedMemory really hands freed memory back: a first version tested
// __GLIBC__ before any header had defined it and silently did nothing, which
// left `serve` 80 MiB larger after compiling its drivers.
#include "util/memory.h"

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizedAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizedAllocator = true;
#else
constexpr bool kSanitizedAllocator = false;
#endif
#else
constexpr bool kSanitizedAllocator = false;
#endif

// Anonymous resident memory of this process in KiB, when Linux says.
std::optional<long> ResidentAnonymousKiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "RssAnon:") {
      long kib = 0;
      if (status >> kib) return kib;
      return std::nullopt;
    }
    status.ignore(4096, '\n');
  }
  return std::nullopt;
}

TEST(ReleaseFreedMemory, ReturnsFreedPagesInsideTheHeapToTheSystem) {
  if (kSanitizedAllocator) GTEST_SKIP() << "the sanitizer's allocator keeps its own memory";
  if (!ResidentAnonymousKiB()) GTEST_SKIP() << "no /proc/self/status RssAnon here";
  // 64 MiB in small blocks (the allocator's arenas, not mmap), then one block
  // allocated last that stays: the freed memory lies below it, where only an
  // explicit trim gives pages back (a free() returns only the arena's top).
  constexpr std::size_t kBlocks = 64 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks;
  blocks.reserve(kBlocks);
  for (std::size_t i = 0; i < kBlocks; ++i) {
    blocks.push_back(std::make_unique<char[]>(1000));
    blocks.back()[0] = 1;  // touch it: resident
    blocks.back()[999] = 1;
  }
  auto pin = std::make_unique<char[]>(1000);
  pin[0] = 1;
  blocks.clear();
  blocks.shrink_to_fit();
  const long before = *ResidentAnonymousKiB();

  ReleaseFreedMemory();

  const long after = *ResidentAnonymousKiB();
  EXPECT_LT(after, before - 32 * 1024)
      << "RssAnon " << before << " KiB before, " << after << " KiB after";
}

}  // namespace
}  // namespace discoblocks
