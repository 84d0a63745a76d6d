// Leader election against a real kube-apiserver: one leader among
// candidates, a successor when the leader stops, a leader that stops leading
// when it cannot renew (before the lease could expire for anyone else), and
// a released lease taken over without waiting for it to expire. Short
// leases; waits are for conditions, with generous deadlines.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kube/leader_election.h"
#include "support/control_plane.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ControlPlane;
using testing::TestNamespace;

// Longer than the default: elections take a lease duration or two.
bool WaitUntil(const std::function<bool()>& condition, seconds limit = seconds(90)) {
  return testing::WaitUntil(condition, limit);
}

// What one elector's callbacks saw.
class Candidate {
 public:
  Candidate(const std::string& ns, const std::string& identity, LeaderElectionConfig config) {
    config.lease_namespace = ns;
    config.lease_name = "discoblocks-leader";
    config.identity = identity;
    config.on_started_leading = [this] {
      const std::lock_guard lock(mutex_);
      ++started_;
    };
    config.on_stopped_leading = [this] {
      std::unique_lock lock(mutex_);
      ++stopped_;
      stopped_at_ = std::chrono::system_clock::now();
      // As a controller that takes its time to stop would.
      resume_.wait(lock, [this] { return !holding_stops_; });
    };
    config.on_new_leader = [this](const std::string& leader) {
      const std::lock_guard lock(mutex_);
      leaders_.push_back(leader);
    };
    auto elector = LeaderElector::Create(ControlPlane::Get().AdminClient(), std::move(config));
    if (!elector) throw std::runtime_error(elector.error().message);
    elector_ = std::move(elector).value();
  }
  ~Candidate() {
    ResumeStops();
    elector_.reset();
  }
  Candidate(const Candidate&) = delete;
  Candidate& operator=(const Candidate&) = delete;

  LeaderElector& elector() { return *elector_; }

  // on_stopped_leading waits from now on until ResumeStops.
  void HoldStops() {
    const std::lock_guard lock(mutex_);
    holding_stops_ = true;
  }
  void ResumeStops() {
    {
      const std::lock_guard lock(mutex_);
      holding_stops_ = false;
    }
    resume_.notify_all();
  }

  int starts() {
    const std::lock_guard lock(mutex_);
    return started_;
  }
  int stops() {
    const std::lock_guard lock(mutex_);
    return stopped_;
  }
  std::vector<std::string> leaders() {
    const std::lock_guard lock(mutex_);
    return leaders_;
  }
  std::chrono::system_clock::time_point stopped_at() {
    const std::lock_guard lock(mutex_);
    return stopped_at_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable resume_;
  bool holding_stops_ = false;
  int started_ = 0;
  int stopped_ = 0;
  std::chrono::system_clock::time_point stopped_at_;
  std::vector<std::string> leaders_;
  std::unique_ptr<LeaderElector> elector_;
};

// Polls `condition` until it holds; false after `limit`.

LeaderElectionConfig Short() {
  LeaderElectionConfig config;
  config.lease_duration = seconds(6);
  config.renew_deadline = milliseconds(4000);
  config.retry_period = milliseconds(500);
  return config;
}

json Lease(const std::string& ns) {
  auto lease = ControlPlane::Get().AdminClient()->Get(resources::kLeases, ns, "discoblocks-leader");
  if (!lease) throw std::runtime_error(lease.error().message);
  return (*lease)["spec"];
}

// metav1.MicroTime ("2024-05-01T12:00:00.123456Z") as a time point.
std::chrono::system_clock::time_point ParseMicroTime(const std::string& text) {
  std::tm utc{};
  int micros = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
                  &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &micros) != 7) {
    throw std::runtime_error("not a MicroTime: " + text);
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&utc)) + std::chrono::microseconds(micros);
}

TEST(LeaderElectionTest, OfTwoCandidatesExactlyOneLeads) {
  TestNamespace ns("elect");
  metrics::Registry registry;
  LeaderElectionConfig config = Short();
  config.registry = &registry;
  Candidate a(ns.name(), "replica-a", config);
  Candidate b(ns.name(), "replica-b", Short());
  a.elector().Start();
  b.elector().Start();

  ASSERT_TRUE(WaitUntil([&] { return a.elector().IsLeader() || b.elector().IsLeader(); }));
  Candidate& leader = a.elector().IsLeader() ? a : b;
  Candidate& follower = &leader == &a ? b : a;
  const std::string leader_id = &leader == &a ? "replica-a" : "replica-b";
  // Both learn who leads.
  ASSERT_TRUE(WaitUntil([&] { return !a.leaders().empty(); }));
  ASSERT_TRUE(WaitUntil([&] { return !b.leaders().empty(); }));
  EXPECT_EQ(a.leaders(), std::vector<std::string>{leader_id});
  EXPECT_EQ(b.leaders(), std::vector<std::string>{leader_id});

  // Through several renewals (the lease's renewTime moves on), the leader
  // stays the only one.
  const std::string first_renewal = Lease(ns.name())["renewTime"];
  std::string renewal = first_renewal;
  for (int renewals = 0; renewals < 3;) {
    std::this_thread::sleep_for(milliseconds(200));
    const json spec = Lease(ns.name());
    EXPECT_EQ(spec["holderIdentity"], leader_id);
    EXPECT_EQ(spec["leaseTransitions"], 0);
    EXPECT_EQ(spec["leaseDurationSeconds"], 6);
    if (spec["renewTime"] != renewal) {
      renewal = spec["renewTime"];
      ++renewals;
    }
    EXPECT_TRUE(leader.elector().IsLeader());
    EXPECT_FALSE(follower.elector().IsLeader());
  }
  EXPECT_EQ(leader.starts(), 1);
  EXPECT_EQ(follower.starts(), 0);
  EXPECT_EQ(leader.elector().Leader(), leader_id);
  EXPECT_EQ(follower.elector().Leader(), leader_id);
  const std::string text = registry.Render();
  EXPECT_NE(text.find(fmt::format("leader_election_master_status{{name=\"discoblocks-leader\"}} {}",
                                  &leader == &a ? 1 : 0)),
            std::string::npos)
      << text;
  follower.elector().Stop();
  leader.elector().Stop();
  EXPECT_EQ(leader.stops(), 1);
  EXPECT_EQ(follower.stops(), 0);
  EXPECT_NE(registry.Render().find("leader_election_master_status{name=\"discoblocks-leader\"} 0"),
            std::string::npos);
}

TEST(LeaderElectionTest, WhenTheLeaderStopsTheOtherLeads) {
  TestNamespace ns("succeed");
  LeaderElectionConfig no_release = Short();
  no_release.release_on_stop = false;  // the successor must wait for expiry
  Candidate a(ns.name(), "replica-a", no_release);
  a.elector().Start();
  ASSERT_TRUE(WaitUntil([&] { return a.starts() >= 1; }));
  Candidate b(ns.name(), "replica-b", Short());
  b.elector().Start();
  ASSERT_TRUE(WaitUntil([&] { return !b.leaders().empty(); }));
  EXPECT_FALSE(b.elector().IsLeader());

  a.elector().Stop();
  EXPECT_EQ(a.stops(), 1);
  EXPECT_FALSE(a.elector().IsLeader());
  EXPECT_EQ(Lease(ns.name())["holderIdentity"], "replica-a");  // not released

  ASSERT_TRUE(WaitUntil([&] { return b.starts() >= 1; }));
  EXPECT_TRUE(b.elector().IsLeader());
  const json spec = Lease(ns.name());
  EXPECT_EQ(spec["holderIdentity"], "replica-b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  EXPECT_NE(spec["acquireTime"], nullptr);
  EXPECT_EQ(b.leaders(), (std::vector<std::string>{"replica-a", "replica-b"}));
  b.elector().Stop();
}

TEST(LeaderElectionTest, AReleasedLeaseIsTakenWithoutWaitingForItToExpire) {
  TestNamespace ns("release");
  LeaderElectionConfig long_lease;
  long_lease.lease_duration = seconds(300);  // far longer than the wait below
  long_lease.renew_deadline = milliseconds(10'000);
  long_lease.retry_period = milliseconds(500);
  Candidate a(ns.name(), "replica-a", long_lease);
  a.elector().Start();
  ASSERT_TRUE(WaitUntil([&] { return a.starts() >= 1; }));
  Candidate b(ns.name(), "replica-b", long_lease);
  b.elector().Start();
  ASSERT_TRUE(WaitUntil([&] { return !b.leaders().empty(); }));

  a.elector().Stop();  // releases
  EXPECT_EQ(a.stops(), 1);
  // Only a release lets b lead before the 300 s lease would expire.
  ASSERT_TRUE(WaitUntil([&] { return b.starts() >= 1; }, seconds(60)));
  const json spec = Lease(ns.name());
  EXPECT_EQ(spec["holderIdentity"], "replica-b");
  EXPECT_EQ(spec["leaseTransitions"], 1);
  b.elector().Stop();
  // b released too: no holder is left.
  EXPECT_FALSE(Lease(ns.name()).contains("holderIdentity")) << Lease(ns.name()).dump();
}

// Restarts the API server when the test ends, whatever happened.
class ApiServerDown {
 public:
  ApiServerDown() { ControlPlane::Get().StopApiServer(); }
  ~ApiServerDown() { Restart(); }
  ApiServerDown(const ApiServerDown&) = delete;
  ApiServerDown& operator=(const ApiServerDown&) = delete;
  void Restart() {
    if (down_) ControlPlane::Get().StartApiServer();
    down_ = false;
  }

 private:
  bool down_ = true;
};

TEST(LeaderElectionTest, ALeaderCutOffFromTheApiServerStopsBeforeItsLeaseCouldExpire) {
  TestNamespace ns("cutoff");
  Candidate a(ns.name(), "replica-a", Short());
  a.HoldStops();
  a.elector().Start();
  ASSERT_TRUE(WaitUntil([&] { return a.starts() >= 1; }));
  {
    ApiServerDown down;
    ASSERT_TRUE(WaitUntil([&] { return a.stops() >= 1; }));
    EXPECT_FALSE(a.elector().IsLeader());
    down.Restart();
  }
  // The lease as the leader last renewed it (the leader waits in
  // on_stopped_leading, so it cannot renew again meanwhile). Any other
  // replica saw that renewal no earlier than it was written, so would take
  // over no earlier than renewTime + leaseDurationSeconds: the leader had
  // stopped before then. (The leader and the test share one clock.)
  const json spec = Lease(ns.name());
  ASSERT_EQ(spec["holderIdentity"], "replica-a");
  const auto expiry = ParseMicroTime(spec["renewTime"]) + seconds(spec["leaseDurationSeconds"]);
  const auto margin = std::chrono::duration_cast<milliseconds>(expiry - a.stopped_at()).count();
  EXPECT_GT(margin, 0) << "the leader stopped " << -margin
                       << " ms after others could have taken the lease";

  // Once the API server is back the same replica leads again.
  a.ResumeStops();
  ASSERT_TRUE(WaitUntil([&] { return a.starts() >= 2; }));
  EXPECT_TRUE(a.elector().IsLeader());
  a.elector().Stop();
  EXPECT_EQ(a.stops(), 2);
}

}  // namespace
}  // namespace discoblocks::kube
