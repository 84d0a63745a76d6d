#include "kube/leader_election.h"

#include <exception>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/backoff.h"
#include "kube/micro_time.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// The integer at object[key] when it is a positive one, else `fallback`.
std::int64_t PositiveIntOr(const json& object, std::string_view key, std::int64_t fallback) {
  if (!object.is_object()) return fallback;
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) return fallback;
  const auto value = found->get<std::int64_t>();
  return value > 0 ? value : fallback;
}

std::int64_t CountOr(const json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) return 0;
  return std::max<std::int64_t>(found->get<std::int64_t>(), 0);
}

// A callback that throws must not end the elector's thread (and the process
// with it): it is logged and the election goes on.
template <typename Callback, typename... Args>
void Notify(std::string_view lease, std::string_view which, const Callback& callback,
            const Args&... args) {
  if (!callback) return;
  try {
    callback(args...);
  } catch (const std::exception& error) {
    spdlog::error("leader election {}: {} threw: {}", lease, which, error.what());
  } catch (...) {
    spdlog::error("leader election {}: {} threw", lease, which);
  }
}

}  // namespace

Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config) {
  const auto fail = [](std::string message) {
    return MakeError("leader election: " + std::move(message));
  };
  if (config.lease_namespace.empty()) return fail("the lease's namespace is empty");
  if (config.lease_name.empty()) return fail("the lease's name is empty");
  if (config.identity.empty()) return fail("the identity of this replica is empty");
  if (config.lease_duration.count() <= 0) {
    return fail(fmt::format("the lease duration must be at least 1 s, not {} s",
                            config.lease_duration.count()));
  }
  if (config.renew_deadline.count() <= 0) {
    return fail(fmt::format("the renew deadline must be positive, not {} ms",
                            config.renew_deadline.count()));
  }
  if (config.retry_period.count() <= 0) {
    return fail(
        fmt::format("the retry period must be positive, not {} ms", config.retry_period.count()));
  }
  if (config.renew_deadline >= config.lease_duration) {
    return fail(fmt::format(
        "the renew deadline ({} ms) must be shorter than the lease duration ({} s): a leader "
        "must stop before another replica may take over",
        config.renew_deadline.count(), config.lease_duration.count()));
  }
  // Retries are spread by up to 20 % (as client-go's JitterFactor 1.2): the
  // deadline must leave room for more than one attempt even then.
  if (config.renew_deadline * 5 <= config.retry_period * 6) {
    return fail(fmt::format(
        "the renew deadline ({} ms) must be longer than 1.2 times the retry period ({} ms), so "
        "that a leader tries more than once to renew before it gives up",
        config.renew_deadline.count(), config.retry_period.count()));
  }
  return {};
}

Result<std::unique_ptr<LeaderElector>> LeaderElector::Create(std::shared_ptr<const Client> client,
                                                             LeaderElectionConfig config) {
  if (client == nullptr) return MakeError("leader election: no client");
  if (auto valid = ValidateLeaderElectionConfig(config); !valid) return valid.error();
  return std::unique_ptr<LeaderElector>(new LeaderElector(std::move(client), std::move(config)));
}

LeaderElector::LeaderElector(std::shared_ptr<const Client> client, LeaderElectionConfig config)
    : client_(std::move(client)), config_(std::move(config)) {
  if (config_.registry != nullptr) {
    status_gauge_ = &config_.registry->Gauge(
        "leader_election_master_status",
        "1 while this replica holds the named lease (its controllers run), else 0.");
    status_gauge_->Set({{"name", config_.lease_name}}, 0);
  }
}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  const std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::IsLeader() const {
  const std::lock_guard lock(mutex_);
  return leading_ && Clock::now() < valid_until_;
}

std::string LeaderElector::Leader() const {
  const std::lock_guard lock(mutex_);
  return leader_;
}

bool LeaderElector::Stopping() const {
  const std::lock_guard lock(mutex_);
  return stopping_;
}

bool LeaderElector::Sleep(milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, duration, [this] { return stopping_; });
  return !stopping_;
}

void LeaderElector::SetLeading(bool leading, Clock::time_point valid_until) {
  {
    const std::lock_guard lock(mutex_);
    leading_ = leading;
    valid_until_ = valid_until;
  }
  if (status_gauge_ != nullptr) status_gauge_->Set({{"name", config_.lease_name}}, leading ? 1 : 0);
}

void LeaderElector::Run() {
  while (!Stopping()) {
    const auto started = Clock::now();
    if (TryAcquireOrRenew(started + config_.renew_deadline) == Attempt::kHeld) {
      spdlog::info("leader election {}/{}: {} leads", config_.lease_namespace, config_.lease_name,
                   config_.identity);
      SetLeading(true, started + config_.renew_deadline);
      Notify(config_.lease_name, "on_started_leading", config_.on_started_leading);
      Lead(started + config_.renew_deadline);
      continue;
    }
    // Spread by up to 20 %, so that candidates started together do not keep
    // asking together.
    Sleep(RandomBetween(config_.retry_period, config_.retry_period * 6 / 5));
  }
}

void LeaderElector::Lead(Clock::time_point valid_until) {
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(valid_until - Clock::now());
    if (!Sleep(std::min(config_.retry_period, std::max(left, milliseconds(0))))) {
      StopLeading();
      if (config_.release_on_stop) Release();
      return;
    }
    const auto started = Clock::now();
    const Attempt attempt =
        started < valid_until ? TryAcquireOrRenew(valid_until) : Attempt::kFailed;
    if (attempt == Attempt::kHeld) {
      valid_until = started + config_.renew_deadline;
      SetLeading(true, valid_until);
      continue;
    }
    if (attempt == Attempt::kHeldByOther) {
      spdlog::warn("leader election {}/{}: {} lost the lease to {}", config_.lease_namespace,
                   config_.lease_name, config_.identity, Leader());
      StopLeading();
      return;
    }
    if (Clock::now() >= valid_until) {
      spdlog::warn("leader election {}/{}: {} could not renew the lease for {} ms; stops leading",
                   config_.lease_namespace, config_.lease_name, config_.identity,
                   config_.renew_deadline.count());
      StopLeading();
      return;
    }
  }
}

void LeaderElector::StopLeading() {
  SetLeading(false);
  Notify(config_.lease_name, "on_stopped_leading", config_.on_stopped_leading);
}

LeaderElector::Attempt LeaderElector::TryAcquireOrRenew(Clock::time_point deadline) {
  auto bounded = [&] {
    return client_->WithCallTimeout(
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  };
  auto lease = bounded()->Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!lease) {
    if (lease.error().kind != ErrorKind::kNotFound) {
      spdlog::debug("leader election {}: {}", config_.lease_name, lease.error().message);
      return Attempt::kFailed;
    }
    const auto now = FormatMicroTime(std::chrono::system_clock::now());
    const json object = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec",
         {{"holderIdentity", config_.identity},
          {"leaseDurationSeconds", config_.lease_duration.count()},
          {"acquireTime", now},
          {"renewTime", now},
          {"leaseTransitions", 0}}}};
    auto created = bounded()->Create(resources::kLeases, config_.lease_namespace, object);
    if (!created) {
      // AlreadyExists: another candidate created it first, and holds it.
      spdlog::debug("leader election {}: {}", config_.lease_name, created.error().message);
      return Attempt::kFailed;
    }
    Observe((*created)["spec"]);
    return Attempt::kHeld;
  }

  Observe((*lease)["spec"]);
  const json& spec = (*lease)["spec"];
  const std::string holder = StringOr(spec, "holderIdentity");
  if (!holder.empty() && holder != config_.identity) {
    const bool leading = [&] {
      const std::lock_guard lock(mutex_);
      return leading_;
    }();
    if (leading) return Attempt::kHeldByOther;
    // The holder's own duration, as it wrote it; ours if it wrote none.
    const std::chrono::seconds duration(
        PositiveIntOr(spec, "leaseDurationSeconds", config_.lease_duration.count()));
    if (Clock::now() < observed_at_ + duration) return Attempt::kHeldByOther;
  }
  return Take(*lease, bounded());
}

LeaderElector::Attempt LeaderElector::Take(const json& lease,
                                           const std::shared_ptr<const Client>& client) {
  json updated = lease;
  json& spec = updated["spec"];
  if (!spec.is_object()) spec = json::object();
  const std::string previous = StringOr(spec, "holderIdentity");
  const std::string now = FormatMicroTime(std::chrono::system_clock::now());
  if (previous != config_.identity) {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] = CountOr(spec, "leaseTransitions") + 1;
  } else {
    if (StringOr(spec, "acquireTime").empty()) spec["acquireTime"] = now;
    spec["leaseTransitions"] = CountOr(spec, "leaseTransitions");
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = config_.lease_duration.count();
  spec["renewTime"] = now;
  // The update carries the resourceVersion read: a Conflict means another
  // replica wrote in between (and may have won).
  auto written = client->Update(resources::kLeases, config_.lease_namespace, updated);
  if (!written) {
    spdlog::debug("leader election {}: {}", config_.lease_name, written.error().message);
    return Attempt::kFailed;
  }
  Observe((*written)["spec"]);
  return Attempt::kHeld;
}

void LeaderElector::Observe(const json& spec) {
  if (!observed_spec_ || *observed_spec_ != spec) {
    observed_spec_ = spec;
    observed_at_ = Clock::now();
  }
  const std::string holder = StringOr(spec, "holderIdentity");
  {
    const std::lock_guard lock(mutex_);
    leader_ = holder;
  }
  if (!holder.empty() && holder != reported_leader_) {
    reported_leader_ = holder;
    Notify(config_.lease_name, "on_new_leader", config_.on_new_leader, holder);
  }
}

void LeaderElector::Release() {
  const auto deadline = Clock::now() + config_.renew_deadline;
  auto bounded = [&] {
    return client_->WithCallTimeout(
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
  };
  auto lease = bounded()->Get(resources::kLeases, config_.lease_namespace, config_.lease_name);
  if (!lease) {
    spdlog::warn("leader election {}: not released: {}", config_.lease_name, lease.error().message);
    return;
  }
  json& spec = (*lease)["spec"];
  if (StringOr(spec, "holderIdentity") != config_.identity) return;  // no longer ours
  // No holder: the next candidate takes it at once. A duration of 1 s for
  // electors that look at the duration first.
  spec.erase("holderIdentity");
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = FormatMicroTime(std::chrono::system_clock::now());
  auto released = bounded()->Update(resources::kLeases, config_.lease_namespace, *lease);
  if (!released) {
    spdlog::warn("leader election {}: not released: {}", config_.lease_name,
                 released.error().message);
    return;
  }
  spdlog::info("leader election {}/{}: {} released the lease", config_.lease_namespace,
               config_.lease_name, config_.identity);
}

}  // namespace discoblocks::kube
