// Kubernetes' timestamps as text: metav1.MicroTime ("2024-05-01T12:00:00.123456Z",
// used by Leases and events.k8s.io Events), always in UTC.
#pragma once

#include <chrono>
#include <string>

namespace discoblocks::kube {

std::string FormatMicroTime(std::chrono::system_clock::time_point time);

}  // namespace discoblocks::kube
