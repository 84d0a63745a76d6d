// Paths and helpers shared by the tests.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/registry.h"
#include "wasm/engine.h"

namespace discoblocks::testing {

std::filesystem::path DriversDir();   // build/drivers: the bundled drivers
std::filesystem::path HostileDir();   // build/tests/hostile: modules from WAT
std::filesystem::path FixturesDir();  // tests/fixtures
std::filesystem::path BinaryPath();   // build/bin/discoblocks

// One engine for the whole test binary, as in the operator.
std::shared_ptr<wasm::Engine> SharedEngine();

// Parses a fixture (YAML) by its path under FixturesDir().
nlohmann::json Fixture(const std::string& relative_path);

// The bundled drivers, loaded once.
const drivers::Registry& BundledDrivers();

// A fresh temporary directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  // Creates <path>/<provisioner>/main.wasm with the given bytes.
  void AddDriver(const std::string& provisioner, const std::string& bytes) const;
  // Copies a module file in as <path>/<provisioner>/main.wasm.
  void CopyDriver(const std::string& provisioner, const std::filesystem::path& module) const;

 private:
  std::filesystem::path path_;
};

std::string ReadBytes(const std::filesystem::path& path);
// Writes `text` to `path` (replacing it); throws when it cannot.
void WriteTextFile(const std::filesystem::path& path, const std::string& text);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program` (a path, or a name looked up in PATH) with `args`, no shell,
// capturing its output.
CommandResult RunProgram(const std::string& program, const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that nothing listens on right now (a server binds it
// a moment later).
int FreeLoopbackPort();

// Runs the discoblocks binary.
CommandResult RunDiscoblocks(const std::vector<std::string>& args);

// The repository's root (for scripts/).
std::filesystem::path SourceDir();

}  // namespace discoblocks::testing
