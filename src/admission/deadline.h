// How long an admission request may wait for a driver worker. The API server
// gives up on a webhook after the configuration's timeoutSeconds and tells us
// how long that is in the query ("?timeout=10s"). A request that starts with
// less than one driver call's time left would be answered after the API server
// stopped listening; refusing it at once tells the user why instead.
#pragma once

#include <chrono>
#include <string_view>

namespace discoblocks::admission {

// The API server's default when the query has no (usable) timeout.
inline constexpr std::chrono::milliseconds kDefaultWebhookTimeout{10'000};

// From the request target: its `timeout` minus `work_time`, but at least a
// quarter of the timeout, so that a driver limit close to the timeout does not
// refuse everything.
std::chrono::milliseconds QueueWait(std::string_view target, std::chrono::milliseconds work_time);

}  // namespace discoblocks::admission
