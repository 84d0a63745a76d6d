// discoblocks serve: the flags and the process's life. The webhooks (DiskConfig
// validation, pod mutation) over HTTPS and the controllers are composed by
// the operator's Manager; health, readiness and metrics over plain HTTP on a
// separate port.
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "admission/deadline.h"
#include "admission/limits.h"
#include "admission/pod_webhook.h"
#include "admission/webhook.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "cli/serve_autoscaler.h"
#include "cli/serve_support.h"
#include "drivers/registry_metrics.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "operator/diskconfig_controller.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "operator/probes.h"
#include "operator/storage_class_controller.h"
#include "server/http_server.h"
#include "util/cpu_quota.h"
#include "util/duration.h"
#include "util/logging.h"
#include "util/worker_pool.h"

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
  unsigned driver_workers = 0;   // 0: from the CPU quota
  std::size_t driver_queue = 0;  // 0: kQueuePerWorker per worker
  std::size_t max_connections = 64;
  std::string shutdown_delay = "5s";
  std::string log_format = "json";
  std::string log_level = "info";
  bool leader_elect = false;
  std::string leader_election_namespace;  // empty: DefaultLeaderElectionNamespace()
  std::string leader_election_id = "discoblocks-leader";
  AutoscaleFlags autoscale;
};

// Without a CPU quota a big node would get a pool as wide as the node, and
// each worker may hold a driver's whole memory limit: above this many, say so
// with --driver-workers (and size the memory limit to match).
constexpr unsigned kMaxDefaultWorkers = 4;
constexpr std::size_t kQueuePerWorker = 32;

int Serve(const ServeFlags& flags) {
  SetupLogging(flags.log_format == "json" ? LogFormat::kJson : LogFormat::kText, flags.log_level);
  // Block the signals before any thread starts, so that only sigwait sees them.
  const sigset_t signals = TerminationSignals();
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
  auto shutdown_delay = ParseDuration(flags.shutdown_delay);
  if (!shutdown_delay) return Fail("--shutdown-delay: " + shutdown_delay.error().message);
  auto config = kube::LoadDefaultConfig(flags.kubeconfig);
  if (!config) return Fail(config.error().message);
  auto client = kube::Client::Create(*config);
  if (!client) return Fail(client.error().message);

  metrics::Registry metrics;
  auto registry = LoadRegistry(flags.drivers, std::nullopt,
                               std::chrono::ceil<std::chrono::milliseconds>(*timeout),
                               MissingDriversDir::kTolerate);
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

  // The manager: shared caches, the webhooks, the controllers (on the
  // leader only, with --leader-elect), the event recorder.
  const std::string identity = LeaderIdentity();
  const op::PvcOperations pvc_operations(&metrics);  // before the manager: its controllers count
  op::ManagerOptions manager_options;
  manager_options.client = *client;
  manager_options.metrics = &metrics;
  manager_options.identity = identity;
  if (flags.leader_elect) {
    kube::LeaderElectionConfig election;
    election.lease_namespace = flags.leader_election_namespace.empty()
                                   ? DefaultLeaderElectionNamespace()
                                   : flags.leader_election_namespace;
    election.lease_name = flags.leader_election_id;
    election.identity = identity;
    election.registry = &metrics;
    if (auto valid = kube::ValidateLeaderElectionConfig(election); !valid) {
      return Fail("leader election: " + valid.error().message);
    }
    manager_options.elector = op::LeaseElector(*client, std::move(election));
  }
  auto manager = op::Manager::Create(std::move(manager_options));
  if (!manager) return Fail(manager.error().message);
  kube::Informer& storage_classes = (*manager)->Informer(kube::resources::kStorageClasses);
  kube::Informer& disk_configs = (*manager)->Informer(kube::resources::kDiskConfigs);
  kube::Informer& claims = (*manager)->Informer(kube::resources::kPersistentVolumeClaims);
  kube::Informer& nodes = (*manager)->Informer(kube::resources::kNodes);

  admission::RuleContext context;
  context.registry = registry.get();
  context.storage_class = op::StorageClassesFromCache(storage_classes);
  context.call_options.limits = registry->limits();
  context.call_options.observer = admission::DriverCallMetrics(metrics);
  const admission::DiskConfigWebhook webhook(context, &metrics);

  // A pod's admission waits for these writes: with retries, they must still
  // end well within the API server's webhook timeout (10s by default).
  op::ClientObjectWriter writer((*client)->WithCallTimeout(std::chrono::seconds(3)),
                                &pvc_operations);
  admission::PodWebhookContext pod_context;
  pod_context.registry = registry.get();
  pod_context.call_options = context.call_options;
  pod_context.disk_configs = op::DiskConfigsFromCache(disk_configs);
  pod_context.storage_class = context.storage_class;
  pod_context.node = op::NodesFromCache(nodes);
  pod_context.pvcs = op::ClaimsFromCache(claims);
  pod_context.writer = &writer;
  const admission::PodWebhook pod_webhook(std::move(pod_context), &metrics);

  (*manager)->AddWebhook(webhook);
  (*manager)->AddWebhook(pod_webhook);
  (*manager)->AddController(op::StorageClassFinalizerController(**manager));
  AutoscalerContext autoscaler_context{manager->get(), registry.get(),  context.call_options,
                                       &writer,        &pvc_operations, &metrics};
  auto autoscaler = AddAutoscaler(flags.autoscale, autoscaler_context);
  if (!autoscaler) return Fail(autoscaler.error().message);
  (*manager)->AddController(
      op::DiskConfigController(**manager, registry.get(), &pvc_operations, (*autoscaler)->usage));
  if (auto started = (*manager)->Start(); !started) return Fail(started.error().message);

  // Driver calls get their own threads, as many as the CPU quota allows.
  const unsigned cpus = UsableCpus();
  WorkerPool::Options pool_options;
  pool_options.name = "driver workers";
  pool_options.workers =
      flags.driver_workers != 0 ? flags.driver_workers : std::min(cpus, kMaxDefaultWorkers);
  pool_options.queue_capacity =
      flags.driver_queue != 0 ? flags.driver_queue : kQueuePerWorker * pool_options.workers;
  WorkerPool driver_pool(pool_options);
  const auto driver_time = context.call_options.limits.time;
  op::ProbeSources probe_sources{
      registry.get(), nullptr, &driver_pool,
      std::max<std::chrono::milliseconds>(3 * driver_time, std::chrono::seconds(10)),
      (*manager)->caches()};
  op::Probes probes(std::move(probe_sources));

  server::ServerOptions webhook_options;
  webhook_options.address = flags.address;
  webhook_options.port = flags.port;
  webhook_options.tls = server::TlsFiles{flags.tls_cert_file, flags.tls_key_file};
  webhook_options.max_connections = flags.max_connections;
  webhook_options.handler_pool = &driver_pool;
  webhook_options.queue_wait = [driver_time](const server::HttpRequest& request) {
    return admission::QueueWait(request.target, driver_time);
  };
  auto webhook_server = server::HttpServer::Start(
      webhook_options,
      [&](const server::HttpRequest& request) { return (*manager)->Route(request); });
  if (!webhook_server) return Fail(webhook_server.error().message);

  server::ServerOptions health_options;
  health_options.address = flags.address;
  health_options.port = flags.health_port;
  // Probes and scrapes come from a few clients; more is someone else.
  health_options.max_connections = 32;
  health_options.threads = 1;
  auto health_server = server::HttpServer::Start(
      health_options, [&](const server::HttpRequest& request) -> server::HttpResponse {
        const std::string_view path = PathOf(request.target);
        if (path == "/healthz") return probes.Liveness();
        if (path == "/readyz") return probes.Readiness();
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

  LogEvent(
      spdlog::level::info, "serving",
      {{"webhooks",
        {fmt::format("https://{}:{}{}", flags.address, (*webhook_server)->port(),
                     admission::kValidateDiskConfigPath),
         fmt::format("https://{}:{}{}", flags.address, (*webhook_server)->port(),
                     admission::kMutatePodPath)}},
       {"identity", identity},
       {"leader_election", flags.leader_elect},
       {"health", fmt::format("http://{}:{}", flags.address, (*health_server)->port())},
       {"kubernetes", config->server},
       {"driver_workers", pool_options.workers},
       {"driver_queue", pool_options.queue_capacity},
       {"cpu_quota", cpus},
       {"max_connections", flags.max_connections},
       {"worst_case_request_memory_mib",
        WorstCaseMemory(pool_options.workers, flags.max_connections,
                        context.call_options.limits.memory_bytes, webhook_options.max_body_bytes) >>
            20}});
  const int signal_number = WaitForSignal();
  LogEvent(spdlog::level::info, "shutting down",
           {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
            {"drain_delay", FormatDuration(*shutdown_delay)}});
  // Endpoints take a moment to drop this replica: until they have, requests
  // still arrive and are answered. A second signal cuts the wait short.
  probes.BeginShutdown();
  DrainDelay(*shutdown_delay);
  // Finish what is in flight, then stop the controllers (releasing the
  // lease) and the caches.
  (*webhook_server)->Shutdown();
  driver_pool.Stop();
  (*manager)->Stop();
  (*health_server)->Shutdown();
  LogEvent(spdlog::level::info, "stopped", nlohmann::json::object());
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ServeFlags>();
  auto* command = app.add_subcommand(
      "serve", "run the webhooks (HTTPS) and the controllers, with health and metrics (HTTP)");
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
  command->add_option("--driver-workers", flags->driver_workers,
                      "threads for driver calls (default: the CPU quota, at most 4)");
  command->add_option("--driver-queue", flags->driver_queue,
                      "requests that may wait for a driver worker (default: 32 per worker)");
  command->add_option("--max-connections", flags->max_connections,
                      "webhook connections at once; more are closed (0: no cap)");
  command->add_option("--shutdown-delay", flags->shutdown_delay,
                      "after SIGTERM, how long to keep answering before closing, e.g. 5s");
  command->add_option("--log-format", flags->log_format, "json or text")
      ->check(CLI::IsMember({"json", "text"}));
  command->add_option("--log-level", flags->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  command->add_flag("--leader-elect", flags->leader_elect,
                    "run the controllers only while holding the leader Lease");
  command->add_option("--leader-election-namespace", flags->leader_election_namespace,
                      "namespace of the Lease (default: the pod's, else discoblocks)");
  command->add_option("--leader-election-id", flags->leader_election_id, "name of the Lease");
  AddAutoscaleFlags(*command, flags->autoscale);
  command->callback([&action, flags] { action = [flags] { return Serve(*flags); }; });
}

}  // namespace discoblocks::cli
