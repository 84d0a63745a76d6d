// Fuzzes the DiskConfig admission webhook's handler
// (admission::DiskConfigWebhook::Handle): the body of every POST the API
// server, or anyone who reaches the webhook port, sends. The bundled drivers
// (built into <build>/drivers) answer for the StorageClasses of
// tests/fixtures/storageclasses, so that inputs naming one of those run the
// rules to the end, driver call included.
//
// Checked besides "no crash, hang or leak":
//   - the answer is 200 or 400, and its body is JSON;
//   - a 400 is {"error": <non-empty message>};
//   - a 200 is an admission.k8s.io/v1 AdmissionReview whose response echoes
//     the request's uid and says allowed, or not allowed with a 403 and a
//     message;
//   - the metrics stay within their fixed label sets: no input adds a time
//     series of its own.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "admission/webhook.h"
#include "drivers/module_cache.h"
#include "drivers/registry.h"
#include "fuzz_check.h"
#include "util/document.h"
#include "util/files.h"
#include "util/metrics.h"
#include "wasm/engine.h"

namespace {

namespace admission = discoblocks::admission;
using discoblocks::fuzz::Fail;
using discoblocks::fuzz::Require;
using nlohmann::json;

// The StorageClass fixtures, by name.
std::map<std::string, json, std::less<>> LoadStorageClasses() {
  std::map<std::string, json, std::less<>> classes;
  const std::filesystem::path dir =
      std::filesystem::path(DISCOBLOCKS_FUZZ_FIXTURES_DIR) / "storageclasses";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    auto text = discoblocks::ReadFile(entry.path());
    if (!text) Fail("cannot read a fixture", text.error().message);
    auto object = discoblocks::ParseDocument(*text, entry.path().string());
    if (!object) Fail("cannot parse a fixture", object.error().message);
    std::string name = (*object)["metadata"]["name"].get<std::string>();
    classes[std::move(name)] = std::move(object).value();
  }
  return classes;
}

struct Webhook {
  Webhook() {
    // Denials and bad requests are logged at info and warn: thousands per
    // second would bury libFuzzer's own output.
    spdlog::set_level(spdlog::level::off);
    auto engine = discoblocks::wasm::Engine::Create();
    if (!engine) Fail("no engine", engine.error().message);
    discoblocks::drivers::RegistryOptions options;
    options.directory = DISCOBLOCKS_FUZZ_DRIVERS_DIR;
    // Compiling the Go drivers takes seconds; each run after the first in a
    // build directory loads them from here.
    auto cache = discoblocks::drivers::ModuleCache::Open(DISCOBLOCKS_FUZZ_MODULE_CACHE);
    if (!cache) Fail("no module cache", cache.error().message);
    options.module_cache = std::move(cache).value();
    registry = discoblocks::drivers::Registry::Load(std::move(engine).value(), options);
    for (const auto& driver : registry->Entries()) {
      Require(driver.state == discoblocks::drivers::DriverState::kLoaded,
              "every bundled driver loads", driver.provisioner + ": " + driver.reason);
    }
    admission::RuleContext context;
    context.registry = registry.get();
    context.storage_class =
        [classes = LoadStorageClasses()](std::string_view name) -> std::optional<json> {
      const auto found = classes.find(name);
      if (found == classes.end()) return std::nullopt;
      return found->second;
    };
    context.call_options.observer = admission::DriverCallMetrics(metrics);
    handler = std::make_unique<admission::DiskConfigWebhook>(std::move(context), &metrics);
  }

  discoblocks::metrics::Registry metrics;
  std::unique_ptr<discoblocks::drivers::Registry> registry;
  std::unique_ptr<admission::DiskConfigWebhook> handler;
  std::size_t calls = 0;
};

Webhook& TheWebhook() {
  static Webhook webhook;
  return webhook;
}

// The request's uid when the body has one, as the API server would read it.
std::optional<std::string> UidOf(std::string_view body) {
  if (!discoblocks::CheckJsonLimits(body, "body", {}).ok()) return std::nullopt;
  const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!review.is_object()) return std::nullopt;
  const auto request = review.find("request");
  if (request == review.end() || !request->is_object()) return std::nullopt;
  const auto uid = request->find("uid");
  if (uid == request->end() || !uid->is_string()) return std::nullopt;
  return uid->get<std::string>();
}

void CheckAnswer(const admission::WebhookResponse& response, std::string_view body) {
  Require(response.http_status == 200 || response.http_status == 400, "200 or 400",
          std::to_string(response.http_status));
  const json answer = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  Require(answer.is_object(), "the answer is a JSON object", response.body);
  if (response.http_status == 400) {
    const auto error = answer.find("error");
    Require(error != answer.end() && error->is_string() && !error->get<std::string>().empty(),
            "a 400 says what was wrong", response.body);
    return;
  }
  Require(answer.value("apiVersion", "") == "admission.k8s.io/v1" &&
              answer.value("kind", "") == "AdmissionReview",
          "a 200 is an AdmissionReview v1", response.body);
  const json& review_response = answer.at("response");
  const auto uid = UidOf(body);
  Require(uid.has_value() && review_response.value("uid", "") == *uid,
          "the response echoes the request's uid", response.body);
  const auto allowed = review_response.find("allowed");
  Require(allowed != review_response.end() && allowed->is_boolean(), "allowed is a boolean",
          response.body);
  if (!allowed->get<bool>()) {
    const json& status = review_response.at("status");
    Require(status.value("code", 0) == 403 && !status.value("message", "").empty(),
            "a denial is a 403 with a message", response.body);
  }
}

// Fixed label sets: one endpoint, six operation values, three results, the
// drivers' functions and outcomes; a few hundred lines at most, whatever came in.
void CheckMetricsBounded(const discoblocks::metrics::Registry& metrics) {
  const std::string rendered = metrics.Render();
  std::size_t lines = 0;
  for (const char c : rendered) lines += c == '\n' ? 1 : 0;
  Require(lines < 2000, "the metrics stay within their fixed label sets",
          std::to_string(lines) + " lines");
}

}  // namespace

// Loading the drivers takes seconds: done here, so that it does not count
// against the first input's time limit. Wasmtime installs its signal handler
// in front of AddressSanitizer's: WebAssembly's own faults become traps, any
// other fault reaches the sanitizer and is reported as a crash.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  TheWebhook();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Webhook& webhook = TheWebhook();
  const std::string_view body = discoblocks::fuzz::AsText(data, size);
  CheckAnswer(webhook.handler->Handle(body), body);
  if (++webhook.calls % 256 == 0) CheckMetricsBounded(webhook.metrics);
  return 0;
}
