// What the Jobs Discoblocks runs on a node share (the mount Job, mount_job.h;
// the file system resize Job, resize_job.h): one privileged container in the
// host's PID namespace with the host's root file system at /host, pinned to
// the node, tolerating every taint, never restarted in place, retried by the
// Job a few times, and deleted an hour after it finished. Its script is the
// environment drivers' GetPreMountCommand and GetPreResizeCommand fragments
// are written for (docs/driver-abi.md).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace discoblocks::op {

struct NodeJobSpec {
  std::string name;
  std::string job_namespace;
  std::string node;
  std::string image;
  std::string kind;  // label discoblocks.ondat.io/job: "mount" or "resize"
  std::string script;
  std::map<std::string, std::string> annotations;
};

nlohmann::json NodeJob(const NodeJobSpec& spec);

// "complete", "failed" or "" (still running) from a Job's status conditions.
std::string JobOutcome(const nlohmann::json& job);

// 'text' for sh, whatever it holds: a quote inside becomes '\''.
std::string ShellQuote(const std::string& text);

// Whether `text` is what real container IDs, uids and file system types hold
// (letters, digits, - _ . : /; 1 to 256 of them), so that it can go into a
// script's grep patterns and command names unquoted.
bool PlainName(const std::string& text);

}  // namespace discoblocks::op
