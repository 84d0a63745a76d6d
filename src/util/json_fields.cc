#include "util/json_fields.h"

#include <fmt/format.h>

namespace discoblocks {
namespace {

using nlohmann::json;

// Null, or the member at `key` when `object` is an object holding one.
const json* Member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return nullptr;
  return &*found;
}

// object[key], created as `empty` when absent or null, when it has `empty`'s type.
Result<json*> Member(json& object, std::string_view key, std::string_view path, const json& empty,
                     std::string_view expected) {
  if (!object.is_object()) {
    const auto cut = path.rfind('.');
    return WrongType(cut == std::string_view::npos ? "(the document)" : path.substr(0, cut),
                     "an object", object);
  }
  json& member = object[std::string(key)];
  if (member.is_null()) member = empty;
  if (member.type() != empty.type()) return WrongType(path, expected, member);
  return &member;
}

}  // namespace

std::string_view JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::binary:
      return "binary data";
  }
  return "an unknown type";
}

Error WrongType(std::string_view path, std::string_view expected, const json& value) {
  return MakeError(fmt::format("{}: expected {}, got {}", path, expected, JsonTypeName(value)));
}

Result<std::string> OptionalString(const json& object, std::string_view key, std::string_view path,
                                   std::string_view fallback) {
  const json* member = Member(object, key);
  if (member == nullptr) return std::string(fallback);
  if (!member->is_string()) return WrongType(path, "a string", *member);
  return member->get_ref<const std::string&>();
}

Result<const json*> OptionalObject(const json& object, std::string_view key,
                                   std::string_view path) {
  const json* member = Member(object, key);
  if (member != nullptr && !member->is_object()) return WrongType(path, "an object", *member);
  return member;
}

Result<const json*> OptionalArray(const json& object, std::string_view key, std::string_view path) {
  const json* member = Member(object, key);
  if (member != nullptr && !member->is_array()) return WrongType(path, "an array", *member);
  return member;
}

const json* FindMember(const json& object, std::initializer_list<std::string_view> keys) {
  const json* at = &object;
  for (const std::string_view key : keys) {
    at = Member(*at, key);
    if (at == nullptr) return nullptr;
  }
  return at;
}

Result<json*> ObjectMember(json& object, std::string_view key, std::string_view path) {
  return Member(object, key, path, json::object(), "an object");
}

Result<json*> ArrayMember(json& object, std::string_view key, std::string_view path) {
  return Member(object, key, path, json::array(), "an array");
}

std::string StringOr(const json& object, std::string_view key, std::string_view fallback) {
  const json* member = Member(object, key);
  return member != nullptr && member->is_string() ? member->get_ref<const std::string&>()
                                                  : std::string(fallback);
}

std::string StringAt(const json& object, std::initializer_list<std::string_view> keys) {
  const json* found = FindMember(object, keys);
  return found != nullptr && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace discoblocks
