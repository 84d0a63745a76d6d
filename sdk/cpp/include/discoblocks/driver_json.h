// Discoblocks driver SDK for C++: JSON inputs read into typed fields.
//
// Part of the header-only SDK (include <discoblocks/driver.h>, not this file). It
// only uses nlohmann-json calls that do not throw, so that the same code works in
// a wasm32-wasi build without exceptions (JSON_NOEXCEPTION turns a throw into an
// abort, i.e. a trap) and in an ordinary host build with exceptions.
#ifndef DISCOBLOCKS_DRIVER_JSON_H
#define DISCOBLOCKS_DRIVER_JSON_H

#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace discoblocks::driver {

using Json = nlohmann::json;

// Serializes compactly. Invalid UTF-8 in strings becomes U+FFFD instead of
// raising an error, so that any value taken from an input can be echoed.
inline std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Whether s is well-formed UTF-8, using the library's own validation: the
// strict dumps of a string differ only if a byte had to be replaced.
inline bool IsUtf8(std::string_view s) {
  const Json value{std::string(s)};
  return value.dump(-1, ' ', false, Json::error_handler_t::replace) ==
         value.dump(-1, ' ', false, Json::error_handler_t::ignore);
}

// Quotes an untrusted value for a message: as a JSON string (one line, no
// control characters) cut to max_bytes at a UTF-8 character boundary, with "..."
// after it when cut, so that a huge or hostile input cannot flood the message.
inline std::string Quote(std::string_view s, std::size_t max_bytes = 200) {
  if (s.size() <= max_bytes) return Dump(Json(std::string(s)));
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U) --cut;
  return Dump(Json(std::string(s.substr(0, cut)))) + "...";
}

// Either a value or the message saying why there is none.
template <class T>
class Decoded {
 public:
  Decoded(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  static Decoded Error(std::string message) { return Decoded(std::move(message), 0); }

  explicit operator bool() const { return value_.has_value(); }
  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return &*value_; }
  const std::string& error() const { return error_; }

 private:
  Decoded(std::string message, int /*tag*/) : error_(std::move(message)) {}
  std::optional<T> value_;
  std::string error_;
};

// One field of an input object, in one of three states:
// - absent: missing or JSON null (Kubernetes treats an explicit null like an
//   omitted optional field): !set;
// - present with the expected type: set, value holds it;
// - present with another type, or an object on its path is not an object:
//   value empty, mismatch says so ("STORAGE_CLASS_JSON: allowVolumeExpansion is
//   a string, not a boolean").
// Drivers decide what a mismatch means: the API server never sends one, so a
// driver may call it an error (the GCE PD driver) or just "not the expected
// value" (the EBS driver).
template <class T>
struct Field {
  std::optional<T> value;
  bool set = false;
  std::string mismatch;

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
  // The value, or fallback when it is absent or of another type.
  T value_or(T fallback) const { return value ? *value : std::move(fallback); }
};

namespace detail {

inline const char* Article(Json::value_t type) {
  return type == Json::value_t::array || type == Json::value_t::object ? "an " : "a ";
}

// a.b.'c.d': keys containing a dot are quoted, as in kubectl's messages.
template <class Path>
std::string PathText(const Path& path, std::size_t n) {
  std::string text;
  std::size_t i = 0;
  for (const std::string_view key : path) {
    if (i++ == n) break;
    if (!text.empty()) text += '.';
    const bool quote = key.find('.') != std::string_view::npos;
    if (quote) text += '\'';
    text += key;
    if (quote) text += '\'';
  }
  return text;
}

inline std::string Mismatch(std::string_view source, std::initializer_list<std::string_view> path,
                            std::size_t n, const Json& found, Json::value_t want,
                            const char* want_name) {
  std::string text(source);
  text += ": " + PathText(path, n) + " is " + Article(found.type()) + found.type_name() + ", not " +
          Article(want) + want_name;
  return text;
}

template <class T>
struct JsonKind;
template <>
struct JsonKind<std::string> {
  static constexpr Json::value_t kType = Json::value_t::string;
  static constexpr const char* kName = "string";
  static bool Is(const Json& v) { return v.is_string(); }
  static std::string Get(const Json& v) { return v.get_ref<const std::string&>(); }
};
template <>
struct JsonKind<bool> {
  static constexpr Json::value_t kType = Json::value_t::boolean;
  static constexpr const char* kName = "boolean";
  static bool Is(const Json& v) { return v.is_boolean(); }
  static bool Get(const Json& v) { return v.get_ref<const bool&>(); }
};
// An object of strings (labels, parameters): values of other types are left out.
template <>
struct JsonKind<std::map<std::string, std::string>> {
  static constexpr Json::value_t kType = Json::value_t::object;
  static constexpr const char* kName = "object";
  static bool Is(const Json& v) { return v.is_object(); }
  static std::map<std::string, std::string> Get(const Json& v) {
    std::map<std::string, std::string> out;
    for (const auto& [key, item] : v.items()) {
      if (item.is_string()) out.emplace(key, item.get_ref<const std::string&>());
    }
    return out;
  }
};

}  // namespace detail

// The field at path (object keys) in root, an object read from the variable
// named source (which prefixes mismatch messages).
template <class T>
Field<T> Lookup(const Json& root, std::string_view source,
                std::initializer_list<std::string_view> path) {
  Field<T> field;
  const Json* at = &root;
  std::size_t depth = 0;
  for (std::string_view key : path) {
    if (at->is_null()) return field;
    if (!at->is_object()) {
      field.mismatch = detail::Mismatch(source, path, depth, *at, Json::value_t::object, "object");
      return field;
    }
    const auto it = at->find(key);
    if (it == at->end()) return field;
    at = &*it;
    ++depth;
  }
  if (at->is_null()) return field;
  field.set = true;
  using Kind = detail::JsonKind<T>;
  if (!Kind::Is(*at)) {
    field.mismatch = detail::Mismatch(source, path, depth, *at, Kind::kType, Kind::kName);
    return field;
  }
  field.value = Kind::Get(*at);
  return field;
}

namespace detail {

// The parser's message without its "[json.exception.parse_error.101] " tag.
inline std::string ParseErrorText(const nlohmann::detail::exception& ex) {
  std::string message = ex.what();
  if (!message.empty() && message.front() == '[') {
    const auto end = message.find("] ");
    if (end != std::string::npos) message.erase(0, end + 2);
  }
  return message;
}

// Collects the parser's message for an input that failed to parse. Only used on
// that failure path, so the valid path parses once, into a DOM.
class ErrorSax : public nlohmann::json_sax<Json> {
 public:
  std::string message;
  bool null() override { return true; }
  bool boolean(bool /*val*/) override { return true; }
  bool number_integer(number_integer_t /*val*/) override { return true; }
  bool number_unsigned(number_unsigned_t /*val*/) override { return true; }
  bool number_float(number_float_t /*val*/, const string_t& /*s*/) override { return true; }
  bool string(string_t& /*val*/) override { return true; }
  bool binary(binary_t& /*val*/) override { return true; }
  bool start_object(std::size_t /*elements*/) override { return true; }
  bool key(string_t& /*val*/) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t /*elements*/) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    message = ParseErrorText(ex);
    return false;
  }
};

}  // namespace detail

// Parses text (the value of the variable name) into a JSON object (a DOM, for
// the typed inputs' Raw()); errors name the variable so that the host's message
// points at the bad input.
inline Decoded<Json> ParseObject(std::string_view name, std::string_view text) {
  Json value = Json::parse(text.begin(), text.end(), nullptr, false);
  if (value.is_discarded()) {
    detail::ErrorSax sax;
    Json::sax_parse(text.begin(), text.end(), &sax);
    std::string message(name);
    message += " is not valid JSON";
    if (!sax.message.empty()) message += ": " + sax.message;
    return Decoded<Json>::Error(std::move(message));
  }
  if (!value.is_object()) {
    std::string message(name);
    message += " is a JSON ";
    message += value.type_name();
    message += ", not an object";
    return Decoded<Json>::Error(std::move(message));
  }
  return value;
}

}  // namespace discoblocks::driver

#endif  // DISCOBLOCKS_DRIVER_JSON_H
