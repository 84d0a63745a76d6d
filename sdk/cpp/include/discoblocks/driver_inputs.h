// Discoblocks driver SDK for C++: the typed inputs (StorageClass, Node,
// PersistentVolume, VolumeAttachment), decoded from the JSON in the contract's
// variables. Part of <discoblocks/driver.h>.
//
// Why a SAX decoder and not a DOM: every call runs in a fresh instance, so the
// decoding is paid on every call. Building nlohmann's DOM (a std::map and a string
// per member) and then looking fields up cost the GCE PD driver twice the call time
// of its former hand-written C reader; one pass that validates the whole document
// and keeps only the fields a typed input declares allocates almost nothing. The
// whole object stays available, parsed on demand, through Raw().
#ifndef DISCOBLOCKS_DRIVER_INPUTS_H
#define DISCOBLOCKS_DRIVER_INPUTS_H

#include <cstddef>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "discoblocks/driver_json.h"

namespace discoblocks::driver {

// The variable names of ABI v1 (PVC_NAMESACE is misspelled in the original
// contract and must stay so).
inline constexpr const char* kStorageClassVar = "STORAGE_CLASS_JSON";
inline constexpr const char* kNodeVar = "NODE_JSON";
inline constexpr const char* kPersistentVolumeVar = "PERSISTENT_VOLUME_JSON";
inline constexpr const char* kVolumeAttachmentVar = "VOLUME_ATTACHMENT_JSON";
inline constexpr const char* kPvcNameVar = "PVC_NAME";
inline constexpr const char* kPvcNamespaceVar = "PVC_NAMESACE";
inline constexpr const char* kStorageClassNameVar = "STORAGE_CLASS_NAME";

using StringMap = std::map<std::string, std::string>;

// One pass over a document (nlohmann's SAX parser): validates all of it, and
// fills the fields registered with Want() with the same rules as Lookup():
// absent for missing or null, a mismatch for another type or a non-object on the
// path. When a key appears twice the last one wins, as in Go's encoding/json.
class Decoder : public nlohmann::json_sax<Json> {
 public:
  explicit Decoder(std::string_view source) : source_(source) {}

  void Want(std::initializer_list<std::string_view> path, Field<std::string>* field) {
    targets_.push_back({path, Kind::kString, field, nullptr});
  }
  void Want(std::initializer_list<std::string_view> path, Field<bool>* field) {
    targets_.push_back({path, Kind::kBool, field, nullptr});
  }
  // An object of strings; the types of its other members go to other_types.
  void Want(std::initializer_list<std::string_view> path, Field<StringMap>* field,
            StringMap* other_types = nullptr) {
    targets_.push_back({path, Kind::kMap, field, other_types});
  }

  // Decodes text; returns the error naming the variable, or "" when it is a
  // valid JSON object.
  std::string Run(std::string_view text) {
    const bool ok = Json::sax_parse(text.begin(), text.end(), this);
    std::string message(source_);
    if (!ok) {
      message += " is not valid JSON";
      if (!error_.empty()) message += ": " + error_;
      return message;
    }
    if (top_type_ != nullptr) return message + " is a JSON " + top_type_ + ", not an object";
    return {};
  }

  bool null() override { return Value("null", nullptr); }
  bool boolean(bool val) override { return Value("boolean", &val); }
  bool number_integer(number_integer_t /*val*/) override { return Value("number", nullptr); }
  bool number_unsigned(number_unsigned_t /*val*/) override { return Value("number", nullptr); }
  bool number_float(number_float_t /*val*/, const string_t& /*s*/) override {
    return Value("number", nullptr);
  }
  bool string(string_t& val) override { return Value("string", &val); }
  bool binary(binary_t& /*val*/) override { return Value("binary", nullptr); }
  bool start_object(std::size_t /*elements*/) override {
    Value("object", nullptr);
    stack_.push_back({false, {}});
    return true;
  }
  bool key(string_t& val) override {
    stack_.back().key = val;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    if (capture_ != nullptr && stack_.size() == capture_depth_) capture_ = nullptr;
    return true;
  }
  bool start_array(std::size_t /*elements*/) override {
    Value("array", nullptr);
    stack_.push_back({true, {}});
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    error_ = detail::ParseErrorText(ex);
    return false;
  }

 private:
  enum class Kind { kString, kBool, kMap };
  struct Target {
    std::vector<std::string_view> path;  // of string literals
    Kind kind;
    void* field;
    StringMap* other_types;
  };
  struct Frame {
    bool array;
    std::string key;  // the member being read, in an object
  };

  static Json::value_t TypeOf(const char* type) {
    const std::string_view t(type);
    if (t == "object") return Json::value_t::object;
    if (t == "array") return Json::value_t::array;
    return Json::value_t::string;  // only the article matters: "a"
  }

  std::string MismatchText(const Target& target, std::size_t depth, const char* found,
                           const char* want) const {
    std::string text(source_);
    text += ": " + detail::PathText(target.path, depth) + " is " + detail::Article(TypeOf(found)) +
            found + ", not " + detail::Article(TypeOf(want)) + want;
    return text;
  }

  // Sets field from a value of JSON type `type` (the event's), wanted `want`.
  template <class T>
  void Assign(const Target& target, std::size_t depth, const char* type, const char* want,
              const void* value) const {
    auto* field = static_cast<Field<T>*>(target.field);
    *field = Field<T>{};
    if (std::string_view(type) == "null") return;
    field->set = true;
    if (std::string_view(type) != want) {
      field->mismatch = MismatchText(target, depth, type, want);
      return;
    }
    if constexpr (std::is_same_v<T, StringMap>) {
      field->value.emplace();
    } else {
      field->value = *static_cast<const T*>(value);
    }
  }

  // One value (or the start of a container) at the position the stack says.
  bool Value(const char* type, const void* value) {
    const std::size_t depth = stack_.size();
    if (depth == 0) {
      if (std::string_view(type) != "object") top_type_ = type;
      return true;
    }
    if (top_type_ != nullptr) return true;  // only validating the rest
    if (capture_ != nullptr) {
      if (depth == capture_depth_ + 1) {
        const std::string& member = stack_.back().key;
        if (std::string_view(type) == "string") {
          (*capture_->value)[member] = *static_cast<const std::string*>(value);
        } else if (capture_types_ != nullptr) {
          (*capture_types_)[member] = type;
        }
      }
      return true;
    }
    for (const Target& target : targets_) {
      if (depth > target.path.size()) continue;
      bool on_path = true;
      std::size_t i = 0;
      for (auto it = target.path.begin(); i < depth; ++it, ++i) {
        if (stack_[i].array || stack_[i].key != *it) {
          on_path = false;
          break;
        }
      }
      if (!on_path) continue;
      if (depth < target.path.size()) {
        // A container on the way: an object (or null) is fine for now.
        const bool fine = std::string_view(type) == "object" || std::string_view(type) == "null";
        Reset(target, fine ? std::string() : MismatchText(target, depth, type, "object"));
        continue;
      }
      switch (target.kind) {
        case Kind::kString:
          Assign<std::string>(target, depth, type, "string", value);
          break;
        case Kind::kBool:
          Assign<bool>(target, depth, type, "boolean", value);
          break;
        case Kind::kMap: {
          Assign<StringMap>(target, depth, type, "object", value);
          auto* field = static_cast<Field<StringMap>*>(target.field);
          if (target.other_types != nullptr) target.other_types->clear();
          if (field->value) {
            capture_ = field;
            capture_types_ = target.other_types;
            capture_depth_ = depth;  // the object's members are at depth + 1
          }
          break;
        }
      }
    }
    return true;
  }

  // A value on the path of target replaces whatever an earlier duplicate key set.
  static void Reset(const Target& target, std::string mismatch) {
    switch (target.kind) {
      case Kind::kString:
        *static_cast<Field<std::string>*>(target.field) = {{}, false, std::move(mismatch)};
        break;
      case Kind::kBool:
        *static_cast<Field<bool>*>(target.field) = {{}, false, std::move(mismatch)};
        break;
      case Kind::kMap:
        *static_cast<Field<StringMap>*>(target.field) = {{}, false, std::move(mismatch)};
        if (target.other_types != nullptr) target.other_types->clear();
        break;
    }
  }

  std::string_view source_;
  std::vector<Target> targets_;
  std::vector<Frame> stack_;
  const char* top_type_ = nullptr;  // set when the document is not an object
  std::string error_;
  Field<StringMap>* capture_ = nullptr;  // the object of strings being read
  StringMap* capture_types_ = nullptr;
  std::size_t capture_depth_ = 0;
};

// What every typed input has: the text it was decoded from, and the whole object
// on demand (a DOM, parsed again: for the fields the struct does not model).
struct Input {
  std::string_view text;  // valid for the call (an environment variable)
  Json Raw() const { return Json::parse(text.begin(), text.end(), nullptr, false); }
};

struct StorageClass : Input {
  Field<std::string> name, provisioner, volume_binding_mode, reclaim_policy;
  Field<bool> allow_volume_expansion;
  Field<StringMap> parameters;

  static constexpr const char* kVar = kStorageClassVar;
  void Bind(Decoder& d) {
    d.Want({"metadata", "name"}, &name);
    d.Want({"provisioner"}, &provisioner);
    d.Want({"volumeBindingMode"}, &volume_binding_mode);
    d.Want({"reclaimPolicy"}, &reclaim_policy);
    d.Want({"allowVolumeExpansion"}, &allow_volume_expansion);
    d.Want({"parameters"}, &parameters);
  }
};

struct Node : Input {
  Field<std::string> name;
  Field<StringMap> labels;  // the labels with string values (all of them, in practice)

  static constexpr const char* kVar = kNodeVar;
  void Bind(Decoder& d) {
    d.Want({"metadata", "name"}, &name);
    d.Want({"metadata", "labels"}, &labels, &label_types_);
  }
  // One label, with its exact path in a mismatch message.
  Field<std::string> Label(const std::string& key) const {
    Field<std::string> field;
    if (!labels) {
      field.mismatch = labels.mismatch;
      return field;
    }
    if (const auto it = labels->find(key); it != labels->end()) {
      field.set = true;
      field.value = it->second;
    } else if (const auto type = label_types_.find(key); type != label_types_.end()) {
      field.set = true;
      const Json::value_t t = type->second == "array"    ? Json::value_t::array
                              : type->second == "object" ? Json::value_t::object
                                                         : Json::value_t::string;
      if (type->second != "null") {
        field.mismatch =
            std::string(kNodeVar) + ": " +
            detail::PathText(std::vector<std::string_view>{"metadata", "labels", key}, 3) + " is " +
            detail::Article(t) + type->second + ", not a string";
      } else {
        field.set = false;
      }
    }
    return field;
  }

 private:
  StringMap label_types_;  // label -> JSON type, for labels that are not strings
};

struct PersistentVolume : Input {
  Field<std::string> name, csi_driver, volume_handle, fs_type;

  static constexpr const char* kVar = kPersistentVolumeVar;
  void Bind(Decoder& d) {
    d.Want({"metadata", "name"}, &name);
    d.Want({"spec", "csi", "driver"}, &csi_driver);
    d.Want({"spec", "csi", "volumeHandle"}, &volume_handle);
    d.Want({"spec", "csi", "fsType"}, &fs_type);
  }
};

struct VolumeAttachment : Input {
  Field<std::string> name, attacher, node_name, persistent_volume_name;
  Field<bool> attached;
  Field<StringMap> attachment_metadata;

  static constexpr const char* kVar = kVolumeAttachmentVar;
  void Bind(Decoder& d) {
    d.Want({"metadata", "name"}, &name);
    d.Want({"spec", "attacher"}, &attacher);
    d.Want({"spec", "nodeName"}, &node_name);
    d.Want({"spec", "source", "persistentVolumeName"}, &persistent_volume_name);
    d.Want({"status", "attached"}, &attached);
    d.Want({"status", "attachmentMetadata"}, &attachment_metadata);
  }
};

// Decodes text (which must outlive the result) as the typed input T.
template <class T>
Decoded<T> Decode(std::string_view text) {
  T input;
  input.text = text;
  Decoder decoder(T::kVar);
  input.Bind(decoder);
  std::string error = decoder.Run(text);
  if (!error.empty()) return Decoded<T>::Error(std::move(error));
  return input;
}

}  // namespace discoblocks::driver

#endif  // DISCOBLOCKS_DRIVER_INPUTS_H
