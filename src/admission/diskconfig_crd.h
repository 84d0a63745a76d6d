// The DiskConfig CRD (deploy/helm/discoblocks/crds/), compiled into the binary
// so that the defaults `validate`, `mutate` and the webhooks apply are the
// ones the API server applies: one source, which cannot drift.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace discoblocks::admission {

// The CRD file's text, as shipped (generated at build time).
std::string_view DiskConfigCrdText();

// The v1 version's openAPIV3Schema, parsed once. Aborts the process if the
// embedded CRD does not parse or has no v1 schema: that is a build defect,
// which the tests catch.
const nlohmann::json& DiskConfigSchema();

}  // namespace discoblocks::admission
