#include "operator/usage_board.h"

namespace discoblocks::op {

void UsageBoard::Update(const std::map<std::string, VolumeUsage>& reported,
                        const std::set<std::string>& known) {
  std::map<std::string, Fullness> next;
  for (const auto& [key, usage] : reported) {
    Fullness fullness = FullnessOf(usage);
    if (fullness.bytes || fullness.inodes) next[key] = fullness;
  }
  const std::lock_guard lock(mutex_);
  for (auto& [key, fullness] : by_claim_) {
    if (known.contains(key) && !next.contains(key)) next[key] = fullness;
  }
  by_claim_ = std::move(next);
}

std::optional<Fullness> UsageBoard::Find(const std::string& claim_key) const {
  const std::lock_guard lock(mutex_);
  const auto found = by_claim_.find(claim_key);
  if (found == by_claim_.end()) return std::nullopt;
  return found->second;
}

}  // namespace discoblocks::op
