// Discoblocks driver SDK for C++ (header-only), ABI v2 (docs/driver-abi.md).
//
// A driver is a WASI preview 1 reactor exporting nine functions (and, optionally,
// GetResizePolicy). Each one gets its inputs as one JSON object on stdin (ABI
// v2, which drivers built with this SDK declare by exporting discoblocks_abi_v2;
// with -DDISCOBLOCKS_ABI_V1, from environment variables as in ABI v1) and
// answers on stdout, with reasons and errors on stderr. With this SDK a driver
// writes each function as a pure function from
// typed inputs (StorageClass, Node, PersistentVolume, ...) to a Result, and
// registers it with one macro per ABI function:
//
//   discoblocks::driver::Result Valid(const discoblocks::driver::StorageClass& sc) {
//     return discoblocks::driver::Bool(sc.allow_volume_expansion.value_or(false),
//                                      "only allowVolumeExpansion true is supported");
//   }
//   DISCOBLOCKS_IS_STORAGE_CLASS_VALID(Valid)
//
// The SDK reads and parses the inputs (a missing or malformed input is an error
// naming the variable), applies the contract's outcome rules to the Result, and
// writes it. The adapters (IsStorageClassValid(env, f), ...) are plain functions
// of an Env, so the logic can be unit-tested on the host with a MapEnv.
//
// Build for wasm32 (Debian: clang-14, lld-14, libc++-14-dev-wasm32,
// libc++abi-14-dev-wasm32, nlohmann-json3-dev):
//   clang++-14 --target=wasm32-wasi -mexec-model=reactor -std=c++17 -O2
//     -fno-exceptions -DJSON_NOEXCEPTION -DJSON_HAS_FILESYSTEM=0
//     -DJSON_HAS_EXPERIMENTAL_FILESYSTEM=0 -isystem DIR -I sdk/cpp/include
// where DIR holds only a symlink nlohmann -> /usr/include/nlohmann (never pass
// -I/usr/include: it would mix glibc's headers into the wasm build).
#ifndef DISCOBLOCKS_DRIVER_H
#define DISCOBLOCKS_DRIVER_H

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "discoblocks/driver_inputs.h"
#include "discoblocks/driver_json.h"

namespace discoblocks::driver {

// ---------------------------------------------------------------------------
// Results

// Everything one call writes.
struct Result {
  std::string out;  // stdout: the answer
  std::string err;  // stderr: the reason of a false, a warning, or the error

  bool operator==(const Result& other) const { return out == other.out && err == other.err; }
  bool operator!=(const Result& other) const { return !(*this == other); }
};

// A text answer: a namespace, a shell command, an attachment metadata key.
inline Result Text(std::string text) { return {std::move(text), {}}; }

// No answer at all (no topology, no command, no metadata key to wait for).
inline Result Nothing() { return {}; }

// The answer of a boolean function. The host takes stderr after a false as its
// reason (so it is written only then), and stderr after a true as a warning.
inline Result Bool(bool value, std::string reason_if_false = {}) {
  if (value) return {"true", {}};
  return {"false", std::move(reason_if_false)};
}

// true, with a warning the host passes on (admission responses' warnings).
inline Result TrueWithWarning(std::string warning) { return {"true", std::move(warning)}; }

// A call that cannot answer. Stdout stays empty on purpose: for a boolean
// function the host then reports an error instead of taking the failure for
// true or false, and for a JSON function it reports stderr as the error.
inline Result Fail(std::string reason) { return {{}, std::move(reason)}; }

// A JSON answer, compact.
inline Result JsonAnswer(const Json& value) { return Text(Dump(value)); }

// A TopologySelectorLabelRequirement and a TopologySelectorTerm (core/v1).
struct LabelRequirement {
  std::string key;
  std::vector<std::string> values;
};
struct TopologyTerm {
  std::vector<LabelRequirement> match_label_expressions;
};

// The answer of GetStorageClassAllowedTopology: nothing when there are no terms
// (a volume reachable from every node), else the JSON array of the terms.
inline Result Topology(const std::vector<TopologyTerm>& terms) {
  if (terms.empty()) return Nothing();
  Json array = Json::array();
  for (const TopologyTerm& term : terms) {
    Json expressions = Json::array();
    for (const LabelRequirement& requirement : term.match_label_expressions) {
      expressions.push_back({{"key", requirement.key}, {"values", requirement.values}});
    }
    array.push_back({{"matchLabelExpressions", std::move(expressions)}});
  }
  return JsonAnswer(array);
}

// The answer of GetCSIDriverPodLabels.
inline Result Labels(const std::map<std::string, std::string>& labels) {
  return JsonAnswer(Json(labels));
}

// What GetPVCStub is asked for.
struct PvcRequest {
  std::string name;
  std::string namespace_name;  // from PVC_NAMESACE (sic)
  std::string storage_class_name;
};

// The usual GetPVCStub answer: a minimal PersistentVolumeClaim that the operator
// completes (labels, capacity, access modes).
inline Result PvcStub(const PvcRequest& request) {
  // Keys in alphabetical order: nlohmann's objects are sorted, and the stub is
  // compared byte for byte by the host's tests.
  return JsonAnswer({{"apiVersion", "v1"},
                     {"kind", "PersistentVolumeClaim"},
                     {"metadata", {{"name", request.name}, {"namespace", request.namespace_name}}},
                     {"spec", {{"storageClassName", request.storage_class_name}}}});
}

// What a disk type allows when a volume grows: the answer of the optional
// GetResizePolicy (docs/driver-abi.md). An empty or zero field declares no
// limit of that kind.
struct ResizeLimits {
  std::string granularity;       // a Kubernetes quantity ("1Gi"): sizes are multiples of it
  std::string minimum_increase;  // a quantity: a resize grows by at least this much
  int max_modifications = 0;     // size changes of one volume within any window; 0: no limit
  std::string window;            // a Go duration ("24h"); required with max_modifications
};

// The answer of GetResizePolicy: nothing when `limits` declares no limit at
// all, else the JSON object of the fields that are set.
inline Result ResizePolicy(const ResizeLimits& limits) {
  if (limits.max_modifications < 0) {
    return Fail("driver bug: ResizeLimits.max_modifications is below 0");
  }
  Json object = Json::object();
  if (!limits.granularity.empty()) object["granularity"] = limits.granularity;
  if (!limits.minimum_increase.empty()) object["minimumIncrease"] = limits.minimum_increase;
  if (limits.max_modifications > 0) object["maxModifications"] = limits.max_modifications;
  if (!limits.window.empty()) object["window"] = limits.window;
  if (object.empty()) return Nothing();
  return JsonAnswer(object);
}

// ---------------------------------------------------------------------------
// Inputs

namespace detail {

// Reads an ABI v2 call document's top-level members in one pass of nlohmann's
// SAX parser, without building a tree: a member that is an object or an array
// is kept as its span of the document (the text ABI v1 gave in the environment)
// instead of being parsed into a tree and printed back out. The typed decoding
// still reads that span a second time. The spans come from where the parser
// has read to: it reads one character at a time and reports an object or array
// right after reading its '{' or '[', and its end right after reading its '}'
// or ']' (tests/sdk/driver_sdk_test.cc holds it to that).
class CallDocumentReader : public nlohmann::json_sax<Json> {
 public:
  CallDocumentReader(std::string_view document, std::map<std::string, std::string>* values)
      : document_(document), values_(values) {}

  // False when the document is not a JSON object; error() says why.
  bool Read() {
    read_to_ = document_.data();
    const bool parsed =
        Json::sax_parse(Cursor{document_.data(), &read_to_},
                        Cursor{document_.data() + document_.size(), &read_to_}, this);
    if (!parsed) {
      error_ = "the host's input is not valid JSON";
    } else if (top_type_ != nullptr) {
      error_ = std::string("the host's input is not a JSON object but ") + top_type_;
    }
    if (!error_.empty()) values_->clear();
    return error_.empty();
  }
  const std::string& error() const { return error_; }

  bool null() override { return Scalar(Json::value_t::null, nullptr); }
  bool boolean(bool val) override { return Scalar(Json::value_t::boolean, val ? "true" : "false"); }
  // A number's text is made only for a member's value (nested ones are the
  // typed decoding's business).
  bool number_integer(number_integer_t val) override {
    return depth_ > 1 || Scalar(Json::value_t::number_integer, Json(val).dump());
  }
  bool number_unsigned(number_unsigned_t val) override {
    return depth_ > 1 || Scalar(Json::value_t::number_unsigned, Json(val).dump());
  }
  bool number_float(number_float_t val, const string_t& /*s*/) override {
    return depth_ > 1 || Scalar(Json::value_t::number_float, Json(val).dump());
  }
  bool string(string_t& val) override { return Scalar(Json::value_t::string, std::move(val)); }
  bool binary(binary_t& /*val*/) override { return Scalar(Json::value_t::binary, nullptr); }
  bool start_object(std::size_t /*elements*/) override { return Open(Json::value_t::object); }
  bool start_array(std::size_t /*elements*/) override { return Open(Json::value_t::array); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& val) override {
    if (depth_ == 1) key_ = std::move(val);
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    return false;
  }

 private:
  // The document's characters, telling the reader how far the parser has read.
  struct Cursor {
    using iterator_category = std::input_iterator_tag;
    using value_type = char;
    using difference_type = std::ptrdiff_t;
    using pointer = const char*;
    using reference = const char&;

    const char* at;
    const char** read_to;

    reference operator*() const { return *at; }
    Cursor& operator++() {
      *read_to = ++at;
      return *this;
    }
    Cursor operator++(int) {
      Cursor before = *this;
      ++*this;
      return before;
    }
    bool operator==(const Cursor& other) const { return at == other.at; }
    bool operator!=(const Cursor& other) const { return at != other.at; }
  };

  // nlohmann's name of a JSON type ("number" for every kind of number); the
  // names are string literals, so they outlive the value asked.
  static const char* TypeName(Json::value_t type) { return Json(type).type_name(); }

  // A value that is not an object or array: a member's value at depth 1, the
  // whole document at depth 0 (which is then not an object).
  template <class Text>
  bool Scalar(Json::value_t type, Text&& text) {
    if (depth_ == 0) {
      top_type_ = TypeName(type);
    } else if (depth_ == 1) {
      // null, or a value no input can be, leaves the member unset.
      if constexpr (!std::is_same_v<std::decay_t<Text>, std::nullptr_t>) {
        values_->try_emplace(key_, std::forward<Text>(text));
      }
    }
    return true;
  }

  bool Open(Json::value_t type) {
    if (depth_ == 0 && type != Json::value_t::object) top_type_ = TypeName(type);
    if (depth_ == 1) opened_at_ = read_to_ - 1;
    ++depth_;
    return true;
  }

  bool Close() {
    --depth_;
    if (depth_ == 1) values_->try_emplace(key_, opened_at_, read_to_);
    return true;
  }

  std::string_view document_;
  std::map<std::string, std::string>* values_;
  const char* read_to_ = nullptr;    // just past the last character read
  const char* opened_at_ = nullptr;  // the '{' or '[' of the member being read
  std::size_t depth_ = 0;
  std::string key_;
  const char* top_type_ = nullptr;  // set when the document is not an object
  std::string error_;
};

}  // namespace detail

// Where inputs come from: the call document on stdin (ABI v2) or the process
// environment (ABI v1) in a driver, a map in tests.
class Env {
 public:
  Env() = default;  // the process environment
  explicit Env(const std::map<std::string, std::string>* values) : values_(values) {}

  // An Env over an ABI v2 call document: one JSON object whose member names are
  // ABI v1's variable names. A driver reads the same text either way: an object
  // or array member reads as its JSON text, exactly as the host wrote it, a
  // string member as the string, another value as its JSON text, and null or an
  // absent member is unset; of several members of one name the first that is
  // set counts, as in the Go SDK (the host never writes two). A
  // document that is not a JSON object makes every Required input fail with
  // that reason.
  static Env FromDocument(std::string_view document) {
    Env env;
    auto values = std::make_shared<std::map<std::string, std::string>>();
    detail::CallDocumentReader reader(document, values.get());
    if (!reader.Read()) env.input_error_ = reader.error();
    env.owned_ = values;
    env.values_ = values.get();
    return env;
  }

  // The inputs of the running call: the document on stdin, or the process
  // environment when stdin is empty (a host that knows only ABI v1) or the
  // driver is built with DISCOBLOCKS_ABI_V1. On the host (tests, tools) it is
  // the environment: tests pass documents through FromDocument.
  static Env FromCallInput() {
#if defined(DISCOBLOCKS_ABI_V1) || !defined(__wasm__)
    return Env{};
#else
    std::string input;
    char chunk[16384];
    for (;;) {
      const ssize_t n = read(0, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Env env;
        env.input_error_ = "cannot read the host's input";
        return env;
      }
      if (n == 0) break;
      input.append(chunk, static_cast<std::size_t>(n));
    }
    return input.empty() ? Env{} : FromDocument(input);
#endif
  }

  std::optional<std::string_view> Get(const char* name) const {
    if (values_ != nullptr) {
      const auto it = values_->find(name);
      if (it == values_->end()) return std::nullopt;
      return std::string_view(it->second);
    }
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): one call at a time
    if (value == nullptr) return std::nullopt;
    return std::string_view(value);
  }

  // A variable that must be set and not empty.
  Decoded<std::string_view> Required(const char* name) const {
    if (input_error_) return Decoded<std::string_view>::Error(*input_error_);
    const auto value = Get(name);
    if (!value) return Decoded<std::string_view>::Error(std::string(name) + " is not set");
    if (value->empty()) return Decoded<std::string_view>::Error(std::string(name) + " is empty");
    return *value;
  }

  // A required variable holding a JSON object, decoded as the typed input T
  // (StorageClass, Node, PersistentVolume, VolumeAttachment).
  template <class T>
  Decoded<T> Input() const {
    const auto text = Required(T::kVar);
    if (!text) return Decoded<T>::Error(text.error());
    return Decode<T>(*text);
  }

 private:
  const std::map<std::string, std::string>* values_ = nullptr;
  std::shared_ptr<const std::map<std::string, std::string>> owned_;  // FromDocument's
  std::optional<std::string> input_error_;
};

// The inputs of GetPreMountCommand and GetPreResizeCommand. The attachment is
// only read on demand: most drivers do not need it, and the host passes an empty
// string for it when there is none.
struct VolumeInputs {
  PersistentVolume pv;
  const Env* env = nullptr;

  // The VolumeAttachment, or nullopt when VOLUME_ATTACHMENT_JSON is unset or empty.
  Decoded<std::optional<VolumeAttachment>> Attachment() const {
    using R = Decoded<std::optional<VolumeAttachment>>;
    const auto text = env->Get(kVolumeAttachmentVar);
    if (!text || text->empty()) return R(std::nullopt);
    auto attachment = Decode<VolumeAttachment>(*text);
    if (!attachment) return R::Error(attachment.error());
    return R(std::move(*attachment));
  }
};

// ---------------------------------------------------------------------------
// Outcome rules

namespace detail {

// A boolean function answers true or false, or fails with an empty stdout.
inline Result CheckBool(Result result) {
  if (result.out.empty() || result.out == "true" || result.out == "false") return result;
  return Fail("driver bug: a boolean function answered " + Quote(result.out, 64));
}

// Any other function: an error must not leave a partial answer behind, or the
// host could act on it.
inline Result CheckAnswer(Result result) {
  if (!result.err.empty()) result.out.clear();
  return result;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Adapters: one per ABI function, from the process (or a test's) Env to a Result.

template <class F>
Result IsStorageClassValid(const Env& env, F&& f) {
  const auto sc = env.Input<StorageClass>();
  if (!sc) return Fail(sc.error());
  return detail::CheckBool(f(*sc));
}

template <class F>
Result GetStorageClassAllowedTopology(const Env& env, F&& f) {
  const auto node = env.Input<Node>();
  if (!node) return Fail(node.error());
  return detail::CheckAnswer(f(*node));
}

// The three names are required and must be UTF-8: a claim without a name, a
// namespace or a storage class would be created somewhere unexpected or not at
// all, and the operator always knows them.
template <class F>
Result GetPVCStub(const Env& env, F&& f) {
  PvcRequest request;
  const std::pair<const char*, std::string*> fields[] = {
      {kPvcNameVar, &request.name},
      {kPvcNamespaceVar, &request.namespace_name},
      {kStorageClassNameVar, &request.storage_class_name}};
  for (const auto& [name, target] : fields) {
    const auto value = env.Required(name);
    if (!value) return Fail(value.error());
    if (!IsUtf8(*value)) return Fail(std::string(name) + " is not valid UTF-8");
    target->assign(value->data(), value->size());
  }
  return detail::CheckAnswer(f(request));
}

template <class F>
Result GetCSIDriverNamespace(const Env& /*env*/, F&& f) {
  return detail::CheckAnswer(f());
}

template <class F>
Result GetCSIDriverPodLabels(const Env& /*env*/, F&& f) {
  return detail::CheckAnswer(f());
}

template <class F>
Result VolumeCommand(const Env& env, F&& f) {
  auto pv = env.Input<PersistentVolume>();
  if (!pv) return Fail(pv.error());
  const VolumeInputs inputs{std::move(*pv), &env};
  return detail::CheckAnswer(f(inputs));
}

template <class F>
Result GetPreMountCommand(const Env& env, F&& f) {
  return VolumeCommand(env, f);
}

template <class F>
Result GetPreResizeCommand(const Env& env, F&& f) {
  return VolumeCommand(env, f);
}

template <class F>
Result IsFileSystemManaged(const Env& /*env*/, F&& f) {
  return detail::CheckBool(f());
}

template <class F>
Result WaitForVolumeAttachmentMeta(const Env& /*env*/, F&& f) {
  return detail::CheckAnswer(f());
}

// Optional: a driver without resize limits does not export it at all.
template <class F>
Result GetResizePolicy(const Env& env, F&& f) {
  const auto sc = env.Input<StorageClass>();
  if (!sc) return Fail(sc.error());
  return detail::CheckAnswer(f(*sc));
}

// ---------------------------------------------------------------------------
// Writing the result

namespace detail {

inline void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report it: the host sees a short answer
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace detail

// Writes a result with write(2), not stdio: a reactor never exits, so nothing
// would flush a stdio buffer.
inline void Emit(const Result& result) {
  detail::WriteAll(1, result.out);
  detail::WriteAll(2, result.err);
}

}  // namespace discoblocks::driver

// ---------------------------------------------------------------------------
// Export macros: one per ABI function. The argument is a callable (a function
// name or a lambda; commas are fine) taking the typed inputs of that function.
//   DISCOBLOCKS_IS_STORAGE_CLASS_VALID(Result(const StorageClass&))
//   DISCOBLOCKS_GET_STORAGE_CLASS_ALLOWED_TOPOLOGY(Result(const Node&))
//   DISCOBLOCKS_GET_PVC_STUB(Result(const PvcRequest&)), e.g. driver::PvcStub
//   DISCOBLOCKS_GET_CSI_DRIVER_NAMESPACE(Result())
//   DISCOBLOCKS_GET_CSI_DRIVER_POD_LABELS(Result())
//   DISCOBLOCKS_GET_PRE_MOUNT_COMMAND(Result(const VolumeInputs&))
//   DISCOBLOCKS_GET_PRE_RESIZE_COMMAND(Result(const VolumeInputs&))
//   DISCOBLOCKS_IS_FILE_SYSTEM_MANAGED(Result())
//   DISCOBLOCKS_WAIT_FOR_VOLUME_ATTACHMENT_META(Result())
//   DISCOBLOCKS_GET_RESIZE_POLICY(Result(const StorageClass&))   (optional)
// On the host (tests) the export becomes a plain extern "C" function.
#if defined(__wasm__) && !defined(DISCOBLOCKS_ABI_V1)
// Declares ABI v2 to the host, which looks for an export of this name and never
// calls it. Weak, so that the header can be included by several sources.
extern "C" __attribute__((weak, used, export_name("discoblocks_abi_v2"))) void
discoblocks_abi_v2() {}
#endif

#if defined(__wasm__)
#define DISCOBLOCKS_DRIVER_EXPORT_(abi_name) \
  extern "C" __attribute__((export_name(#abi_name))) void discoblocks_export_##abi_name()
#else
#define DISCOBLOCKS_DRIVER_EXPORT_(abi_name) extern "C" void discoblocks_export_##abi_name()
#endif

#define DISCOBLOCKS_DRIVER_FUNCTION_(abi_name, ...)                 \
  DISCOBLOCKS_DRIVER_EXPORT_(abi_name) {                            \
    ::discoblocks::driver::Emit(::discoblocks::driver::abi_name(    \
        ::discoblocks::driver::Env::FromCallInput(), __VA_ARGS__)); \
  }

#define DISCOBLOCKS_IS_STORAGE_CLASS_VALID(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(IsStorageClassValid, __VA_ARGS__)
#define DISCOBLOCKS_GET_STORAGE_CLASS_ALLOWED_TOPOLOGY(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetStorageClassAllowedTopology, __VA_ARGS__)
#define DISCOBLOCKS_GET_PVC_STUB(...) DISCOBLOCKS_DRIVER_FUNCTION_(GetPVCStub, __VA_ARGS__)
#define DISCOBLOCKS_GET_CSI_DRIVER_NAMESPACE(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetCSIDriverNamespace, __VA_ARGS__)
#define DISCOBLOCKS_GET_CSI_DRIVER_POD_LABELS(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetCSIDriverPodLabels, __VA_ARGS__)
#define DISCOBLOCKS_GET_PRE_MOUNT_COMMAND(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetPreMountCommand, __VA_ARGS__)
#define DISCOBLOCKS_GET_PRE_RESIZE_COMMAND(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetPreResizeCommand, __VA_ARGS__)
#define DISCOBLOCKS_IS_FILE_SYSTEM_MANAGED(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(IsFileSystemManaged, __VA_ARGS__)
#define DISCOBLOCKS_WAIT_FOR_VOLUME_ATTACHMENT_META(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(WaitForVolumeAttachmentMeta, __VA_ARGS__)
#define DISCOBLOCKS_GET_RESIZE_POLICY(...) \
  DISCOBLOCKS_DRIVER_FUNCTION_(GetResizePolicy, __VA_ARGS__)

#endif  // DISCOBLOCKS_DRIVER_H
