// Simulated kubelets' Summary API bodies (/stats/summary), shaped like a real
// kubelet's: every pod has two containers with CPU, memory, rootfs and logs
// stats, network interfaces, ephemeral storage and a projected service-account
// volume besides its PVC, so most of each body (about 2.5 KB per pod) is what
// the parser must skip. Shared by usage_scrape_bench and autoscale_cycle_bench.
#pragma once

#include <functional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace discoblocks::bench {

using nlohmann::json;

inline json ContainerStats(const std::string& name) {
  return {{"name", name},
          {"startTime", "2026-11-29T10:00:00Z"},
          {"cpu",
           {{"time", "2026-11-30T01:00:00Z"},
            {"usageNanoCores", 2345678},
            {"usageCoreNanoSeconds", 123456789012}}},
          {"memory",
           {{"time", "2026-11-30T01:00:00Z"},
            {"availableBytes", 400000000},
            {"usageBytes", 120000000},
            {"workingSetBytes", 100000000},
            {"rssBytes", 90000000},
            {"pageFaults", 123456},
            {"majorPageFaults", 12}}},
          {"rootfs",
           {{"time", "2026-11-30T01:00:00Z"},
            {"availableBytes", 50000000000},
            {"capacityBytes", 100000000000},
            {"usedBytes", 40960},
            {"inodesFree", 6000000},
            {"inodes", 6500000},
            {"inodesUsed", 12}}},
          {"logs",
           {{"time", "2026-11-30T01:00:00Z"},
            {"availableBytes", 50000000000},
            {"capacityBytes", 100000000000},
            {"usedBytes", 16384},
            {"inodesFree", 6000000},
            {"inodes", 6500000},
            {"inodesUsed", 3}}}};
}

// A summary of `pods` pods on node `node`, each with one PVC: pod "app-<node>-<p>"
// with claim "apps/data-app-<node>-<p>" of 10Gi, 72% full, or 95% full for the
// pods `full` picks.
inline std::string NodeSummary(int node, int pods, const std::function<bool(int pod)>& full = {}) {
  json items = json::array();
  for (int p = 0; p < pods; ++p) {
    const std::string name = fmt::format("app-{}-{}", node, p);
    const json fs = {{"time", "2026-11-30T01:00:00Z"},
                     {"availableBytes", full && full(p) ? 536870912 : 3000000000},
                     {"capacityBytes", 10737418240},
                     {"usedBytes", full && full(p) ? 10200547328 : 7737418240},
                     {"inodesFree", 600000},
                     {"inodes", 655360},
                     {"inodesUsed", 55360}};
    json pvc_volume = fs;
    pvc_volume["name"] = "data";
    pvc_volume["pvcRef"] = {{"name", "data-" + name}, {"namespace", "apps"}};
    json token_volume = {{"time", "2026-11-30T01:00:00Z"},
                         {"availableBytes", 1000000},
                         {"capacityBytes", 1048576},
                         {"usedBytes", 12288},
                         {"inodesFree", 250000},
                         {"inodes", 250009},
                         {"inodesUsed", 9},
                         {"name", "kube-api-access-x7k2p"}};
    items.push_back(
        {{"podRef", {{"name", name}, {"namespace", "apps"}, {"uid", fmt::format("uid-{}", p)}}},
         {"startTime", "2026-11-29T10:00:00Z"},
         {"containers", {ContainerStats("app"), ContainerStats("sidecar")}},
         {"cpu", {{"time", "2026-11-30T01:00:00Z"}, {"usageNanoCores", 4691356}}},
         {"memory", {{"time", "2026-11-30T01:00:00Z"}, {"workingSetBytes", 200000000}}},
         {"network",
          {{"time", "2026-11-30T01:00:00Z"},
           {"name", "eth0"},
           {"rxBytes", 123456789},
           {"rxErrors", 0},
           {"txBytes", 98765432},
           {"txErrors", 0},
           {"interfaces",
            {{{"name", "eth0"},
              {"rxBytes", 123456789},
              {"rxErrors", 0},
              {"txBytes", 98765432},
              {"txErrors", 0}}}}}},
         {"volume", {token_volume, pvc_volume}},
         {"ephemeral-storage",
          {{"time", "2026-11-30T01:00:00Z"}, {"usedBytes", 77824}, {"inodesUsed", 17}}},
         {"process_stats", {{"process_count", 2}}}});
  }
  json summary = {
      {"node",
       {{"nodeName", fmt::format("sim-node-{}", node)},
        {"systemContainers",
         {ContainerStats("kubelet"), ContainerStats("runtime"), ContainerStats("pods")}},
        {"startTime", "2026-11-29T09:00:00Z"},
        {"cpu", {{"usageNanoCores", 123456789}}},
        {"memory", {{"workingSetBytes", 4000000000}}},
        {"fs", {{"capacityBytes", 100000000000}, {"usedBytes", 20000000000}}}}},
      {"pods", items}};
  return summary.dump();
}

}  // namespace discoblocks::bench
