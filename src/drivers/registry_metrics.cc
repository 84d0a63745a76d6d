#include "drivers/registry_metrics.h"

#include <chrono>
#include <map>
#include <string>

#include "drivers/module_cache.h"

namespace discoblocks::drivers {

void RegisterRegistryMetrics(metrics::Registry& metrics, const Registry& registry,
                             const ModuleCache* cache) {
  auto& by_state = metrics.Gauge("discoblocks_drivers", "Driver folders by state.");
  auto& info = metrics.Gauge(
      "discoblocks_driver_info",
      "One series per driver folder: its state, and the sha256, contract version (abi) and "
      "whether calls start from a snapshot (preinitialized) of the version serving.");
  auto& loaded_at = metrics.Gauge("discoblocks_driver_loaded_timestamp_seconds",
                                  "When the version serving was loaded (Unix time).");
  auto& failures = metrics.Counter("discoblocks_driver_load_failures_total",
                                   "Loads of a driver folder that failed.");
  auto& versions = metrics.Counter("discoblocks_driver_versions_loaded_total",
                                   "Successful loads of a driver folder (the first and every "
                                   "replacement).");
  auto& replacement_failed = metrics.Gauge(
      "discoblocks_driver_replacement_failed",
      "1 while a driver's newest files did not load and the previous version keeps serving.");
  metrics::CounterFamily* cache_loads =
      cache != nullptr ? &metrics.Counter("discoblocks_module_cache_loads_total",
                                          "Driver modules loaded through the module cache, by "
                                          "result: hit, miss (compiled), rebuilt (bad entry).")
                       : nullptr;
  metrics::CounterFamily* cache_evictions =
      cache != nullptr ? &metrics.Counter("discoblocks_module_cache_evictions_total",
                                          "Module cache entries removed, least recently used "
                                          "first, to stay within the cache's size limit.")
                       : nullptr;
  metrics::GaugeFamily* cache_bytes =
      cache != nullptr ? &metrics.Gauge("discoblocks_module_cache_bytes",
                                        "Total size of the module cache's entries, as of its "
                                        "latest write.")
                       : nullptr;

  metrics.AddCollector([&, cache, cache_loads, cache_evictions, cache_bytes] {
    const auto entries = registry.Entries();
    std::map<std::string, int> states{{"loaded", 0}, {"skipped", 0}, {"failed", 0}};
    info.Clear();
    loaded_at.Clear();
    replacement_failed.Clear();
    for (const DriverEntry& entry : entries) {
      const std::string state(DriverStateName(entry.state));
      ++states[state];
      const metrics::Labels labels{{"provisioner", entry.provisioner}};
      info.Set({{"provisioner", entry.provisioner},
                {"state", state},
                {"sha256", entry.driver ? entry.driver->sha256() : ""},
                {"abi", entry.driver ? std::to_string(static_cast<int>(entry.driver->abi())) : ""},
                {"preinitialized",
                 entry.driver && entry.driver->preinit().preinitialized ? "true" : "false"}},
               1);
      if (entry.driver) {
        loaded_at.Set(
            labels,
            std::chrono::duration<double>(entry.driver->loaded_at().time_since_epoch()).count());
        replacement_failed.Set(labels, entry.last_load_error.empty() ? 0 : 1);
      }
      failures.SetTotal(labels, static_cast<double>(entry.load_failures));
      versions.SetTotal(labels, static_cast<double>(entry.versions_loaded));
    }
    for (const auto& [state, count] : states) by_state.Set({{"state", state}}, count);
    if (cache_loads != nullptr) {
      cache_loads->SetTotal({{"result", "hit"}}, static_cast<double>(cache->hits()));
      cache_loads->SetTotal({{"result", "miss"}}, static_cast<double>(cache->misses()));
      cache_loads->SetTotal({{"result", "rebuilt"}}, static_cast<double>(cache->rebuilt()));
      cache_evictions->SetTotal({}, static_cast<double>(cache->evictions()));
      cache_bytes->Set({}, static_cast<double>(cache->stored_bytes()));
    }
  });
}

}  // namespace discoblocks::drivers
