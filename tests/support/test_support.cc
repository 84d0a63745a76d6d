#include "support/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "util/document.h"
#include "util/files.h"

namespace discoblocks::testing {

std::filesystem::path DriversDir() { return DISCOBLOCKS_TEST_DRIVERS_DIR; }
std::filesystem::path HostileDir() { return DISCOBLOCKS_TEST_HOSTILE_DIR; }
std::filesystem::path FixturesDir() { return DISCOBLOCKS_TEST_FIXTURES_DIR; }
std::filesystem::path BinaryPath() { return DISCOBLOCKS_TEST_BINARY; }

std::shared_ptr<wasm::Engine> SharedEngine() {
  static const std::shared_ptr<wasm::Engine> engine = [] {
    auto created = wasm::Engine::Create();
    if (!created) throw std::runtime_error(created.error().message);
    return std::move(created).value();
  }();
  return engine;
}

int FreeLoopbackPort() {
  const int socket_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (socket_fd < 0) throw std::runtime_error("cannot create a socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = ::bind(socket_fd, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                     ::getsockname(socket_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(socket_fd);
  if (!bound) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

std::string ReadBytes(const std::filesystem::path& path) {
  auto bytes = ReadFile(path);
  if (!bytes) throw std::runtime_error(bytes.error().message);
  return std::move(bytes).value();
}

void WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

nlohmann::json Fixture(const std::string& relative_path) {
  auto doc = ParseDocument(ReadBytes(FixturesDir() / relative_path), relative_path);
  if (!doc) throw std::runtime_error(doc.error().message);
  return std::move(doc).value();
}

const drivers::Registry& BundledDrivers() {
  static const std::unique_ptr<drivers::Registry> registry = [] {
    drivers::RegistryOptions options;
    options.directory = DriversDir();
    return drivers::Registry::Load(SharedEngine(), options);
  }();
  return *registry;
}

TempDir::TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "discoblocks-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void TempDir::AddDriver(const std::string& provisioner, const std::string& bytes) const {
  std::filesystem::create_directories(path_ / provisioner);
  std::ofstream out(path_ / provisioner / "main.wasm", std::ios::binary);
  out << bytes;
}

void TempDir::CopyDriver(const std::string& provisioner,
                         const std::filesystem::path& module) const {
  AddDriver(provisioner, ReadBytes(module));
}

CommandResult RunDiscoblocks(const std::vector<std::string>& args) {
  return RunProgram(BinaryPath().string(), args);
}

std::filesystem::path SourceDir() { return DISCOBLOCKS_TEST_SOURCE_DIR; }

CommandResult RunProgram(const std::string& program, const std::vector<std::string>& args) {
  const TempDir capture;
  const std::string out_path = (capture.path() / "out").string();
  const std::string err_path = (capture.path() / "err").string();
  const std::string& binary = program;
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  CommandResult result;
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (freopen(out_path.c_str(), "w", stdout) == nullptr ||
        freopen(err_path.c_str(), "w", stderr) == nullptr) {
      _exit(127);
    }
    execvp(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadBytes(out_path);
  result.err = ReadBytes(err_path);
  return result;
}

}  // namespace discoblocks::testing
