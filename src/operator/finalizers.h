// Finalizers and labels written as merge patches, never as updates of whole
// objects (which would write back every field of a cached, transformed copy).
//
// A merge patch replaces metadata.finalizers whole, so a patch that sets it
// carries the resourceVersion it was computed from: a concurrent change of
// the list makes it a Conflict, and the change is computed again from a fresh
// read (kube::RetryOnConflict). Idempotent: a finalizer already present (or
// absent) writes nothing.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "kube/resource.h"

namespace discoblocks::op {

// Whether metadata.finalizers holds `finalizer` (any shape: false when not a list).
bool HasFinalizer(const nlohmann::json& object, std::string_view finalizer);
// Whether metadata.deletionTimestamp is set.
bool BeingDeleted(const nlohmann::json& object);

// The merge patch that makes `object` carry `finalizer` (present) or not,
// with the object's resourceVersion; none when it is so already, or when it
// is being deleted and the finalizer is absent (the API server refuses new
// finalizers then).
std::optional<nlohmann::json> FinalizerPatch(const nlohmann::json& object,
                                             std::string_view finalizer, bool present);

// Makes the object `ns/name` of `type` carry `finalizer` or not, starting
// from `cached` (a recent copy, which saves a read when it is current) and
// reading again after a conflict. An object that is gone is fine (nothing to
// do). Returns whether a patch was written.
kube::KubeResult<bool> EnsureFinalizer(const kube::Client& client, const kube::ResourceType& type,
                                       std::string_view ns, std::string_view name,
                                       const nlohmann::json& cached, std::string_view finalizer,
                                       bool present);

}  // namespace discoblocks::op
