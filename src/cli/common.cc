#include "cli/common.h"

#include <iostream>

#include "cli/app.h"
#include "util/document.h"
#include "util/files.h"

namespace discoblocks::cli {

int Fail(const std::string& message) {
  std::cerr << "discoblocks: " << message << "\n";
  return kExitError;
}

std::unique_ptr<drivers::Registry> LoadRegistry(const std::optional<std::string>& drivers_dir,
                                                std::optional<std::string> only) {
  auto engine = wasm::Engine::Create();
  if (!engine) {
    Fail(engine.error().message);
    return nullptr;
  }
  drivers::RegistryOptions options;
  options.directory = drivers::ResolveDriversDir(drivers_dir);
  options.only = std::move(only);
  auto registry = drivers::Registry::Load(std::move(engine).value(), options);
  if (registry->directory_error()) {
    Fail(*registry->directory_error());
    return nullptr;
  }
  return registry;
}

Result<std::optional<nlohmann::json>> ReadObject(const std::optional<std::string>& path) {
  if (!path) return std::optional<nlohmann::json>();
  auto text = ReadFile(*path);
  if (!text) return text.error();
  auto doc = ParseDocument(*text, *path);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError(*path + ": expected a Kubernetes object (a mapping)");
  return std::optional<nlohmann::json>(std::move(doc).value());
}

}  // namespace discoblocks::cli
