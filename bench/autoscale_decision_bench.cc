// The deciding half of one autoscaler cycle (src/operator/autoscale_decision.h,
// claim_families.h), without the kubelets (usage_scrape_bench measures
// those): the claims of one DiskConfig placed in their families and decided,
// for 500 to 5,000 claims shaped like cached ones (labels, owner, annotations,
// status), a quarter of them above the trigger. Google Benchmark; run from a
// Release build:
//   build-release/bench/autoscale_decision_bench
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "operator/autoscale_decision.h"
#include "operator/claim_families.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

constexpr std::int64_t kGi = 1024LL * 1024 * 1024;

admission::DiskConfig Config() {
  const json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                       {"kind", "DiskConfig"},
                       {"metadata", {{"name", "db"}, {"namespace", "shop"}}},
                       {"spec",
                        {{"storageClassName", "ebs-gp3"},
                         {"capacity", "10Gi"},
                         {"podSelector", {{"app", "db"}}},
                         {"policy", {{"maximumNumberOfDisks", 3}, {"coolDown", "5m"}}}}}};
  return *admission::ParseDiskConfig(admission::WithDefaults(object));
}

json Claim(int i) {
  const std::string pod = fmt::format("db-{}", i);
  return {{"metadata",
           {{"name", pod + "-discoblocks-db-0"},
            {"namespace", "shop"},
            {"uid", fmt::format("uid-claim-{}", i)},
            {"resourceVersion", "12345"},
            {"labels", {{"discoblocks", "db"}, {"discoblocks-index", "0"}}},
            {"annotations",
             {{"discoblocks.ondat.io/diskconfig", "db"},
              {"discoblocks.ondat.io/last-action", "grow"},
              {"discoblocks.ondat.io/last-action-time", "2026-11-29T10:00:00Z"}}},
            {"ownerReferences",
             {{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", pod}, {"uid", "uid-" + pod}}}}}},
          {"spec",
           {{"accessModes", {"ReadWriteOnce"}},
            {"storageClassName", "ebs-gp3"},
            {"resources", {{"requests", {{"storage", "10Gi"}}}}}}},
          {"status", {{"phase", "Bound"}, {"capacity", {{"storage", "10Gi"}}}}}};
}

void DecideAll(benchmark::State& state) {
  const admission::DiskConfig config = Config();
  const auto count = static_cast<int>(state.range(0));
  std::vector<json> claims;
  std::vector<VolumeUsage> usage;
  for (int i = 0; i < count; ++i) {
    claims.push_back(Claim(i));
    const std::int64_t available = i % 4 == 0 ? kGi : 5 * kGi;  // a quarter 90% full
    usage.push_back({10 * kGi, available, 655360, 600000});
  }
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    std::vector<const json*> members;
    members.reserve(claims.size());
    for (const json& claim : claims) members.push_back(&claim);
    const auto families = PlaceInFamilies(config, members);
    int grows = 0;
    for (int i = 0; i < count; ++i) {
      DecisionInput input;
      input.config = &config;
      input.claim = &claims[i];
      input.usage = usage[i];
      input.family = families.at(fmt::format("shop/db-{}-discoblocks-db-0", i));
      input.now = now;
      grows += Decide(input).action == AutoscaleAction::kGrow ? 1 : 0;
    }
    benchmark::DoNotOptimize(grows);
  }
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(DecideAll)->Arg(500)->Arg(1000)->Arg(2500)->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace discoblocks::op

BENCHMARK_MAIN();
