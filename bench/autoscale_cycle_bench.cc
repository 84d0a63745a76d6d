// One whole autoscaler cycle as serve runs it (issue 13's targets: over 5,000
// volumes on 50 nodes, wall <= 2 s and CPU <= 0.5 s; trigger to patch <= poll
// interval + 1 s):
//   - the manager's caches (DiskConfig, claims, pods, nodes, StorageClass),
//     filled by its informers from a simulated API server;
//   - the real KubeletUsage over a KubeletStatsClient scraping 50 simulated
//     kubelets (kubelet_summaries.h), connections kept alive as on every poll
//     after the first;
//   - the real decisions and actions: 99% of the claims are 72% full (nothing
//     to do), 1% are 95% full and grow: a conditional merge patch each, and
//     Events on the claim and its pod through the manager's event recorder;
//   - the resize policy of serve's cached path (the driver is asked once per
//     driver and class version; later cycles only look the answer up), as a
//     stand-in here: a lookup of the same shape, without a driver.
// The API server and the kubelets are simulated in a helper process (this
// binary with --serve-cluster), so that the CPU time reported is the
// operator's alone: the bench process runs only what serve runs.
//
// BM_Cycle calls the autoscaler registration's reconciler (what the
// controller's worker calls each poll) directly, at 500 to 5,000 volumes.
// BM_TriggerToPatch runs the registered controller as serve does (poll 2 s,
// jitter 10%) over 5,000 volumes: 20 times, at a random moment, one claim's
// kubelet starts reporting it 95% full, and the simulated API server times the
// crossing to the grow patch of that claim.
//
// What the simulated API server does not do: it never sends watch events, so
// the caches keep the claims as first listed, and the same 1% grow every cycle.
//
// Everything listens on and connects to 127.0.0.1 only. Run from a build:
//   build/bin/autoscale_cycle_bench [--benchmark_filter=BM_Cycle]
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "kube/kubelet_stats.h"
#include "kube/resource.h"
#include "operator/autoscaler.h"
#include "operator/kubelet_usage.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "simulated_cluster.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::bench {
namespace {

namespace r = kube::resources;

constexpr std::chrono::milliseconds kPoll{2000};
constexpr double kJitter = 0.1;
constexpr int kCrossings = 20;

// The helper process, seen from the bench.
class Cluster {
 public:
  explicit Cluster(int volumes) {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("cycle-bench-{}", ::getpid());
    std::filesystem::create_directories(dir_);
    int to_child[2];
    int from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(to_child[0], 0);
      ::dup2(from_child[1], 1);
      ::close(to_child[1]);
      ::close(from_child[0]);
      const std::string count = std::to_string(volumes);
      ::execl("/proc/self/exe", "autoscale_cycle_bench", "--serve-cluster", count.c_str(),
              dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    for (std::string line; ReadLine(std::chrono::minutes(2), line) && line != "ready";) {
      if (line.starts_with("api ")) api_port_ = std::stoi(line.substr(4));
    }
    if (api_port_ == 0) throw std::runtime_error("the simulated cluster did not start");
    std::ifstream ca(dir_ / "ca.crt");
    ca_pem_.assign(std::istreambuf_iterator<char>(ca), {});
  }
  ~Cluster() {
    ::close(to_child_);
    ::close(from_child_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::filesystem::remove_all(dir_);
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  [[nodiscard]] std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }
  [[nodiscard]] std::shared_ptr<const kube::Client> ApiClient() const {
    kube::ClientConfig config;
    config.server = fmt::format("https://127.0.0.1:{}", api_port_);
    config.ca_pem = ca_pem_;
    auto client = kube::Client::Create(config);
    if (!client.ok()) throw std::runtime_error(client.error().message);
    return std::move(client).value();
  }

  void Send(const std::string& command) const {
    const std::string line = command + "\n";
    if (::write(to_child_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("the simulated cluster is gone");
    }
  }

  // A line from the helper within `timeout`; false when none came.
  bool ReadLine(std::chrono::milliseconds timeout, std::string& line) const {
    line.clear();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd ready{from_child_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return false;
      char c = 0;
      if (::read(from_child_, &c, 1) != 1) return false;
      if (c == '\n') return true;
      line.push_back(c);
    }
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  int api_port_ = 0;
  std::string ca_pem_;
};

// serve's cached resize policy path (cli/serve_autoscaler.cc): the class from
// the cache, a key of the driver's digest and the class's version, a lookup
// under a lock. The driver's answer (no limits) stands in for the one call.
class CachedResizePolicies {
 public:
  explicit CachedResizePolicies(const kube::Informer* storage_classes)
      : storage_classes_(storage_classes) {}

  Result<op::ResizePolicy> For(const std::string& name) {
    const auto storage_class = storage_classes_->Find("", name);
    if (storage_class == nullptr) return op::ResizePolicy{};
    const std::string key = fmt::format("{}\n{}\n{}", kDriverDigest, name,
                                        StringAt(*storage_class, {"metadata", "resourceVersion"}));
    const std::lock_guard lock(mutex_);
    return cache_.try_emplace(key, op::ResizePolicy{}).first->second;
  }

 private:
  static constexpr const char* kDriverDigest =
      "3f1c7a0d5e9b2c4f6a8e1d3b5c7f9a0e2d4c6b8a1f3e5d7c9b0a2e4f6d8c1b3a";
  const kube::Informer* storage_classes_;
  std::mutex mutex_;
  std::map<std::string, op::ResizePolicy> cache_;
};

// The operator's side: a manager on the simulated API server, the kubelet
// client, and the autoscaler's options as serve makes them.
struct Operator {
  explicit Operator(const Cluster& cluster) {
    op::ManagerOptions options;
    options.client = cluster.ApiClient();
    options.metrics = &metrics;
    options.identity = "autoscale-cycle-bench";
    manager = std::move(op::Manager::Create(std::move(options))).value();
    kube::KubeletStatsClient::Options kubelet;
    kubelet.ca_file = cluster.ca_file();
    kubelet.metrics = &metrics;
    auto client = kube::KubeletStatsClient::Create(kubelet);
    if (!client.ok()) throw std::runtime_error(client.error().message);
    kubelets = std::move(client).value();
    policies = std::make_unique<CachedResizePolicies>(&manager->Informer(r::kStorageClasses));
  }

  op::AutoscalerOptions AutoscalerOptions() {
    op::AutoscalerOptions options;
    options.poll_interval = kPoll;
    options.jitter = kJitter;
    options.usage = op::KubeletUsage(kubelets.get());
    options.resize_policy = [this](const std::string& name) { return policies->For(name); };
    options.operations = &operations;
    return options;
  }

  // Starts the informers; true once they hold `volumes` claims and pods.
  bool Start(int volumes) {
    if (!manager->Start().ok() || !manager->WaitForCacheSync(std::chrono::minutes(2))) return false;
    return static_cast<int>(manager->Informer(r::kPersistentVolumeClaims).List().size()) ==
               volumes &&
           static_cast<int>(manager->Informer(r::kPods).List().size()) == volumes;
  }

  // Whether the metrics have the line `line` exactly.
  [[nodiscard]] bool Says(const std::string& line) const {
    return ("\n" + metrics.Render()).find("\n" + line + "\n") != std::string::npos;
  }

  metrics::Registry metrics;
  op::PvcOperations operations{&metrics};
  std::unique_ptr<kube::KubeletStatsClient> kubelets;
  std::unique_ptr<CachedResizePolicies> policies;
  std::unique_ptr<op::Manager> manager;  // first to go: its controllers use the above
};

void BM_Cycle(benchmark::State& state) {
  const int volumes = static_cast<int>(state.range(0));
  const Cluster cluster(volumes);
  Operator side(cluster);
  const op::ControllerRegistration registration =
      op::Autoscaler(*side.manager, side.AutoscalerOptions());
  if (!side.Start(volumes)) {
    state.SkipWithError("the caches did not fill");
    return;
  }
  const op::Reconciler reconcile = registration.make_reconciler();
  // The first cycle connects to the kubelets; serve's later ones reuse them.
  if (!reconcile(op::kAutoscaleCycleKey).ok()) {
    state.SkipWithError("the first cycle failed");
    return;
  }
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    if (!reconcile(op::kAutoscaleCycleKey).ok()) {
      state.SkipWithError("a cycle failed");
      return;
    }
  }
  // Every cycle read every volume and grew the 1%.
  const int grows = Grows(volumes);
  const auto cycles = static_cast<int>(state.iterations()) + 1;
  if (!side.Says(fmt::format("discoblocks_autoscaler_volumes_watched {}", volumes)) ||
      !side.Says("discoblocks_autoscaler_unreachable_nodes 0") ||
      !side.Says(fmt::format(R"(discoblocks_autoscaler_decisions{{action="grow"}} {})", grows)) ||
      !side.Says(fmt::format(
          R"(discoblocks_autoscaler_actions_total{{action="grow",result="success"}} {})",
          grows * cycles))) {
    state.SkipWithError("the cycles did not read every volume and grow the 1%");
  }
  side.manager->Stop();
  state.counters["volumes"] = volumes;
  state.counters["nodes"] = kNodes;
  state.counters["grows"] = grows;
}
BENCHMARK(BM_Cycle)
    ->ArgName("volumes")
    ->Arg(500)
    ->Arg(1000)
    ->Arg(2500)
    ->Arg(5000)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(3.0);

void BM_TriggerToPatch(benchmark::State& state) {
  const int volumes = static_cast<int>(state.range(0));
  const Cluster cluster(volumes);
  Operator side(cluster);
  side.manager->AddController(op::Autoscaler(*side.manager, side.AutoscalerOptions()));
  if (!side.Start(volumes)) {
    state.SkipWithError("the caches did not fill");
    return;
  }
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> moment(
      0, static_cast<std::int64_t>(static_cast<double>(kPoll.count()) * (1 + kJitter)));
  std::vector<double> latencies;  // ms
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the library's loop idiom
    while (static_cast<int>(latencies.size()) < kCrossings) {
      std::this_thread::sleep_for(std::chrono::milliseconds(moment(random)));
      // A claim below the trigger, on any node.
      const int node = std::uniform_int_distribution<int>(0, kNodes - 1)(random);
      int pod = std::uniform_int_distribution<int>(0, PodsOn(volumes, node) - 1)(random);
      if (Full(volumes, node, pod)) pod = (pod + 1) % PodsOn(volumes, node);
      cluster.Send(fmt::format("cross {} {}", node, pod));
      std::string line;
      if (!cluster.ReadLine(std::chrono::seconds(30), line) || !line.starts_with("latency ")) {
        state.SkipWithError("no patch within 30 s of a crossing");
        return;
      }
      latencies.push_back(static_cast<double>(std::stoll(line.substr(8))) / 1e6);
    }
  }
  side.manager->Stop();
  std::sort(latencies.begin(), latencies.end());
  state.counters["crossings"] = static_cast<double>(latencies.size());
  state.counters["min_ms"] = latencies.front();
  state.counters["median_ms"] =
      (latencies[(latencies.size() - 1) / 2] + latencies[latencies.size() / 2]) / 2;
  state.counters["max_ms"] = latencies.back();
  state.counters["target_ms"] = static_cast<double>(kPoll.count() + 1000);
  state.counters["poll_ms"] = static_cast<double>(kPoll.count());
}
BENCHMARK(BM_TriggerToPatch)
    ->ArgName("volumes")
    ->Arg(5000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

}  // namespace
}  // namespace discoblocks::bench

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--serve-cluster") {
    ::signal(SIGPIPE, SIG_IGN);
    discoblocks::bench::SimulatedCluster cluster(std::atoi(argv[2]), argv[3]);
    cluster.Run();
    std::_Exit(0);  // at once, without waiting for the stalled watches to end
  }
  // The "Resized" line of every grow would bury the table; warnings still show.
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
