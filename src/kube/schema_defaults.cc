#include "kube/schema_defaults.h"

namespace discoblocks::kube {

using nlohmann::json;

namespace {

const json* Member(const json& schema, const char* key) {
  if (!schema.is_object()) return nullptr;
  const auto found = schema.find(key);
  return found == schema.end() ? nullptr : &*found;
}

}  // namespace

void ApplySchemaDefaults(json& object, const json& schema) {
  if (object.is_object()) {
    const json* properties = Member(schema, "properties");
    if (properties != nullptr && properties->is_object()) {
      for (const auto& [key, property] : properties->items()) {
        const json* fallback = Member(property, "default");
        auto field = object.find(key);
        if (fallback != nullptr && (field == object.end() || field->is_null())) {
          object[key] = *fallback;
          field = object.find(key);
        }
        if (field != object.end()) ApplySchemaDefaults(*field, property);
      }
    }
    // Maps (additionalProperties with a schema) default each of their values.
    const json* additional = Member(schema, "additionalProperties");
    if (additional != nullptr && additional->is_object()) {
      for (auto entry = object.begin(); entry != object.end(); ++entry) {
        if (properties == nullptr || !properties->contains(entry.key())) {
          ApplySchemaDefaults(entry.value(), *additional);
        }
      }
    }
  } else if (object.is_array()) {
    if (const json* items = Member(schema, "items"); items != nullptr) {
      for (json& item : object) ApplySchemaDefaults(item, *items);
    }
  }
}

}  // namespace discoblocks::kube
