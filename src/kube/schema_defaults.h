// Defaulting as the API server does it for custom resources: walks an object
// alongside its structural OpenAPI v3 schema (a CRD version's
// openAPIV3Schema, as JSON) and fills in each `default` where the field is
// absent or null. Nested defaults apply only inside objects that exist, or
// that a default of their own created (which is why a CRD gives `policy`
// "default: {}"). Defaults are not validated here: the API server checks them
// when the CRD is created.
#pragma once

#include <nlohmann/json.hpp>

namespace discoblocks::kube {

// Fills `object` in place. Values of the wrong type are left alone (their
// schema does not apply to them); so is everything the schema does not name.
// Recurses as deep as `object` is: give it objects within the parse limits.
void ApplySchemaDefaults(nlohmann::json& object, const nlohmann::json& schema);

}  // namespace discoblocks::kube
