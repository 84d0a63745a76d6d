// What one AdmissionReview may cost, so that `serve` can state the most memory
// its requests can hold (docs/reliability.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/document.h"

namespace discoblocks::admission {

// The HTTPS server already refuses bodies above 3 MiB (ServerOptions::
// max_body_bytes); this holds for callers that bypass it. An AdmissionReview
// carries at most two objects of etcd's 1.5 MiB each. A quarter of a million
// values is some fifty times a large pod with its managedFields.
inline constexpr ParseLimits kReviewLimits{std::size_t{3} << 20, kDefaultMaxDepth, 250'000};

// A review within kReviewLimits, parsed, measured at its worst (a 3 MiB body
// of members with short keys; tests/admission/review_memory_test.cc), with
// room for the copy the rules make of the object.
inline constexpr std::uint64_t kMaxParsedReviewBytes = std::uint64_t{64} << 20;

}  // namespace discoblocks::admission
