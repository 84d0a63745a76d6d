// discoblocks serve: the admission webhook over HTTPS, and health, readiness and
// metrics over plain HTTP on a separate port.
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "admission/webhook.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "drivers/registry_metrics.h"
#include "kube/informer.h"
#include "server/http_server.h"
#include "util/duration.h"
#include "util/logging.h"

namespace discoblocks::cli {
namespace {

struct ServeFlags {
  DriverFlags drivers;
  std::optional<std::string> kubeconfig;
  std::string address = "0.0.0.0";
  std::uint16_t port = 9443;
  std::uint16_t health_port = 8080;
  std::string tls_cert_file = "/tmp/k8s-webhook-server/serving-certs/tls.crt";
  std::string tls_key_file = "/tmp/k8s-webhook-server/serving-certs/tls.key";
  std::string driver_timeout = "2s";
  std::string driver_rescan_interval = "10s";
  std::string driver_settle_time = "1s";
  std::string log_format = "json";
  std::string log_level = "info";
};

// Readiness: drivers loaded, StorageClasses cached, API server answering. The
// API server check is cached briefly so that probes do not hammer it.
class Readiness {
 public:
  Readiness(const drivers::Registry& registry, const kube::Informer& storage_classes,
            const kube::Client& client)
      : registry_(registry), storage_classes_(storage_classes), client_(client) {}

  server::HttpResponse Check() {
    std::size_t loaded = 0;
    std::size_t failed = 0;
    // Not a reason to be unready (the previous version serves), but worth seeing.
    std::string replacements;
    for (const auto& entry : registry_.Entries()) {
      loaded += entry.state == drivers::DriverState::kLoaded ? 1 : 0;
      failed += entry.state == drivers::DriverState::kFailed ? 1 : 0;
      if (entry.driver && !entry.last_load_error.empty()) {
        replacements +=
            fmt::format("  {}: new version did not load, sha256 {} serves: {}\n", entry.provisioner,
                        entry.driver->sha256().substr(0, 12), entry.last_load_error);
      }
    }
    const auto directory_error = registry_.directory_error();
    const bool drivers_ok = !directory_error && loaded > 0;
    const bool synced = storage_classes_.HasSynced();
    const std::string api = ApiServerState();
    const bool ready = drivers_ok && synced && api == "reachable";
    std::string body =
        fmt::format("drivers: {} loaded, {} failed{}\n{}storageclasses: {}\nkubernetes: {}\n",
                    loaded, failed, directory_error ? " (" + *directory_error + ")" : "",
                    replacements, synced ? "synced" : "not synced", api);
    return {ready ? 200 : 503, "text/plain; charset=utf-8", body, {}};
  }

 private:
  std::string ApiServerState() {
    const std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - checked_at_ > std::chrono::seconds(5) || state_.empty()) {
      auto ping = client_.Ping(std::chrono::seconds(2));
      state_ = ping ? "reachable" : "unreachable: " + ping.error().message;
      checked_at_ = now;
    }
    return state_;
  }

  const drivers::Registry& registry_;
  const kube::Informer& storage_classes_;
  const kube::Client& client_;
  std::mutex mutex_;
  std::string state_;
  std::chrono::steady_clock::time_point checked_at_;
};

// The path of a request target, without its query (the API server adds
// "?timeout=10s" to webhook calls).
std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

server::HttpResponse Text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body), {}};
}

// Waits for SIGTERM or SIGINT, which every thread has blocked.
int WaitForSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

int Serve(const ServeFlags& flags) {
  SetupLogging(flags.log_format == "json" ? LogFormat::kJson : LogFormat::kText, flags.log_level);
  // Block the signals before any thread starts, so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto timeout = ParseDuration(flags.driver_timeout);
  if (!timeout) return Fail("--driver-timeout: " + timeout.error().message);
  auto rescan_interval = ParseDuration(flags.driver_rescan_interval);
  if (!rescan_interval || rescan_interval->count() <= 0) {
    return Fail("--driver-rescan-interval: " + (rescan_interval ? std::string("must be positive")
                                                                : rescan_interval.error().message));
  }
  auto settle_time = ParseDuration(flags.driver_settle_time);
  if (!settle_time) return Fail("--driver-settle-time: " + settle_time.error().message);
  auto config = kube::LoadDefaultConfig(flags.kubeconfig);
  if (!config) return Fail(config.error().message);
  auto client = kube::Client::Create(*config);
  if (!client) return Fail(client.error().message);

  metrics::Registry metrics;
  auto registry = LoadRegistry(flags.drivers, std::nullopt,
                               std::chrono::ceil<std::chrono::milliseconds>(*timeout));
  if (!registry) return kExitError;
  for (const auto& entry : registry->Entries()) {
    LogEvent(
        entry.state == drivers::DriverState::kFailed ? spdlog::level::warn : spdlog::level::info,
        "driver",
        {{"provisioner", entry.provisioner},
         {"state", drivers::DriverStateName(entry.state)},
         {"sha256", entry.driver ? entry.driver->sha256() : ""},
         {"from_module_cache", entry.driver && entry.driver->from_cache()},
         {"reason", entry.reason}});
  }
  drivers::RegisterRegistryMetrics(metrics, *registry, registry->module_cache());
  // Drivers added, replaced or removed while serving take effect without a restart.
  if (auto watching =
          registry->StartWatching({std::chrono::ceil<std::chrono::milliseconds>(*rescan_interval),
                                   std::chrono::ceil<std::chrono::milliseconds>(*settle_time)});
      !watching) {
    spdlog::warn("drivers will be rescanned only at start: {}", watching.error().message);
  }

  kube::Informer storage_classes(*client, kube::resources::kStorageClasses, {});
  storage_classes.Start();

  admission::RuleContext context;
  context.registry = registry.get();
  context.storage_class = [&](std::string_view name) { return storage_classes.Get("", name); };
  context.call_options.limits = registry->limits();
  context.call_options.observer = admission::DriverCallMetrics(metrics);
  const admission::DiskConfigWebhook webhook(context, &metrics);

  server::ServerOptions webhook_options;
  webhook_options.address = flags.address;
  webhook_options.port = flags.port;
  webhook_options.tls = server::TlsFiles{flags.tls_cert_file, flags.tls_key_file};
  auto webhook_server = server::HttpServer::Start(
      webhook_options, [&](const server::HttpRequest& request) -> server::HttpResponse {
        if (PathOf(request.target) != admission::kValidateDiskConfigPath) {
          return Text(404, fmt::format("no webhook at {}; DiskConfigs are validated at {}\n",
                                       request.target, admission::kValidateDiskConfigPath));
        }
        if (request.method != "POST") return Text(405, "use POST\n");
        const admission::WebhookResponse response = webhook.Handle(request.body);
        return {response.http_status, "application/json", response.body, {}};
      });
  if (!webhook_server) return Fail(webhook_server.error().message);

  Readiness readiness(*registry, storage_classes, **client);
  server::ServerOptions health_options;
  health_options.address = flags.address;
  health_options.port = flags.health_port;
  auto health_server = server::HttpServer::Start(
      health_options, [&](const server::HttpRequest& request) -> server::HttpResponse {
        const std::string_view path = PathOf(request.target);
        if (path == "/healthz") return Text(200, "ok\n");
        if (path == "/readyz") return readiness.Check();
        if (path == "/drivers") {
          // The live registry, as `drivers list -o json` shows an offline one.
          nlohmann::json doc = nlohmann::json::array();
          for (const auto& entry : registry->Entries()) doc.push_back(DriverEntryJson(entry));
          return {200, "application/json", DumpJson(doc) + "\n", {}};
        }
        if (path == "/metrics") {
          return {200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render(), {}};
        }
        return Text(404, "try /healthz, /readyz, /metrics or /drivers\n");
      });
  if (!health_server) return Fail(health_server.error().message);

  LogEvent(spdlog::level::info, "serving",
           {{"webhook", fmt::format("https://{}:{}{}", flags.address, (*webhook_server)->port(),
                                    admission::kValidateDiskConfigPath)},
            {"health", fmt::format("http://{}:{}", flags.address, (*health_server)->port())},
            {"kubernetes", config->server}});
  const int signal_number = WaitForSignal();
  LogEvent(spdlog::level::info, "shutting down",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Finish what is in flight, then stop watching.
  (*webhook_server)->Shutdown();
  (*health_server)->Shutdown();
  storage_classes.Stop();
  LogEvent(spdlog::level::info, "stopped", nlohmann::json::object());
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ServeFlags>();
  auto* command = app.add_subcommand(
      "serve", "run the DiskConfig admission webhook (HTTPS) with health and metrics (HTTP)");
  AddDriverFlags(*command, flags->drivers);
  command->add_option("--kubeconfig", flags->kubeconfig,
                      "kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)");
  command->add_option("--address", flags->address, "address to listen on");
  command->add_option("--port", flags->port, "webhook HTTPS port");
  command->add_option("--health-port", flags->health_port,
                      "HTTP port for /healthz, /readyz and /metrics");
  command->add_option("--tls-cert-file", flags->tls_cert_file,
                      "serving certificate (PEM), reloaded when it changes");
  command->add_option("--tls-private-key-file", flags->tls_key_file,
                      "serving key (PEM), reloaded when it changes");
  command->add_option("--driver-timeout", flags->driver_timeout,
                      "time limit of one driver call, e.g. 2s");
  command->add_option("--driver-rescan-interval", flags->driver_rescan_interval,
                      "how often the drivers directory is rescanned besides inotify events");
  command->add_option("--driver-settle-time", flags->driver_settle_time,
                      "how long a changed driver file must stay unchanged before it is loaded");
  command->add_option("--log-format", flags->log_format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));
  command->add_option("--log-level", flags->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  command->callback([&action, flags] { action = [flags] { return Serve(*flags); }; });
}

}  // namespace discoblocks::cli
