// A leader election configuration that cannot work is refused, naming what
// is wrong. Elections against a real API server are in leader_election_test.cc.
#include <gtest/gtest.h>

#include "kube/leader_election.h"

namespace discoblocks::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

LeaderElectionConfig Valid() {
  LeaderElectionConfig config;
  config.lease_namespace = "discoblocks-system";
  config.lease_name = "discoblocks";
  config.identity = "replica-1";
  return config;
}

TEST(LeaderElectionConfigTest, TheDefaultsAreClientGos) {
  const LeaderElectionConfig config;
  EXPECT_EQ(config.lease_duration, seconds(15));
  EXPECT_EQ(config.renew_deadline, milliseconds(10'000));
  EXPECT_EQ(config.retry_period, milliseconds(2'000));
  EXPECT_TRUE(config.release_on_stop);
  EXPECT_TRUE(ValidateLeaderElectionConfig(Valid()).ok());
}

struct BadConfig {
  std::string description;
  void (*change)(LeaderElectionConfig&);
  std::string says;
};

void PrintTo(const BadConfig& bad, std::ostream* out) { *out << bad.description; }

class LeaderElectionBadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(LeaderElectionBadConfigTest, IsRefusedWithTheReason) {
  LeaderElectionConfig config = Valid();
  GetParam().change(config);
  const Status valid = ValidateLeaderElectionConfig(config);
  ASSERT_FALSE(valid.ok());
  EXPECT_NE(valid.error().message.find(GetParam().says), std::string::npos)
      << valid.error().message;
  EXPECT_TRUE(valid.error().message.starts_with("leader election: ")) << valid.error().message;
  // Create refuses it the same way, before anything starts.
  ClientConfig client_config;
  client_config.server = "https://127.0.0.1:1";
  auto elector = LeaderElector::Create(std::move(Client::Create(client_config)).value(), config);
  ASSERT_FALSE(elector.ok());
  EXPECT_EQ(elector.error().message, valid.error().message);
}

INSTANTIATE_TEST_SUITE_P(
    Config, LeaderElectionBadConfigTest,
    ::testing::Values(
        BadConfig{"no namespace", [](auto& c) { c.lease_namespace.clear(); }, "namespace is empty"},
        BadConfig{"no name", [](auto& c) { c.lease_name.clear(); }, "name is empty"},
        BadConfig{"no identity", [](auto& c) { c.identity.clear(); }, "identity"},
        BadConfig{"zero lease", [](auto& c) { c.lease_duration = seconds(0); },
                  "lease duration must be at least 1 s, not 0 s"},
        BadConfig{"negative deadline", [](auto& c) { c.renew_deadline = milliseconds(-1); },
                  "renew deadline must be positive"},
        BadConfig{"zero retry", [](auto& c) { c.retry_period = milliseconds(0); },
                  "retry period must be positive"},
        BadConfig{"deadline as long as the lease",
                  [](auto& c) { c.renew_deadline = milliseconds(15'000); },
                  "renew deadline (15000 ms) must be shorter than the lease duration (15 s)"},
        BadConfig{"retry too close to the deadline",
                  [](auto& c) { c.retry_period = milliseconds(8'500); },
                  "must be longer than 1.2 times the retry period (8500 ms)"}),
    [](const auto& test_info) { return std::to_string(test_info.index); });

TEST(LeaderElectionConfigTest, NoClientIsRefused) {
  auto elector = LeaderElector::Create(nullptr, Valid());
  ASSERT_FALSE(elector.ok());
  EXPECT_NE(elector.error().message.find("no client"), std::string::npos);
}

}  // namespace
}  // namespace discoblocks::kube
