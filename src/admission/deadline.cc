#include "admission/deadline.h"

#include <algorithm>

#include "util/duration.h"

namespace discoblocks::admission {
namespace {

// The value of `timeout` in a query string, or empty.
std::string_view TimeoutParameter(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("timeout=")) return pair.substr(8);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

std::chrono::milliseconds QueueWait(std::string_view target, std::chrono::milliseconds work_time) {
  std::chrono::milliseconds timeout = kDefaultWebhookTimeout;
  if (const auto text = TimeoutParameter(target); !text.empty()) {
    // The API server allows 1 to 30 seconds; anything else is not its doing.
    if (auto parsed = ParseDuration(text);
        parsed && *parsed >= std::chrono::seconds(1) && *parsed <= std::chrono::seconds(30)) {
      timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
    }
  }
  return std::max(timeout - work_time, timeout / 4);
}

}  // namespace discoblocks::admission
