// Reading fields of JSON that came from outside, without exceptions.
// nlohmann's get<T>() and value() throw type_error when a field has another
// type than expected; a number where a string belongs must instead give an
// error that names the field, e.g.
//   "request.object.metadata.name: expected a string, got a number".
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks {

// "a string", "a number", "an array", "an object", "a boolean", "null".
std::string_view JsonTypeName(const nlohmann::json& value);

// "<path>: expected <expected>, got <JsonTypeName(value)>".
Error WrongType(std::string_view path, std::string_view expected, const nlohmann::json& value);

// The string at object[key], or `fallback` when `object` is not an object,
// lacks the key or holds null there. Another type is an error naming `path`.
Result<std::string> OptionalString(const nlohmann::json& object, std::string_view key,
                                   std::string_view path, std::string_view fallback = "");

// The object at object[key], or nullptr when `object` is not an object, lacks
// the key or holds null there. Another type is an error naming `path`.
Result<const nlohmann::json*> OptionalObject(const nlohmann::json& object, std::string_view key,
                                             std::string_view path);

// The array at object[key], or nullptr when `object` is not an object, lacks
// the key or holds null there. Another type is an error naming `path`.
Result<const nlohmann::json*> OptionalArray(const nlohmann::json& object, std::string_view key,
                                            std::string_view path);

// The value at object[keys[0]][keys[1]]..., or nullptr when a step is not an
// object, lacks the key or holds null there.
const nlohmann::json* FindMember(const nlohmann::json& object,
                                 std::initializer_list<std::string_view> keys);

// For building on a document from outside: the object (or array) at
// object[key], created empty when the key is absent or holds null. Another
// type there is an error naming `path`, and so is an `object` that is not an
// object; nothing is created then.
Result<nlohmann::json*> ObjectMember(nlohmann::json& object, std::string_view key,
                                     std::string_view path);
Result<nlohmann::json*> ArrayMember(nlohmann::json& object, std::string_view key,
                                    std::string_view path);

// The string at object[key], or `fallback` for anything else. For values that
// only feed logs and messages, where a wrong type is not worth an error.
std::string StringOr(const nlohmann::json& object, std::string_view key,
                     std::string_view fallback = "");

// The string at object[keys[0]][keys[1]]... (FindMember), or "" when there is
// none or it is not a string. For names and labels read from cached objects,
// where a missing or odd value simply matches nothing.
std::string StringAt(const nlohmann::json& object, std::initializer_list<std::string_view> keys);

}  // namespace discoblocks
