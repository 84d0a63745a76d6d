// Base64 (RFC 4648, with padding), for the binary fields of Kubernetes
// objects such as an AdmissionReview's patch.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace discoblocks {

std::string Base64Encode(std::string_view data);

// Decodes `encoded`, ignoring white space (PEM and kubeconfig data may be
// wrapped). The error names `what`: "<what> is not valid base64 (...)".
Result<std::string> Base64Decode(std::string_view what, std::string_view encoded);

}  // namespace discoblocks
