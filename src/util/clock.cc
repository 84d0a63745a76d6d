#include "util/clock.h"

namespace discoblocks {
namespace {

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

std::shared_ptr<const Clock> Clock::Steady() {
  static const std::shared_ptr<const Clock> clock = std::make_shared<const SteadyClock>();
  return clock;
}

}  // namespace discoblocks
