// Volume usage read straight from the kubelets: GET
// https://<node InternalIP>:<kubelet port>/stats/summary on every node, with the
// service account's bearer token. The kubelet authorizes it as `get` on the
// `nodes/stats` subresource (not `nodes/proxy`, which would allow far more).
//
// Contract of KubeletStatsClient::Scrape:
// - One GET per target, at most Options::concurrency at a time, each bounded
//   by Options::timeout from the moment it starts (connecting, TLS and the
//   whole body). A slow, dead or lying kubelet costs its own timeout and
//   nothing more: the other nodes' results never wait for it beyond that.
//   So one Scrape takes at most ceil(targets / concurrency) * timeout.
// - Every target gets exactly one NodeUsage, in the order given: its volumes
//   with a pvcRef, or an error of one kind (see ScrapeErrorKind) with a
//   message naming the node, the address and what went wrong.
// - The bearer token file is read again at every Scrape (it is small and
//   rotates: projected service-account tokens are renewed hourly); a failed
//   read keeps the last good token.
// - Nothing is retried here: the caller polls again on its interval.
// - Scrape is serialised (one at a time per client); it may be called from
//   any thread. Connections are kept between scrapes, so that a poll every
//   30 s does not pay a TLS handshake per node each time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kube/kubelet_summary.h"
#include "util/result.h"

namespace discoblocks::metrics {
class Registry;
class CounterFamily;
class HistogramFamily;
}  // namespace discoblocks::metrics

namespace discoblocks::kube {

// Where a node's kubelet answers.
struct KubeletTarget {
  std::string node;     // metadata.name
  std::string address;  // status.addresses[type=InternalIP].address (IPv4 or IPv6)
  int port = 0;         // status.daemonEndpoints.kubeletEndpoint.Port
};

// The target of a Node object. An error names the node and what is missing
// or wrong (no InternalIP, no port, a port out of range, wrong types).
Result<KubeletTarget> KubeletTargetOf(const nlohmann::json& node);

enum class ScrapeErrorKind {
  kConnect,       // refused, unreachable, no route
  kTimeout,       // no whole answer within Options::timeout
  kTls,           // handshake failed, certificate not trusted or not for this address
  kUnauthorized,  // 401: the kubelet did not accept the token
  kForbidden,     // 403: the token's account may not `get` `nodes/stats`
  kHttpStatus,    // any other non-2xx status
  kBodyTooLarge,  // more than Options::max_body_bytes
  kUnparsable,    // not a summary (see ParseSummary)
};

// The label value of discoblocks_kubelet_scrape_errors_total{reason}:
// "connect", "timeout", "tls", "unauthorized", "forbidden", "http_status",
// "body_too_large", "unparsable".
const char* ScrapeErrorReason(ScrapeErrorKind kind);

struct ScrapeError {
  ScrapeErrorKind kind = ScrapeErrorKind::kConnect;
  long http_status = 0;  // for the HTTP kinds
  std::string message;
};

struct NodeUsage {
  KubeletTarget target;
  Result<ParsedSummary, ScrapeError> summary;
  std::chrono::nanoseconds duration{0};  // from the request's start to its end
};

class KubeletStatsClient {
 public:
  struct Options {
    // PEM file of the CA that signs the kubelets' serving certificates
    // (--kubelet-ca-file). Empty: the system's CAs. Read once, by Create.
    std::filesystem::path ca_file;
    // No verification of the kubelets' certificates at all
    // (--kubelet-insecure-tls): for test clusters whose kubelets have
    // self-signed certificates. The token is still sent.
    bool insecure_skip_verify = false;
    // The service account's token; empty sends no token (the kubelet then
    // answers 401).
    std::filesystem::path token_file;
    std::chrono::milliseconds timeout{10'000};  // per node, everything included
    std::size_t concurrency = 16;               // nodes scraped at once; >= 1
    std::size_t max_body_bytes = std::size_t{64} << 20;
    SummaryLimits limits;
    // Optional: discoblocks_kubelet_scrape_duration_seconds{node} and
    // discoblocks_kubelet_scrape_errors_total{node,reason}. Must outlive the client.
    metrics::Registry* metrics = nullptr;
  };

  // Checks the options and reads the CA file and the token file (a missing
  // or unreadable file is an error here, naming it).
  static Result<std::unique_ptr<KubeletStatsClient>> Create(Options options);
  ~KubeletStatsClient();
  KubeletStatsClient(const KubeletStatsClient&) = delete;
  KubeletStatsClient& operator=(const KubeletStatsClient&) = delete;

  std::vector<NodeUsage> Scrape(const std::vector<KubeletTarget>& targets);

 private:
  explicit KubeletStatsClient(Options options);
  void RefreshToken();  // with scrape_mutex_ held

  Options options_;
  std::string ca_pem_;
  std::string token_;
  std::mutex scrape_mutex_;
  void* multi_ = nullptr;  // CURLM*, kept for its connection cache
  metrics::HistogramFamily* durations_ = nullptr;
  metrics::CounterFamily* errors_ = nullptr;
};

}  // namespace discoblocks::kube
