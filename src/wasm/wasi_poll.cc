#include "wasm/wasi_poll.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

#include "wasm/call_state.h"
#include "wasm/wasi_abi.h"
#include "wasm/wasi_clock.h"

namespace discoblocks::wasm {
namespace {

using Clock = std::chrono::steady_clock;

using wasi::kErrnoBadf;
using wasi::kErrnoInval;
using wasi::kErrnoSuccess;
using wasi::Load;
using wasi::Store;

// poll_oneoff's structures (wasi_snapshot_preview1 witx).
constexpr std::uint8_t kEventClock = 0;
constexpr std::uint8_t kEventFdRead = 1;
constexpr std::uint8_t kEventFdWrite = 2;
constexpr std::uint16_t kSubscriptionClockAbstime = 1;
constexpr std::size_t kSubscriptionSize = 48;
constexpr std::size_t kEventSize = 32;

struct Event {
  std::uint64_t userdata = 0;
  std::uint16_t error = kErrnoSuccess;
  std::uint8_t type = kEventClock;
  std::uint64_t nbytes = 0;
};

struct PendingClock {
  std::uint64_t userdata;
  Clock::time_point wake_at;
};

// Converts a clock subscription into the steady-clock instant it fires at.
Clock::time_point WakeTime(const CallState& state, std::uint32_t clock_id, std::uint64_t timeout_ns,
                           std::uint16_t flags, Clock::time_point now) {
  const auto timeout = std::chrono::nanoseconds(
      static_cast<std::int64_t>(std::min<std::uint64_t>(timeout_ns, INT64_MAX / 2)));
  if ((flags & kSubscriptionClockAbstime) == 0) return now + timeout;
  if (clock_id == kClockRealtime) {
    const auto realtime_now = std::chrono::system_clock::now().time_since_epoch();
    return now + std::max(std::chrono::nanoseconds(0), timeout - realtime_now);
  }
  // An absolute monotonic time is on the clock clock_time_get reads
  // (wasi_clock.h): monotonic_base_ns at the call's start.
  const auto since_start = timeout - std::chrono::nanoseconds(state.monotonic_base_ns);
  return state.started + std::max(std::chrono::nanoseconds(0), since_start);
}

wasm_trap_t* PollOneoff(void* /*env*/, wasmtime_caller_t* caller, const wasmtime_val_t* args,
                        size_t /*nargs*/, wasmtime_val_t* results, size_t /*nresults*/) {
  auto set_errno = [&](std::uint16_t error) { return wasi::ReturnErrno(results, error); };
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
  wasi::GuestMemory guest;
  if (!wasi::MemoryOf(caller, &guest)) return set_errno(wasi::kErrnoFault);
  std::uint8_t* memory = guest.data;
  const std::uint64_t memory_size = guest.size;

  const auto in = static_cast<std::uint32_t>(args[0].of.i32);
  const auto out = static_cast<std::uint32_t>(args[1].of.i32);
  const auto count = static_cast<std::uint32_t>(args[2].of.i32);
  const auto nevents_at = static_cast<std::uint32_t>(args[3].of.i32);
  if (count == 0) return set_errno(kErrnoInval);
  if (std::uint64_t{in} + std::uint64_t{count} * kSubscriptionSize > memory_size ||
      std::uint64_t{out} + std::uint64_t{count} * kEventSize > memory_size ||
      std::uint64_t{nevents_at} + 4 > memory_size) {
    return set_errno(wasi::kErrnoFault);
  }

  const Clock::time_point now = Clock::now();
  std::vector<Event> ready;
  std::vector<PendingClock> clocks;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint8_t* subscription = memory + in + std::size_t{i} * kSubscriptionSize;
    Event event;
    event.userdata = Load<std::uint64_t>(subscription);
    event.type = Load<std::uint8_t>(subscription + 8);
    switch (event.type) {
      case kEventClock: {
        const auto clock_id = Load<std::uint32_t>(subscription + 16);
        if (clock_id != kClockRealtime && clock_id != kClockMonotonic) {
          event.error = kErrnoInval;
          ready.push_back(event);
          break;
        }
        clocks.push_back(
            {event.userdata, WakeTime(*state, clock_id, Load<std::uint64_t>(subscription + 24),
                                      Load<std::uint16_t>(subscription + 40), now)});
        break;
      }
      case kEventFdRead:
      case kEventFdWrite: {
        // stdin holds the rest of the call's input (then end of file); stdout and
        // stderr always accept.
        const auto fd = Load<std::uint32_t>(subscription + 16);
        const bool readable = event.type == kEventFdRead && fd == 0;
        const bool writable = event.type == kEventFdWrite && (fd == 1 || fd == 2);
        if (!readable && !writable) event.error = kErrnoBadf;
        event.nbytes = writable ? 64 * 1024 : readable ? state->input.size() - state->input_pos : 0;
        ready.push_back(event);
        break;
      }
      default:
        return set_errno(kErrnoInval);
    }
  }

  if (ready.empty()) {
    const auto earliest = std::min_element(
        clocks.begin(), clocks.end(),
        [](const PendingClock& a, const PendingClock& b) { return a.wake_at < b.wake_at; });
    if (earliest->wake_at > state->deadline) {
      std::this_thread::sleep_until(state->deadline);
      state->timed_out.store(true);
      constexpr std::string_view kMessage = "time limit reached while sleeping in poll_oneoff";
      return wasmtime_trap_new(kMessage.data(), kMessage.size());
    }
    std::this_thread::sleep_until(earliest->wake_at);
  }
  const Clock::time_point after = Clock::now();
  for (const PendingClock& clock : clocks) {
    if (clock.wake_at <= after) ready.push_back({clock.userdata, kErrnoSuccess, kEventClock, 0});
  }

  for (std::size_t i = 0; i < ready.size(); ++i) {
    std::uint8_t* event = memory + out + i * kEventSize;
    std::memset(event, 0, kEventSize);
    Store<std::uint64_t>(event, ready[i].userdata);
    Store<std::uint16_t>(event + 8, ready[i].error);
    Store<std::uint8_t>(event + 10, ready[i].type);
    Store<std::uint64_t>(event + 16, ready[i].nbytes);
  }
  Store<std::uint32_t>(memory + nevents_at, static_cast<std::uint32_t>(ready.size()));
  return set_errno(kErrnoSuccess);
}

}  // namespace

Status DefineDeadlineAwarePoll(wasmtime_linker_t* linker) {
  return wasi::DefineErrnoFunction(linker, "poll_oneoff", 4, PollOneoff);
}

}  // namespace discoblocks::wasm
