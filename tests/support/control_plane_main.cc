// main() for test binaries that use the control plane: stops it when the
// tests are done, whatever they did.
#include <gtest/gtest.h>

#include "support/control_plane.h"

namespace {

class ControlPlaneEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { discoblocks::testing::ControlPlane::Shutdown(); }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);
  return RUN_ALL_TESTS();
}
