#include "support/serve_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "support/test_support.h"

namespace discoblocks::testing {

ServeProcess::ServeProcess(ServeOptions options)
    : options_(std::move(options)), port_(FreeLoopbackPort()), health_port_(FreeLoopbackPort()) {
  std::vector<std::string> args{BinaryPath().string(),
                                "serve",
                                "--kubeconfig",
                                options_.kubeconfig.string(),
                                "--drivers-dir",
                                options_.drivers_dir.string(),
                                "--module-cache",
                                (options_.log_file.parent_path() / "module-cache").string(),
                                "--address",
                                "127.0.0.1",
                                "--port",
                                std::to_string(port_),
                                "--health-port",
                                std::to_string(health_port_),
                                "--tls-cert-file",
                                options_.tls_cert_file.string(),
                                "--tls-private-key-file",
                                options_.tls_key_file.string(),
                                "--shutdown-delay",
                                "0s"};
  args.insert(args.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  const std::string log = options_.log_file.string();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (freopen(log.c_str(), "w", stdout) == nullptr || dup2(fileno(stdout), 2) < 0) _exit(127);
    for (const std::string& variable : options_.env) {
      const auto equals = variable.find('=');
      if (equals != std::string::npos) {
        setenv(variable.substr(0, equals).c_str(), variable.substr(equals + 1).c_str(), 1);
      }
    }
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Ready: every cache synced, so the pod webhook never decides from a partial view.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!Ready()) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(fmt::format("discoblocks serve exited ({}):\n{}", status, Log()));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      throw std::runtime_error("discoblocks serve was not ready within a minute:\n" + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

ServeProcess::~ServeProcess() { Kill(); }

std::string ServeProcess::Log() const {
  try {
    return ReadBytes(options_.log_file);
  } catch (const std::exception& error) {
    return error.what();
  }
}

std::string ServeProcess::Health(const std::string& path) const {
  const auto result =
      RunProgram("curl", {"-sS", fmt::format("http://127.0.0.1:{}{}", health_port_, path)});
  return result.exit_code == 0 ? result.out : "";
}

bool ServeProcess::Ready() const {
  return RunProgram("curl", {"-sf", "-o", "/dev/null",
                             fmt::format("http://127.0.0.1:{}/readyz", health_port_)})
             .exit_code == 0;
}

bool ServeProcess::IsLeader() const {
  // One line: leader_election_master_status{name="<lease>"} 1 (0 when not).
  const std::string metrics = Health("/metrics");
  const auto line = metrics.find("\nleader_election_master_status{");
  if (line == std::string::npos) return false;
  const auto end = metrics.find('\n', line + 1);
  return metrics.substr(line + 1, end - line - 1).ends_with(" 1");
}

bool ServeProcess::Stop() {
  if (pid_ <= 0) return false;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void ServeProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace discoblocks::testing
