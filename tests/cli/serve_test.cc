// `discoblocks serve` as a process, without a cluster (its API server address
// answers nothing): a missing drivers directory, probes, and the drain on
// SIGTERM. The webhook against a real API server is in tests/e2e/.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/pki.h"
#include "support/test_support.h"

namespace discoblocks {
namespace {

using namespace std::chrono_literals;

struct Probe {
  int status = 0;  // 0: no answer
  std::string body;
};

Probe Get(int port, const std::string& path) {
  const auto result =
      testing::RunProgram("curl", {"-s", "--max-time", "10", "-w", "\n%{http_code}",
                                   fmt::format("http://127.0.0.1:{}{}", port, path)});
  const auto newline = result.out.rfind('\n');
  if (result.exit_code != 0 || newline == std::string::npos) return {};
  return {std::atoi(result.out.c_str() + newline + 1), result.out.substr(0, newline)};
}

// Polls until `done` holds or 60 s pass.
template <class Condition>
bool Eventually(Condition done) {
  for (int i = 0; i < 600; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

class ServeProcess {
 public:
  ServeProcess(const testing::TempDir& dir, const std::filesystem::path& drivers,
               const std::vector<std::string>& extra)
      : log_(dir.path() / "serve.log"), health_port_(testing::FreeLoopbackPort()) {
    const auto serving = testing::SelfSignedCertificate("serve-test", "IP:127.0.0.1");
    std::ofstream(dir.path() / "tls.crt") << serving.certificate_pem;
    std::ofstream(dir.path() / "tls.key") << serving.private_key_pem;
    // Nothing listens on port 1: the StorageClass informer never syncs.
    std::ofstream(dir.path() / "kubeconfig") << R"(apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)";
    std::vector<std::string> args{testing::BinaryPath().string(),
                                  "serve",
                                  "--kubeconfig",
                                  (dir.path() / "kubeconfig").string(),
                                  "--drivers-dir",
                                  drivers.string(),
                                  "--no-module-cache",
                                  "--driver-settle-time",
                                  "50ms",
                                  "--driver-rescan-interval",
                                  "200ms",
                                  "--address",
                                  "127.0.0.1",
                                  "--port",
                                  std::to_string(testing::FreeLoopbackPort()),
                                  "--health-port",
                                  std::to_string(health_port_),
                                  "--tls-cert-file",
                                  (dir.path() / "tls.crt").string(),
                                  "--tls-private-key-file",
                                  (dir.path() / "tls.key").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      if (freopen(log_.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0) _exit(127);
      std::vector<char*> argv;
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exit_status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] int health_port() const { return health_port_; }
  [[nodiscard]] std::string log() const { return testing::ReadBytes(log_); }
  void Signal(int signal_number) const { kill(pid_, signal_number); }
  // The exit status once it has exited (within 60 s), else nullopt.
  std::optional<int> WaitExit() {
    Eventually([this] {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) exit_status_ = status;
      return exit_status_.has_value();
    });
    return exit_status_;
  }
  bool Running() {
    int status = 0;
    if (!exit_status_ && waitpid(pid_, &status, WNOHANG) == pid_) exit_status_ = status;
    return !exit_status_;
  }

 private:
  std::filesystem::path log_;
  int health_port_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

TEST(ServeTest, AMissingDriversDirectoryIsReportedAndPickedUpWhenItAppears) {
  const testing::TempDir dir;
  const auto drivers = dir.path() / "drivers";  // not there yet
  ServeProcess serve(dir, drivers, {});
  ASSERT_TRUE(Eventually([&] { return Get(serve.health_port(), "/healthz").status == 200; }))
      << serve.log();
  const Probe ready = Get(serve.health_port(), "/readyz");
  EXPECT_EQ(ready.status, 503) << "the informer cannot have synced";
  EXPECT_NE(ready.body.find("drivers: 0 loaded, 0 failed ("), std::string::npos) << ready.body;
  EXPECT_NE(ready.body.find("serving without them until it appears"), std::string::npos)
      << ready.body;
  EXPECT_NE(ready.body.find("storageclasses: not synced"), std::string::npos) << ready.body;

  dir.CopyDriver("drivers/ebs.csi.aws.com", testing::DriversDir() / "ebs.csi.aws.com/main.wasm");
  EXPECT_TRUE(Eventually([&] {
    const auto listed = nlohmann::json::parse(Get(serve.health_port(), "/drivers").body, nullptr,
                                              /*allow_exceptions=*/false);
    return listed.is_array() && listed.size() == 1 &&
           listed[0].value("provisioner", "") == "ebs.csi.aws.com" &&
           listed[0].value("state", "") == "loaded";
  })) << Get(serve.health_port(), "/drivers").body;
  EXPECT_NE(Get(serve.health_port(), "/readyz").body.find("drivers: 1 loaded, 0 failed\n"),
            std::string::npos);
  serve.Signal(SIGTERM);
  serve.Signal(SIGTERM);  // no drain wait
  const auto status = serve.WaitExit();
  ASSERT_TRUE(status) << serve.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << serve.log();
}

TEST(ServeTest, OnSigtermItTurnsUnreadyAndKeepsAnsweringForTheDrainDelay) {
  const testing::TempDir dir;
  dir.CopyDriver("ebs.csi.aws.com", testing::DriversDir() / "ebs.csi.aws.com/main.wasm");
  ServeProcess serve(dir, dir.path(), {"--shutdown-delay", "1h"});
  ASSERT_TRUE(Eventually([&] { return Get(serve.health_port(), "/healthz").status == 200; }))
      << serve.log();
  serve.Signal(SIGTERM);
  ASSERT_TRUE(Eventually([&] {
    return Get(serve.health_port(), "/readyz").body.find("shutting down") != std::string::npos;
  })) << serve.log();
  EXPECT_EQ(Get(serve.health_port(), "/readyz").status, 503);
  EXPECT_EQ(Get(serve.health_port(), "/healthz").status, 200);
  EXPECT_TRUE(serve.Running()) << "stopped before the drain delay: " << serve.log();
  // A second signal ends the wait.
  serve.Signal(SIGTERM);
  const auto status = serve.WaitExit();
  ASSERT_TRUE(status) << "still draining after a second SIGTERM: " << serve.log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << serve.log();
}

}  // namespace
}  // namespace discoblocks
