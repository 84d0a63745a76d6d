// A gate test tasks wait at until the test opens it; whatever waits at it
// must be done (joined, or its pool stopped) before the gate goes away.
#pragma once

#include <future>

namespace discoblocks::testing {

class Gate {
 public:
  void Wait() { opened_.wait(); }
  void Open() { promise_.set_value(); }

 private:
  std::promise<void> promise_;
  std::shared_future<void> opened_ = promise_.get_future().share();
};

}  // namespace discoblocks::testing
