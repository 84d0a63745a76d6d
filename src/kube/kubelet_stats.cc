#include "kube/kubelet_stats.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/files.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One node's request in flight. libcurl's callbacks write here.
struct Transfer {
  std::size_t index = 0;  // into the targets
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string url;
  std::string body;
  std::size_t max_body = 0;
  bool too_large = false;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Clock::time_point start;

  ~Transfer() {
    curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

// libcurl is C: nothing may throw through it. Appending can only fail for
// memory, which then counts as the body being too large.
size_t OnBody(char* data, size_t size, size_t count, void* user) noexcept {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t length = size * count;
  if (transfer->body.size() + length > transfer->max_body) {
    transfer->too_large = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  try {
    transfer->body.append(data, length);
  } catch (...) {
    transfer->too_large = true;
    return 0;
  }
  return length;
}

void SetBlob(CURL* curl, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, option, &blob);
}

bool IsTlsFailure(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return true;
    default:
      return false;
  }
}

// The start of an error body, on one line, for messages: kubelets answer
// errors in plain text ("Forbidden (user=..., verb=get, resource=nodes,
// subresource=(stats|metrics))").
std::string Excerpt(const std::string& body) {
  constexpr std::size_t kMax = 200;
  std::string text = body.substr(0, kMax);
  for (char& c : text) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (body.size() > kMax) text += "...";
  return text.empty() ? "(no body)" : text;
}

}  // namespace

const char* ScrapeErrorReason(ScrapeErrorKind kind) {
  switch (kind) {
    case ScrapeErrorKind::kConnect:
      return "connect";
    case ScrapeErrorKind::kTimeout:
      return "timeout";
    case ScrapeErrorKind::kTls:
      return "tls";
    case ScrapeErrorKind::kUnauthorized:
      return "unauthorized";
    case ScrapeErrorKind::kForbidden:
      return "forbidden";
    case ScrapeErrorKind::kHttpStatus:
      return "http_status";
    case ScrapeErrorKind::kBodyTooLarge:
      return "body_too_large";
    case ScrapeErrorKind::kUnparsable:
      return "unparsable";
  }
  return "other";
}

Result<KubeletTarget> KubeletTargetOf(const json& node) {
  if (!node.is_object()) return WrongType("node", "an object", node);
  KubeletTarget target;
  const json* name = FindMember(node, {"metadata", "name"});
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    return MakeError("node: metadata.name is missing or not a string");
  }
  target.node = name->get<std::string>();
  // (Pointers into `node`, never into a temporary copy of its status.)
  const json* status = FindMember(node, {"status"});
  auto addresses = status != nullptr ? OptionalArray(*status, "addresses", "status.addresses")
                                     : Result<const json*>(nullptr);
  if (!addresses)
    return MakeError(fmt::format("node {}: {}", target.node, addresses.error().message));
  if (*addresses != nullptr) {
    for (const json& address : **addresses) {
      if (StringOr(address, "type") == "InternalIP" && !StringOr(address, "address").empty()) {
        target.address = StringOr(address, "address");
        break;
      }
    }
  }
  if (target.address.empty()) {
    return MakeError(fmt::format(
        "node {}: no InternalIP in status.addresses; its kubelet cannot be reached", target.node));
  }
  const json* port = FindMember(node, {"status", "daemonEndpoints", "kubeletEndpoint", "Port"});
  if (port == nullptr) {
    return MakeError(fmt::format(
        "node {}: no status.daemonEndpoints.kubeletEndpoint.Port; is its kubelet registered?",
        target.node));
  }
  if (!port->is_number_integer() || port->get<long long>() < 1 || port->get<long long>() > 65535) {
    return MakeError(fmt::format(
        "node {}: status.daemonEndpoints.kubeletEndpoint.Port is {}, not a port (1-65535)",
        target.node, port->dump()));
  }
  target.port = static_cast<int>(port->get<long long>());
  return target;
}

KubeletStatsClient::KubeletStatsClient(Options options) : options_(std::move(options)) {}

KubeletStatsClient::~KubeletStatsClient() {
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

Result<std::unique_ptr<KubeletStatsClient>> KubeletStatsClient::Create(Options options) {
  GlobalInit();
  if (options.concurrency == 0) return MakeError("kubelet client: concurrency must be at least 1");
  if (options.timeout.count() <= 0) return MakeError("kubelet client: timeout must be positive");
  if (options.max_body_bytes == 0) return MakeError("kubelet client: body cap must be positive");
  auto client = std::unique_ptr<KubeletStatsClient>(new KubeletStatsClient(std::move(options)));
  const Options& opts = client->options_;
  if (!opts.ca_file.empty()) {
    auto ca = ReadFile(opts.ca_file, std::size_t{4} << 20);
    if (!ca) return MakeError("kubelet CA file: " + ca.error().message);
    if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return MakeError(
          fmt::format("kubelet CA file {}: no PEM certificate in it", opts.ca_file.string()));
    }
    client->ca_pem_ = std::move(ca).value();
  }
  if (!opts.token_file.empty()) {
    client->RefreshToken();
    if (client->token_.empty()) {
      auto token = ReadFile(opts.token_file, std::size_t{1} << 20);
      return MakeError(fmt::format("kubelet token file {}: {}", opts.token_file.string(),
                                   token ? std::string("empty") : token.error().message));
    }
  }
  client->multi_ = curl_multi_init();
  if (client->multi_ == nullptr) return MakeError("libcurl: cannot create a multi handle");
  if (opts.metrics != nullptr) {
    client->durations_ = &opts.metrics->Histogram(
        "discoblocks_kubelet_scrape_duration_seconds",
        "Time to fetch and read one node's kubelet /stats/summary, failures included.");
    client->errors_ =
        &opts.metrics->Counter("discoblocks_kubelet_scrape_errors_total",
                               "Failed kubelet /stats/summary scrapes, by node and reason.");
  }
  return client;
}

void KubeletStatsClient::RefreshToken() {
  if (options_.token_file.empty()) return;
  auto token = ReadFile(options_.token_file, std::size_t{1} << 20);
  if (!token) return;  // being rotated: keep the last good one
  std::string value = std::move(token).value();
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.pop_back();
  }
  if (!value.empty()) token_ = std::move(value);
}

namespace {

// The outcome of a finished transfer, before metrics.
Result<ParsedSummary, ScrapeError> Outcome(const Transfer& transfer, CURLcode code,
                                           const KubeletStatsClient::Options& options,
                                           const KubeletTarget& target) {
  const std::string where = fmt::format("kubelet of node {} ({})", target.node, transfer.url);
  auto error = [&](ScrapeErrorKind kind, std::string what, long status = 0) {
    return ScrapeError{kind, status, fmt::format("{}: {}", where, what)};
  };
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return error(ScrapeErrorKind::kBodyTooLarge,
                 fmt::format("answer larger than {} bytes", options.max_body_bytes));
  }
  if (code != CURLE_OK) {
    const std::string detail =
        transfer.error_buffer[0] != '\0' ? transfer.error_buffer : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return error(ScrapeErrorKind::kTimeout, fmt::format("no whole answer within {} ms ({})",
                                                          options.timeout.count(), detail));
    }
    if (IsTlsFailure(code)) {
      return error(ScrapeErrorKind::kTls,
                   fmt::format("TLS: {} (is --kubelet-ca-file the CA of the kubelets' serving "
                               "certificates?)",
                               detail));
    }
    return error(ScrapeErrorKind::kConnect, fmt::format("cannot connect: {}", detail));
  }
  long status = 0;
  curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401) {
    return error(
        ScrapeErrorKind::kUnauthorized,
        fmt::format("401 Unauthorized: the kubelet did not accept the bearer token{} ({})",
                    options.token_file.empty() ? " (none was sent)" : "", Excerpt(transfer.body)),
        status);
  }
  if (status == 403) {
    return error(ScrapeErrorKind::kForbidden,
                 fmt::format("403 Forbidden: the token's account has no permission to get "
                             "nodes/stats ({})",
                             Excerpt(transfer.body)),
                 status);
  }
  if (status < 200 || status >= 300) {
    return error(ScrapeErrorKind::kHttpStatus,
                 fmt::format("HTTP status {} ({})", status, Excerpt(transfer.body)), status);
  }
  auto parsed = ParseSummary(transfer.body, options.limits);
  if (!parsed) {
    return error(ScrapeErrorKind::kUnparsable,
                 fmt::format("not a stats summary: {}", parsed.error().message));
  }
  return std::move(parsed).value();
}

}  // namespace

std::vector<NodeUsage> KubeletStatsClient::Scrape(const std::vector<KubeletTarget>& targets) {
  const std::lock_guard lock(scrape_mutex_);
  RefreshToken();
  auto* multi = static_cast<CURLM*>(multi_);
  std::vector<NodeUsage> results;
  results.reserve(targets.size());
  for (const KubeletTarget& target : targets) {
    results.push_back(NodeUsage{target, ScrapeError{ScrapeErrorKind::kConnect, 0, "not scraped"},
                                std::chrono::nanoseconds(0)});
  }
  const std::string authorization = "Authorization: Bearer " + token_;

  // The multi interface drives every transfer from this one thread: no thread
  // per node, and each transfer's timeout is libcurl's own, counted from when
  // it is added. Adding at most `concurrency` at a time (rather than all of
  // them, with libcurl queueing the rest) keeps a queued transfer's clock
  // from starting before its turn.
  std::vector<std::unique_ptr<Transfer>> active;
  std::size_t next = 0;
  auto start_next = [&] {
    const KubeletTarget& target = targets[next];
    auto transfer = std::make_unique<Transfer>();
    transfer->index = next++;
    transfer->start = Clock::now();
    // An IPv6 address goes in brackets in a URL.
    const bool ipv6 = target.address.find(':') != std::string::npos;
    transfer->url = fmt::format("https://{}{}{}:{}/stats/summary", ipv6 ? "[" : "", target.address,
                                ipv6 ? "]" : "", target.port);
    transfer->max_body = options_.max_body_bytes;
    CURL* easy = curl_easy_init();
    transfer->easy = easy;
    if (easy == nullptr) {
      results[transfer->index].summary =
          ScrapeError{ScrapeErrorKind::kConnect, 0, "libcurl: cannot create a handle"};
      return;
    }
    curl_easy_setopt(easy, CURLOPT_URL, transfer->url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error_buffer);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(options_.max_body_bytes));
    curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    // Kubelets are reached on the nodes' own addresses, inside the cluster's
    // network: a proxy from the environment (HTTPS_PROXY) would not get there.
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    if (!ca_pem_.empty()) {
      // This CA and no other: the system's CA directory would let any public
      // CA vouch for a kubelet (as in transport.cc).
      SetBlob(easy, CURLOPT_CAINFO_BLOB, ca_pem_);
      curl_easy_setopt(easy, CURLOPT_CAINFO, static_cast<const char*>(nullptr));
      curl_easy_setopt(easy, CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    }
    if (options_.insecure_skip_verify) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    transfer->headers = curl_slist_append(transfer->headers, "Accept: application/json");
    if (!token_.empty()) {
      transfer->headers = curl_slist_append(transfer->headers, authorization.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
      results[transfer->index].summary =
          ScrapeError{ScrapeErrorKind::kConnect, 0, "libcurl: cannot start the transfer"};
      return;
    }
    active.push_back(std::move(transfer));
  };

  auto finish = [&](CURL* easy, CURLcode code) {
    const auto found = std::find_if(active.begin(), active.end(), [easy](const auto& transfer) {
      return transfer->easy == easy;
    });
    if (found == active.end()) return;
    std::unique_ptr<Transfer> transfer = std::move(*found);
    active.erase(found);
    curl_multi_remove_handle(multi, easy);
    NodeUsage& result = results[transfer->index];
    result.summary = Outcome(*transfer, code, options_, result.target);
    result.duration = Clock::now() - transfer->start;
  };

  while (next < targets.size() || !active.empty()) {
    while (active.size() < options_.concurrency && next < targets.size()) start_next();
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
    }
    if (!active.empty() && running > 0) {
      // Wakes on activity; libcurl shortens the wait to its next timeout.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  for (const NodeUsage& result : results) {
    if (durations_ != nullptr) {
      durations_->Observe({{"node", result.target.node}},
                          std::chrono::duration<double>(result.duration).count());
    }
    if (errors_ != nullptr && !result.summary.ok()) {
      errors_->Increment({{"node", result.target.node},
                          {"reason", ScrapeErrorReason(result.summary.error().kind)}});
    }
  }
  return results;
}

}  // namespace discoblocks::kube
