#include "kube/transport.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

#include "util/files.h"

namespace discoblocks::kube {
namespace {

// Bounds a whole (non-streamed) response; a list of every object in a large
// cluster stays well below it, a runaway server does not.
constexpr std::size_t kMaxBodyBytes = std::size_t{512} << 20;
// How often a rotated service-account token is re-read (client-go does the same).
constexpr auto kTokenRefresh = std::chrono::minutes(1);

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State shared with libcurl's callbacks for one request.
struct Exchange {
  CURL* curl = nullptr;
  std::string body;
  bool too_large = false;
  std::chrono::seconds retry_after{0};
  // An exception caught in a callback; the transfer was aborted for it.
  std::exception_ptr failure;
  // Streaming only:
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool stopped_by_caller = false;
};

bool IsSuccess(long status) { return status >= 200 && status < 300; }

// libcurl is C: an exception must never unwind through it (that is undefined
// behaviour, and it would leave the handle mid-transfer). The callbacks below
// catch everything, keep it in the Exchange, and abort the transfer by
// returning what libcurl takes as an error; Send and Stream then report it.

size_t OnBody(char* data, size_t size, size_t count, void* user) noexcept {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t length = size * count;
  try {
    if (exchange->on_data != nullptr) {
      long status = 0;
      curl_easy_getinfo(exchange->curl, CURLINFO_RESPONSE_CODE, &status);
      if (IsSuccess(status)) {
        if (!(*exchange->on_data)(std::string_view(data, length))) {
          exchange->stopped_by_caller = true;
          return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
        }
        return length;
      }
    }
    if (exchange->body.size() + length > kMaxBodyBytes) {
      exchange->too_large = true;
      return 0;
    }
    exchange->body.append(data, length);
    return length;
  } catch (...) {
    exchange->failure = std::current_exception();
    return 0;
  }
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) noexcept {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t length = size * count;
  try {
    std::string_view line(data, length);
    constexpr std::string_view kRetryAfter = "retry-after:";
    if (line.size() > kRetryAfter.size()) {
      std::string prefix(line.substr(0, kRetryAfter.size()));
      std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (prefix == kRetryAfter) {
        exchange->retry_after = std::chrono::seconds(
            std::strtol(std::string(line.substr(kRetryAfter.size())).c_str(), nullptr, 10));
      }
    }
    return length;
  } catch (...) {
    exchange->failure = std::current_exception();
    return 0;
  }
}

int OnProgress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) noexcept {
  const auto* exchange = static_cast<const Exchange*>(user);
  return exchange->cancel != nullptr && exchange->cancel->load() ? 1 : 0;
}

// The error for a transfer a callback aborted with an exception.
ApiError CallbackError(const std::exception_ptr& failure, const HttpRequest& request) {
  std::string what;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  return MakeApiError(ErrorKind::kOther, fmt::format("{} {}: handling the answer failed: {}",
                                                     request.method, request.path, what));
}

// Writes may be applied twice if repeated; see Prepare and TransportError.
bool IsIdempotent(const std::string& method) { return method != "POST" && method != "PATCH"; }

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void Add(const std::string& header) { list = curl_slist_append(list, header.c_str()); }
};

void SetBlob(CURL* curl, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, option, &blob);
}

}  // namespace

Transport::Transport(ClientConfig config) : config_(std::move(config)) {}

Transport::~Transport() {
  for (void* handle : pool_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<std::unique_ptr<Transport>> Transport::Create(ClientConfig config) {
  GlobalInit();
  if (config.server.empty()) return MakeError("no API server address in " + config.source);
  auto transport = std::unique_ptr<Transport>(new Transport(std::move(config)));
  if (!transport->config_.bearer_token_file.empty()) {
    auto token = ReadFile(transport->config_.bearer_token_file);
    if (!token) return MakeError("bearer token: " + token.error().message);
  }
  return transport;
}

std::string Transport::Token() const {
  if (config_.bearer_token_file.empty()) return config_.bearer_token;
  const std::lock_guard lock(token_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_at_ > kTokenRefresh) {
    // A failed re-read keeps the previous token: the file is being rotated.
    if (auto token = ReadFile(config_.bearer_token_file); token) {
      std::string value = std::move(token).value();
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
        value.pop_back();
      }
      token_ = std::move(value);
      token_read_at_ = now;
    }
  }
  return token_;
}

void* Transport::Acquire() const {
  {
    const std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      void* handle = pool_.back();
      pool_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void Transport::Release(void* handle) const {
  const std::lock_guard lock(pool_mutex_);
  pool_.push_back(handle);
}

namespace {

// Configures `curl` for `request` against `config`. The header list must
// outlive the transfer.
void Prepare(CURL* curl, const ClientConfig& config, const std::string& token,
             const HttpRequest& request, Exchange* exchange, HeaderList* headers,
             char* error_buffer) {
  curl_easy_reset(curl);  // keeps the connection cache for keep-alive
  const std::string url = config.server + request.path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required with threads
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!config.ca_pem.empty()) {
    // The configured CA and no other. The blob replaces libcurl's built-in CA
    // bundle but not its CA directory (Debian: /etc/ssl/certs), which would
    // let any public CA vouch for "the API server"; both are cleared.
    SetBlob(curl, CURLOPT_CAINFO_BLOB, config.ca_pem);
    curl_easy_setopt(curl, CURLOPT_CAINFO, static_cast<const char*>(nullptr));
    curl_easy_setopt(curl, CURLOPT_CAPATH, static_cast<const char*>(nullptr));
  }
  if (config.insecure_skip_tls_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config.client_cert_pem.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    SetBlob(curl, CURLOPT_SSLCERT_BLOB, config.client_cert_pem);
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
    SetBlob(curl, CURLOPT_SSLKEY_BLOB, config.client_key_pem);
  }
  headers->Add("Accept: application/json");
  headers->Add("User-Agent: discoblocks");
  if (!token.empty()) headers->Add("Authorization: Bearer " + token);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    headers->Add("Content-Type: " + (request.content_type.empty() ? std::string("application/json")
                                                                  : request.content_type));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers->list);
  if (!IsIdempotent(request.method)) {
    // On a kept-alive connection that closes without an answer, libcurl sends
    // the request again on a new one by itself; for a write that is a blind
    // second attempt. A connection of its own rules that out.
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
  }
  exchange->curl = curl;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, exchange);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config.request_timeout.count()));
}

// Failures before a connection was up: the request was not sent. Exact for
// a request on a fresh connection (see Prepare); on a reused one libcurl may
// have sent it on the old connection before failing to open a new one.
bool FailedBeforeSending(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      return true;
    default:
      return false;
  }
}

ApiError TransportError(CURLcode code, const char* error_buffer, const ClientConfig& config,
                        const HttpRequest& request, std::chrono::milliseconds timeout) {
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  const std::string what = fmt::format("{} {}{}", request.method, config.server, request.path);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return MakeApiError(ErrorKind::kTimeout, fmt::format("{}: no answer within {} ms ({})", what,
                                                         timeout.count(), detail));
  }
  ApiError error = MakeApiError(ErrorKind::kTransport, fmt::format("{}: {}", what, detail));
  // Only writes are sure to have had a connection of their own (see Prepare).
  const bool fresh_connection = !IsIdempotent(request.method);
  error.may_have_reached_server = !(fresh_connection && FailedBeforeSending(code));
  return error;
}

}  // namespace

KubeResult<HttpResponse> Transport::Send(const HttpRequest& request) const {
  auto* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr)
    return MakeApiError(ErrorKind::kTransport, "libcurl: cannot create a handle");
  Exchange exchange;
  HeaderList headers;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Prepare(curl, config_, Token(), request, &exchange, &headers, error_buffer);
  const auto timeout = request.timeout.count() > 0 ? request.timeout : config_.request_timeout;
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Release(curl);
  if (exchange.failure) return CallbackError(exchange.failure, request);
  if (exchange.too_large) {
    return MakeApiError(ErrorKind::kMalformedResponse,
                        fmt::format("{} {}: response larger than {} bytes", request.method,
                                    request.path, kMaxBodyBytes));
  }
  if (code != CURLE_OK) return TransportError(code, error_buffer, config_, request, timeout);
  return HttpResponse{status, std::move(exchange.body), exchange.retry_after};
}

KubeStatus Transport::Stream(const HttpRequest& request,
                             const std::function<bool(std::string_view)>& on_data,
                             const std::atomic<bool>& cancel) const {
  auto* curl = static_cast<CURL*>(Acquire());
  if (curl == nullptr)
    return MakeApiError(ErrorKind::kTransport, "libcurl: cannot create a handle");
  Exchange exchange;
  exchange.on_data = &on_data;
  exchange.cancel = &cancel;
  HeaderList headers;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Prepare(curl, config_, Token(), request, &exchange, &headers, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
  if (request.timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  }
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  Release(curl);
  if (exchange.failure) return CallbackError(exchange.failure, request);
  if (exchange.stopped_by_caller || cancel.load()) return {};
  const auto timeout = request.timeout.count() > 0 ? request.timeout : config_.request_timeout;
  if (code == CURLE_OPERATION_TIMEDOUT && IsSuccess(status)) {
    // The stream outlived its bound without the server ending it: treat like a
    // dropped connection, so that the caller resumes.
    return TransportError(code, error_buffer, config_, request, timeout);
  }
  if (code != CURLE_OK && status == 0) {
    return TransportError(code, error_buffer, config_, request, timeout);
  }
  if (!IsSuccess(status)) {
    return ErrorFromResponse(status, exchange.body,
                             fmt::format("{} {}", request.method, request.path));
  }
  if (code != CURLE_OK) {
    // The stream broke after it started (the server went away): a transport
    // error, so that the caller reconnects.
    return TransportError(code, error_buffer, config_, request, timeout);
  }
  return {};
}

}  // namespace discoblocks::kube
