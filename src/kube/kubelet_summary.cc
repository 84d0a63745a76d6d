#include "kube/kubelet_summary.h"

#include <exception>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace discoblocks::kube {
namespace {

using json = nlohmann::json;

// Where the parser is. Every container the document opens pushes one frame;
// containers we do not read are kSkip, down to their last descendant.
enum class Frame { kRoot, kPods, kPod, kPodRef, kVolumes, kVolume, kPvcRef, kSkip };

// What a scalar or container is, for messages ("got a string").
enum class Kind { kNull, kBoolean, kNegative, kUnsigned, kFloat, kString, kObject, kArray };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return "a boolean";
    case Kind::kNegative:
      return "a negative number";
    case Kind::kUnsigned:
      return "a number";
    case Kind::kFloat:
      return "a fractional number";
    case Kind::kString:
      return "a string";
    case Kind::kObject:
      return "an object";
    case Kind::kArray:
      return "an array";
  }
  return "something else";
}

// The pod being read: its volumes wait for the end of the pod, because the
// podRef may come after them.
struct PodState {
  std::string name, namespace_, uid;
  std::string bad;  // why its volumes cannot be attributed; empty if fine
  std::vector<VolumeUsage> volumes;
};

struct VolumeState {
  VolumeUsage usage;
  bool has_pvc_ref = false;
  std::string bad;  // the first wrong field; empty if fine
};

class Handler final : public nlohmann::json_sax<json> {
 public:
  explicit Handler(const SummaryLimits& limits) : limits_(limits) {}

  // Set when parsing stopped for a reason of ours or nlohmann's.
  std::string error;
  ParsedSummary result;

  bool null() override { return Scalar(Kind::kNull, nullptr, 0); }
  bool boolean(bool /*value*/) override { return Scalar(Kind::kBoolean, nullptr, 0); }
  bool number_integer(number_integer_t value) override {
    if (value >= 0) return Scalar(Kind::kUnsigned, nullptr, static_cast<std::uint64_t>(value));
    return Scalar(Kind::kNegative, nullptr, 0);
  }
  bool number_unsigned(number_unsigned_t value) override {
    return Scalar(Kind::kUnsigned, nullptr, value);
  }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override {
    return Scalar(Kind::kFloat, nullptr, 0);
  }
  bool string(string_t& value) override { return Scalar(Kind::kString, &value, 0); }
  bool binary(binary_t& /*value*/) override { return Scalar(Kind::kString, nullptr, 0); }
  bool start_object(std::size_t /*size*/) override { return Open(Kind::kObject); }
  bool start_array(std::size_t /*size*/) override { return Open(Kind::kArray); }
  bool key(string_t& value) override {
    key_ = value;
    return true;
  }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    if (error.empty()) error = fmt::format("not valid JSON at byte {}: {}", position, ex.what());
    return false;
  }

 private:
  std::string PodPath() const { return fmt::format("pods[{}]", pod_index_); }
  std::string VolumePath() const {
    return fmt::format("pods[{}].volume[{}]", pod_index_, volume_index_);
  }

  bool Fail(std::string message) {
    error = std::move(message);
    return false;
  }
  std::optional<Frame> FailFrame(std::string message) {
    error = std::move(message);
    return std::nullopt;
  }

  // A value in an array is an element: count it before deciding what it is.
  void CountElement() {
    if (stack_.empty()) return;
    if (stack_.back() == Frame::kPods) ++pod_index_;
    if (stack_.back() == Frame::kVolumes) ++volume_index_;
  }

  void MarkVolumeBad(std::string message) {
    if (volume_.bad.empty()) volume_.bad = std::move(message);
  }
  void MarkPodBad(std::string message) {
    if (pod_.bad.empty()) pod_.bad = std::move(message);
  }

  void Skip(std::string message) {
    ++result.skipped_count;
    if (result.skipped.size() < kMaxSkippedMessages) result.skipped.push_back(std::move(message));
  }

  // The frame a container opened under the current one (with key_) gets, or
  // nullopt after an error.
  std::optional<Frame> ChildFrame(Kind kind) {
    if (stack_.empty()) {
      if (kind != Kind::kObject) {
        return FailFrame(fmt::format("the summary is not a JSON object: got {}", KindName(kind)));
      }
      return Frame::kRoot;
    }
    const bool object = kind == Kind::kObject;
    switch (stack_.back()) {
      case Frame::kRoot:
        if (key_ != "pods") return Frame::kSkip;
        if (object) return FailFrame("pods: expected an array, got an object");
        return Frame::kPods;
      case Frame::kPods:
        if (!object) {
          return FailFrame(fmt::format("{}: expected an object, got an array", PodPath()));
        }
        pod_ = PodState{};
        volume_index_ = -1;
        return Frame::kPod;
      case Frame::kPod:
        if (key_ == "podRef") {
          if (object) return Frame::kPodRef;
          MarkPodBad(fmt::format("{}.podRef: expected an object, got an array", PodPath()));
          return Frame::kSkip;
        }
        if (key_ == "volume") {
          if (!object) return Frame::kVolumes;
          MarkPodBad(fmt::format("{}.volume: expected an array, got an object", PodPath()));
          return Frame::kSkip;
        }
        return Frame::kSkip;
      case Frame::kVolumes:
        if (object) {
          volume_ = VolumeState{};
          return Frame::kVolume;
        }
        Skip(fmt::format("{}: expected an object, got an array", VolumePath()));
        return Frame::kSkip;
      case Frame::kVolume:
        if (key_ == "pvcRef") {
          volume_.has_pvc_ref = true;
          if (object) return Frame::kPvcRef;
          MarkVolumeBad(fmt::format("{}.pvcRef: expected an object, got an array", VolumePath()));
          return Frame::kSkip;
        }
        if (IsVolumeField(key_)) {
          MarkVolumeBad(fmt::format("{}.{}: expected a {}, got {}", VolumePath(), key_,
                                    IsCount(key_) ? "non-negative integer" : "string",
                                    KindName(kind)));
        }
        return Frame::kSkip;
      case Frame::kPodRef:
        if (key_ == "name" || key_ == "namespace" || key_ == "uid") {
          MarkPodBad(fmt::format("{}.podRef.{}: expected a string, got {}", PodPath(), key_,
                                 KindName(kind)));
        }
        return Frame::kSkip;
      case Frame::kPvcRef:
        if (key_ == "name" || key_ == "namespace") {
          MarkVolumeBad(fmt::format("{}.pvcRef.{}: expected a string, got {}", VolumePath(), key_,
                                    KindName(kind)));
        }
        return Frame::kSkip;
      case Frame::kSkip:
        return Frame::kSkip;
    }
    return Frame::kSkip;
  }

  static bool IsCount(const std::string& key) {
    return key == "capacityBytes" || key == "availableBytes" || key == "usedBytes" ||
           key == "inodes" || key == "inodesFree" || key == "inodesUsed";
  }
  static bool IsVolumeField(const std::string& key) {
    return IsCount(key) || key == "name" || key == "time";
  }

  bool Open(Kind kind) {
    CountElement();
    if (stack_.size() >= limits_.max_depth) {
      return Fail(fmt::format("the summary nests deeper than {} levels", limits_.max_depth));
    }
    const std::optional<Frame> frame = ChildFrame(kind);
    if (!frame) return false;
    stack_.push_back(*frame);
    return true;
  }

  bool Close() {
    const Frame closed = stack_.back();
    stack_.pop_back();
    if (closed == Frame::kVolume) EndVolume();
    if (closed == Frame::kPod) EndPod();
    return true;
  }

  void EndVolume() {
    if (!volume_.has_pvc_ref) return;  // not a PVC: not ours to watch
    if (volume_.bad.empty() && volume_.usage.pvc_name.empty()) {
      volume_.bad = fmt::format("{}.pvcRef: no name", VolumePath());
    }
    if (!volume_.bad.empty()) {
      Skip(std::move(volume_.bad));
      return;
    }
    pod_.volumes.push_back(std::move(volume_.usage));
  }

  void EndPod() {
    if (pod_.bad.empty() && (pod_.name.empty() || pod_.namespace_.empty())) {
      if (!pod_.volumes.empty())
        pod_.bad = fmt::format("{}.podRef: no name or namespace", PodPath());
    }
    if (!pod_.bad.empty()) {
      // One message for the pod, but every volume counted.
      if (!pod_.volumes.empty()) {
        Skip(pod_.bad);
        result.skipped_count += pod_.volumes.size() - 1;
      }
      return;
    }
    for (VolumeUsage& volume : pod_.volumes) {
      volume.pod_name = pod_.name;
      volume.pod_namespace = pod_.namespace_;
      volume.pod_uid = pod_.uid;
      result.volumes.push_back(std::move(volume));
    }
  }

  // A string field: `text` is non-null for strings.
  static bool TakeString(Kind kind, std::string* text, std::string* into) {
    if (kind == Kind::kNull) return true;
    if (kind != Kind::kString || text == nullptr) return false;
    *into = std::move(*text);
    return true;
  }

  static bool TakeCount(Kind kind, std::uint64_t number, std::optional<std::uint64_t>* into) {
    if (kind == Kind::kNull) return true;
    if (kind != Kind::kUnsigned) return false;
    *into = number;
    return true;
  }

  bool Scalar(Kind kind, std::string* text, std::uint64_t number) {
    CountElement();
    if (stack_.empty()) {
      return Fail(fmt::format("the summary is not a JSON object: got {}", KindName(kind)));
    }
    switch (stack_.back()) {
      case Frame::kRoot:
        if (key_ == "pods" && kind != Kind::kNull) {
          return Fail(fmt::format("pods: expected an array, got {}", KindName(kind)));
        }
        return true;
      case Frame::kPods:
        return Fail(fmt::format("{}: expected an object, got {}", PodPath(), KindName(kind)));
      case Frame::kPod:
        if (key_ == "podRef" && kind != Kind::kNull) {
          MarkPodBad(
              fmt::format("{}.podRef: expected an object, got {}", PodPath(), KindName(kind)));
        } else if (key_ == "volume" && kind != Kind::kNull) {
          MarkPodBad(
              fmt::format("{}.volume: expected an array, got {}", PodPath(), KindName(kind)));
        }
        return true;
      case Frame::kPodRef:
        PodRefField(kind, text);
        return true;
      case Frame::kVolumes:
        Skip(fmt::format("{}: expected an object, got {}", VolumePath(), KindName(kind)));
        return true;
      case Frame::kVolume:
        VolumeField(kind, text, number);
        return true;
      case Frame::kPvcRef: {
        std::string* into = key_ == "name"        ? &volume_.usage.pvc_name
                            : key_ == "namespace" ? &volume_.usage.pvc_namespace
                                                  : nullptr;
        if (into != nullptr && !TakeString(kind, text, into)) {
          MarkVolumeBad(fmt::format("{}.pvcRef.{}: expected a string, got {}", VolumePath(), key_,
                                    KindName(kind)));
        }
        return true;
      }
      case Frame::kSkip:
        return true;
    }
    return true;
  }

  void PodRefField(Kind kind, std::string* text) {
    std::string* into = key_ == "name"        ? &pod_.name
                        : key_ == "namespace" ? &pod_.namespace_
                        : key_ == "uid"       ? &pod_.uid
                                              : nullptr;
    if (into != nullptr && !TakeString(kind, text, into)) {
      MarkPodBad(
          fmt::format("{}.podRef.{}: expected a string, got {}", PodPath(), key_, KindName(kind)));
    }
  }

  void VolumeField(Kind kind, std::string* text, std::uint64_t number) {
    VolumeUsage& usage = volume_.usage;
    bool ok = true;
    if (key_ == "pvcRef") {
      if (kind != Kind::kNull) {
        volume_.has_pvc_ref = true;
        MarkVolumeBad(
            fmt::format("{}.pvcRef: expected an object, got {}", VolumePath(), KindName(kind)));
        return;
      }
    } else if (key_ == "name") {
      ok = TakeString(kind, text, &usage.volume_name);
    } else if (key_ == "time") {
      ok = TakeString(kind, text, &usage.time);
    } else if (key_ == "capacityBytes") {
      ok = TakeCount(kind, number, &usage.capacity_bytes);
    } else if (key_ == "availableBytes") {
      ok = TakeCount(kind, number, &usage.available_bytes);
    } else if (key_ == "usedBytes") {
      ok = TakeCount(kind, number, &usage.used_bytes);
    } else if (key_ == "inodes") {
      ok = TakeCount(kind, number, &usage.inodes);
    } else if (key_ == "inodesFree") {
      ok = TakeCount(kind, number, &usage.inodes_free);
    } else if (key_ == "inodesUsed") {
      ok = TakeCount(kind, number, &usage.inodes_used);
    }
    if (!ok) {
      MarkVolumeBad(fmt::format("{}.{}: expected a {}, got {}", VolumePath(), key_,
                                IsCount(key_) ? "non-negative integer" : "string", KindName(kind)));
    }
  }

  const SummaryLimits& limits_;
  std::vector<Frame> stack_;
  std::string key_;
  long pod_index_ = -1;
  long volume_index_ = -1;
  PodState pod_;
  VolumeState volume_;
};

}  // namespace

Result<ParsedSummary> ParseSummary(std::string_view body, const SummaryLimits& limits) {
  Handler handler(limits);
  bool parsed = false;
  try {
    parsed = json::sax_parse(body.begin(), body.end(), &handler);
  } catch (const std::exception& e) {
    // nlohmann reports through parse_error; this is for anything else (memory).
    return MakeError(fmt::format("reading the summary failed: {}", e.what()));
  }
  if (!parsed) {
    return MakeError(handler.error.empty() ? std::string("not valid JSON") : handler.error);
  }
  return std::move(handler.result);
}

}  // namespace discoblocks::kube
