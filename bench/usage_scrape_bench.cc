// One usage-scrape cycle (KubeletStatsClient::Scrape) over 50 simulated
// kubelets holding 500 to 5,000 PVC volumes between them (issue 13's targets at
// 5,000: wall <= 2 s, CPU <= 0.5 s). Real time and the CPU time of this process
// are reported; the fake kubelets run in a helper process (this binary with
// --serve-kubelets), so their TLS and serving do not count in the CPU figure.
//
// The summaries are shaped like a real kubelet's (kubelet_summaries.h).
//
// Cases: "cold" makes a new client per cycle (a TLS handshake per node, as on
// the first poll); "warm" reuses one (connections kept alive, as on later
// polls). Everything listens on and connects to 127.0.0.1 only.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kube/kubelet_stats.h"
#include "kubelet_summaries.h"
#include "support/fake_http_server.h"
#include "support/test_certs.h"

namespace discoblocks::bench {
namespace {

using nlohmann::json;
constexpr int kNodes = 50;

// The helper process: `kNodes` fake kubelets, the first `volumes % kNodes`
// with one pod more. Writes the CA to DIR/ca.crt, prints the ports, and serves
// until its stdin closes (the bench ending, however it ends).
int ServeKubelets(int volumes, const std::filesystem::path& dir) {
  const auto cert = testing::ServerCertificate("bench-kubelet");
  std::ofstream(dir / "ca.crt") << cert.certificate_pem;
  std::vector<std::unique_ptr<testing::FakeHttpServer>> servers;
  testing::FakeHttpServer::Options options;
  options.tls = cert;
  options.keep_alive = true;
  for (int node = 0; node < kNodes; ++node) {
    const int pods = volumes / kNodes + (node < volumes % kNodes ? 1 : 0);
    const std::string response =
        testing::FakeHttpServer::KeepAliveResponse(200, NodeSummary(node, pods));
    servers.push_back(std::make_unique<testing::FakeHttpServer>(
        [response](const std::string&) { return response; }, options));
    const std::string url = servers.back()->url();
    std::cout << url.substr(url.rfind(':') + 1) << "\n";
  }
  std::cout << "ready" << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
  }
  return 0;
}

// The helper, seen from the bench.
class Kubelets {
 public:
  explicit Kubelets(int volumes) {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("usage-bench-{}", ::getpid());
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
      ::execl("/proc/self/exe", "usage_scrape_bench", "--serve-kubelets", count.c_str(),
              dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    FILE* out = ::fdopen(from_child[0], "r");
    char line[64];
    while (std::fgets(line, sizeof(line), out) != nullptr) {
      const std::string text(line);
      if (text.starts_with("ready")) break;
      targets_.push_back(
          {fmt::format("sim-node-{}", targets_.size()), "127.0.0.1", std::stoi(text)});
    }
    std::fclose(out);
    if (static_cast<int>(targets_.size()) != kNodes) throw std::runtime_error("helper failed");
  }
  ~Kubelets() {
    ::close(to_child_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::filesystem::remove_all(dir_);
  }
  Kubelets(const Kubelets&) = delete;
  Kubelets& operator=(const Kubelets&) = delete;

  [[nodiscard]] const std::vector<kube::KubeletTarget>& targets() const { return targets_; }
  [[nodiscard]] std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int to_child_ = -1;
  std::vector<kube::KubeletTarget> targets_;
};

std::unique_ptr<kube::KubeletStatsClient> NewClient(const Kubelets& kubelets) {
  kube::KubeletStatsClient::Options options;
  options.ca_file = kubelets.ca_file();
  auto client = kube::KubeletStatsClient::Create(options);
  if (!client.ok()) throw std::runtime_error(client.error().message);
  return std::move(client).value();
}

// Counts the volumes read; any node failing fails the benchmark.
bool Check(benchmark::State& state, const std::vector<kube::NodeUsage>& results, int volumes) {
  std::size_t read = 0;
  for (const auto& result : results) {
    if (!result.summary.ok()) {
      state.SkipWithError(result.summary.error().message.c_str());
      return false;
    }
    read += result.summary->volumes.size();
  }
  if (read != static_cast<std::size_t>(volumes)) {
    state.SkipWithError("wrong number of volumes read");
    return false;
  }
  return true;
}

void BM_ScrapeCycle(benchmark::State& state) {
  const int volumes = static_cast<int>(state.range(0));
  const bool warm = state.range(1) != 0;
  Kubelets kubelets(volumes);
  auto client = NewClient(kubelets);
  if (warm && !Check(state, client->Scrape(kubelets.targets()), volumes)) return;
  for (auto _ : state) {
    if (!warm) client = NewClient(kubelets);
    if (!Check(state, client->Scrape(kubelets.targets()), volumes)) return;
  }
  state.SetLabel(warm ? "warm" : "cold");
  state.counters["volumes"] = volumes;
  state.counters["nodes"] = kNodes;
}
BENCHMARK(BM_ScrapeCycle)
    ->ArgsProduct({{500, 1000, 2500, 5000}, {0, 1}})
    ->ArgNames({"volumes", "warm"})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->MinTime(2.0);

// The parser alone, on one node's body of 100 pods (5,000 / 50).
void BM_ParseNodeSummary(benchmark::State& state) {
  const std::string body = NodeSummary(0, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto parsed = kube::ParseSummary(body);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
  state.counters["body_KiB"] = static_cast<double>(body.size()) / 1024.0;
}
BENCHMARK(BM_ParseNodeSummary)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace discoblocks::bench

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--serve-kubelets") {
    ::signal(SIGPIPE, SIG_IGN);
    return discoblocks::bench::ServeKubelets(std::atoi(argv[2]), argv[3]);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
