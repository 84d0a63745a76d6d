// `discoblocks serve` as a child process of a test, on free 127.0.0.1 ports,
// its output in a log file: started ready (or throws with the log), stopped
// with SIGTERM or killed with SIGKILL.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace discoblocks::testing {

struct ServeOptions {
  std::filesystem::path kubeconfig;
  std::filesystem::path drivers_dir;
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;
  std::filesystem::path log_file;
  std::vector<std::string> extra_flags;  // e.g. --leader-elect
  std::vector<std::string> env;          // "NAME=value", added to the environment
};

class ServeProcess {
 public:
  // Starts it and waits (up to a minute) until /readyz answers 200.
  explicit ServeProcess(ServeOptions options);
  ~ServeProcess();  // kills it if it still runs
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int health_port() const { return health_port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string Log() const;
  // GET http://127.0.0.1:<health port><path>; the body, empty when it fails.
  [[nodiscard]] std::string Health(const std::string& path) const;
  // Whether /readyz answers 200 (every cache synced, not shutting down).
  [[nodiscard]] bool Ready() const;
  // Whether its metrics say it holds the leader Lease.
  [[nodiscard]] bool IsLeader() const;

  // SIGTERM, then waits; true when it exited 0.
  bool Stop();
  // SIGKILL, then waits: a crash, with no chance to release anything.
  void Kill();

 private:
  ServeOptions options_;
  int port_ = 0;
  int health_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace discoblocks::testing
