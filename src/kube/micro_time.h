// Kubernetes' timestamps as text, always in UTC: metav1.Time
// ("2024-05-01T12:00:00Z", RFC 3339 in whole seconds: conditions, annotations)
// and metav1.MicroTime ("2024-05-01T12:00:00.123456Z": Leases and
// events.k8s.io Events).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace discoblocks::kube {

std::string FormatMicroTime(std::chrono::system_clock::time_point time);
std::string FormatTime(std::chrono::system_clock::time_point time);  // whole seconds

// Reads "YYYY-MM-DDTHH:MM:SS", an optional fraction of up to 9 digits, then
// "Z" or a "+HH:MM"/"-HH:MM" offset: what Kubernetes writes and accepts. The
// error quotes (the start of) the text.
Result<std::chrono::system_clock::time_point> ParseTime(std::string_view text);

}  // namespace discoblocks::kube
