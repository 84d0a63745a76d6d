// What the host keeps for one running call: its deadline, captured output and
// monotonic clock.
// The store's data pointer points here, so host functions and callbacks that run
// inside the call can reach it. Internal to src/wasm/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace discoblocks::wasm {

// Captures one output stream up to a cap. Bytes past the cap are dropped and the
// stream is marked as overflowed; the call is then stopped at the next epoch tick.
// Only the thread running the call writes and reads it (fd_write and the epoch
// callback run on that thread).
class OutputCapture {
 public:
  explicit OutputCapture(std::uint64_t cap) : cap_(cap) {}

  void Append(const unsigned char* bytes, std::size_t length);
  [[nodiscard]] bool overflowed() const { return overflowed_.load(std::memory_order_relaxed); }
  std::string Take();

 private:
  std::string data_;
  std::uint64_t cap_;
  std::atomic<bool> overflowed_{false};
};

struct CallState {
  CallState(std::chrono::steady_clock::time_point deadline_at, std::uint64_t stdout_cap,
            std::uint64_t stderr_cap)
      : deadline(deadline_at), out(stdout_cap), err(stderr_cap) {}

  std::chrono::steady_clock::time_point deadline;
  std::atomic<bool> timed_out{false};
  // Standard input (RunRequest::input) and how much of it fd_read has consumed.
  std::string_view input;
  std::size_t input_pos = 0;
  OutputCapture out;
  OutputCapture err;

  // The module's WASI monotonic clock (wasi_clock.h) reads
  // monotonic_base_ns + (now - started). The base is 0 for a module run from its
  // start; a pre-initialized module's base lies past every reading its
  // initializer made, so that its clock never goes backwards.
  std::chrono::steady_clock::time_point started;
  std::int64_t monotonic_base_ns = 0;
  // The largest monotonic reading returned so far (0 before any): the base of a
  // snapshot taken at the end of this run must exceed it.
  std::int64_t monotonic_max_ns = 0;
};

}  // namespace discoblocks::wasm
