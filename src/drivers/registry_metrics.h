// Prometheus metrics about the drivers a Registry holds, computed when scraped.
#pragma once

#include "drivers/registry.h"
#include "util/metrics.h"

namespace discoblocks::drivers {

class ModuleCache;

// Adds, refreshed at every scrape of `metrics`:
//   discoblocks_drivers{state}                              folders by state
//   discoblocks_driver_info{provisioner,state,sha256}       1 per folder
//   discoblocks_driver_loaded_timestamp_seconds{provisioner}
//   discoblocks_driver_load_failures_total{provisioner}     failed loads
//   discoblocks_driver_versions_loaded_total{provisioner}   successful loads
//   discoblocks_driver_replacement_failed{provisioner}      1 while an older version serves
//                                                           because the newest did not load
//   discoblocks_module_cache_loads_total{result}            hit, miss, rebuilt (with a cache)
// Calls and failures per driver and function are counted as they happen, by the
// webhook's observer (discoblocks_driver_calls_total). `registry` and `cache` must
// outlive `metrics`.
void RegisterRegistryMetrics(metrics::Registry& metrics, const Registry& registry,
                             const ModuleCache* cache);

}  // namespace discoblocks::drivers
