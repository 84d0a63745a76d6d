#include "admission/pod_webhook.h"

#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "util/json_fields.h"
#include "util/logging.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

// A string at `keys`, or "".
// `PersistentVolumeClaim "ns/name"`, `StorageClass "name"`.
std::string Describe(const json& object) {
  const std::string ns = StringAt(object, {"metadata", "namespace"});
  return fmt::format("{} \"{}{}\"", StringOr(object, "kind"), ns.empty() ? "" : ns + "/",
                     StringAt(object, {"metadata", "name"}));
}

// Creates one object through `create`; the error is the pod's denial.
template <typename Create>
Status CreateIfAbsent(const json& wanted, Create create) {
  auto stored = create(wanted);
  if (!stored) {
    return MakeError(fmt::format("cannot create {}: {}", Describe(wanted), stored.error().message));
  }
  if (!SameManagedObject(*stored, wanted)) {
    return MakeError(fmt::format(
        "{} exists and is not the one Discoblocks would make (its Discoblocks labels or "
        "annotations differ)",
        Describe(wanted)));
  }
  return {};
}

// StorageClasses first: a PVC names one.
Status CreateObjects(const PodMutation& mutation, ObjectWriter* writer) {
  if (mutation.storage_classes.empty() && mutation.pvcs.empty()) return {};
  if (writer == nullptr) return MakeError("the webhook cannot create objects (no writer)");
  for (const json& storage_class : mutation.storage_classes) {
    auto created = CreateIfAbsent(storage_class, [&](const json& object) {
      return writer->CreateStorageClassIfAbsent(object);
    });
    if (!created) return created;
  }
  for (const json& pvc : mutation.pvcs) {
    auto created =
        CreateIfAbsent(pvc, [&](const json& object) { return writer->CreatePvcIfAbsent(object); });
    if (!created) return created;
  }
  return {};
}

}  // namespace

PodMutation PodWebhook::Mutate(const ReviewRequest& request) const {
  const std::string kind =
      request.object != nullptr ? StringOr(*request.object, "kind", "Pod") : "";
  if (request.object == nullptr || kind != "Pod") {
    PodMutation denied;
    denied.allowed = false;
    denied.message = request.object == nullptr
                         ? "the request carries no pod"
                         : fmt::format("request.object is a {}, not a Pod", kind);
    return denied;
  }
  PodMutationInput input;
  input.pod = request.object;
  input.ns =
      !request.ns.empty() ? request.ns : StringAt(*request.object, {"metadata", "namespace"});
  if (context_.disk_configs) input.disk_configs = context_.disk_configs(input.ns);
  input.storage_class = context_.storage_class;
  input.node = context_.node;
  input.pvcs = context_.pvcs;
  input.registry = context_.registry;
  input.call_options = context_.call_options;
  return MutatePod(input);
}

WebhookResponse PodWebhook::Decide(const ReviewRequest& request, Clock::time_point started) const {
  if (request.operation != Operation::kCreate || !request.sub_resource.empty()) {
    Record(request, "allowed", started);
    return Answer(request.uid, {});
  }
  PodMutation mutation = Mutate(request);
  if (mutation.allowed && !request.dry_run) {
    if (auto created = CreateObjects(mutation, context_.writer); !created) {
      mutation.allowed = false;
      mutation.message = created.error().message;
    }
  }

  const bool patched = mutation.allowed && !mutation.patch.empty();
  const char* result = !mutation.allowed ? "denied" : patched ? "mutated" : "allowed";
  Record(request, result, started);
  LogEvent(
      spdlog::level::info, "admission decision",
      {{"endpoint", kMutatePodPath},
       {"object", ObjectName(request)},
       // A controller's pod has no name yet at admission, only its prefix.
       {"generate_name", request.object != nullptr
                             ? StringAt(*request.object, {"metadata", "generateName"})
                             : std::string()},
       {"operation", request.operation_name},
       {"dry_run", request.dry_run},
       {"allowed", mutation.allowed},
       {"message", mutation.message},
       {"disk_configs", mutation.disk_configs},
       {"storage_classes", mutation.storage_classes.size()},
       {"pvcs", mutation.pvcs.size()},
       {"warnings", mutation.warnings},
       {"duration_ms", std::chrono::duration<double, std::milli>(Clock::now() - started).count()}});
  return Answer(request.uid, {mutation.allowed, mutation.message, mutation.warnings,
                              mutation.allowed ? mutation.patch : json()});
}

}  // namespace discoblocks::admission
