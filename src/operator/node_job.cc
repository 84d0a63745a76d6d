#include "operator/node_job.h"

#include <algorithm>

#include "util/json_fields.h"

namespace discoblocks::op {

using nlohmann::json;

json NodeJob(const NodeJobSpec& spec) {
  const json labels = {{"app.kubernetes.io/managed-by", "discoblocks"},
                       {"discoblocks.ondat.io/job", spec.kind}};
  json container = {{"name", spec.kind},
                    {"image", spec.image},
                    {"command", {"/bin/sh", "-c", spec.script}},
                    {"securityContext", {{"privileged", true}}}};
  container["volumeMounts"] = json::array(
      {{{"name", "host"}, {"mountPath", "/host"}, {"mountPropagation", "Bidirectional"}}});
  json pod_spec = {{"nodeName", spec.node}, {"hostPID", true}, {"restartPolicy", "Never"}};
  pod_spec["tolerations"] = json::array({{{"operator", "Exists"}}});
  pod_spec["containers"] = json::array({std::move(container)});
  pod_spec["volumes"] = json::array({{{"name", "host"}, {"hostPath", {{"path", "/"}}}}});
  json metadata = {{"name", spec.name}, {"namespace", spec.job_namespace}, {"labels", labels}};
  metadata["annotations"] = spec.annotations;
  json job_spec = {
      {"backoffLimit", 3}, {"activeDeadlineSeconds", 600}, {"ttlSecondsAfterFinished", 3600}};
  job_spec["template"] = {{"metadata", {{"labels", labels}}}, {"spec", std::move(pod_spec)}};
  return json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata", std::move(metadata)},
              {"spec", std::move(job_spec)}};
}

std::string JobOutcome(const json& job) {
  const json* conditions = FindMember(job, {"status", "conditions"});
  if (conditions == nullptr || !conditions->is_array()) return {};
  for (const json& condition : *conditions) {
    if (StringAt(condition, {"status"}) != "True") continue;
    const std::string type = StringAt(condition, {"type"});
    if (type == "Complete") return "complete";
    if (type == "Failed") return "failed";
  }
  return {};
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

bool PlainName(const std::string& text) {
  if (text.empty() || text.size() > 256) return false;
  return std::ranges::all_of(text, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == '/';
  });
}

}  // namespace discoblocks::op
