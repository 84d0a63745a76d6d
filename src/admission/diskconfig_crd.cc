#include "admission/diskconfig_crd.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "util/document.h"

namespace discoblocks::admission {

using nlohmann::json;

namespace {

json LoadSchema() {
  auto crd = ParseDocument(DiskConfigCrdText(), "the embedded DiskConfig CRD");
  if (!crd) {
    spdlog::critical("{}", crd.error().message);
    std::abort();
  }
  for (const json& version : crd->value("/spec/versions"_json_pointer, json::array())) {
    if (version.is_object() && version.value("name", "") == "v1") {
      return version.value("/schema/openAPIV3Schema"_json_pointer, json());
    }
  }
  spdlog::critical("the embedded DiskConfig CRD has no v1 schema");
  std::abort();
}

}  // namespace

const json& DiskConfigSchema() {
  static const json kSchema = LoadSchema();
  return kSchema;
}

}  // namespace discoblocks::admission
