#include "server/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <mutex>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

namespace discoblocks::testing {
namespace {

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string Trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  std::size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start])) != 0) ++start;
  return text.substr(start);
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    (*headers)[Lower(line.substr(0, colon))] = Trim(line.substr(colon + 1));
  }
  return size * count;
}

int ConnectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SslPtr = std::unique_ptr<SSL, decltype(&SSL_free)>;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "handshake failed";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Runs `use` on a TLS connection to the server, the handshake done; returns
// the handshake's error, or "".
template <class Use>
std::string WithTls(std::uint16_t port, int version, Use use,
                    const char* tls12_ciphers = "ALL:@SECLEVEL=0") {
  SslCtxPtr context(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!context) return "cannot create a TLS client context";
  if (version != 0) {
    // Allows what OpenSSL's defaults forbid, so that only the server can refuse.
    SSL_CTX_set_security_level(context.get(), 0);
    if (SSL_CTX_set_cipher_list(context.get(), tls12_ciphers) != 1) return "unknown ciphers";
    SSL_CTX_set_min_proto_version(context.get(), version);
    SSL_CTX_set_max_proto_version(context.get(), version);
  }
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "cannot connect";
  SslPtr ssl(SSL_new(context.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  std::string error;
  if (SSL_connect(ssl.get()) == 1) {
    use(ssl.get());
    SSL_shutdown(ssl.get());
  } else {
    error = OpenSslError();
  }
  ssl.reset();
  ::close(fd);
  return error;
}

}  // namespace

HttpClient::HttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

FetchResult HttpClient::Fetch(const std::string& url, const FetchOptions& options) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  FetchResult result;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, options.method.c_str());
  if (!options.body.empty() || options.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, options.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(options.body.size()));
  }
  if (options.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_slist* headers = nullptr;
  for (const auto& header : options.headers) headers = curl_slist_append(headers, header.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_blob ca{};
  if (!options.ca_pem.empty()) {
    ca.data = const_cast<char*>(options.ca_pem.data());
    ca.len = options.ca_pem.size();
    ca.flags = CURL_BLOB_COPY;
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (options.ssl_version != 0) curl_easy_setopt(curl, CURLOPT_SSLVERSION, options.ssl_version);
  if (options.fresh_connection) {
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  }
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  result.ok = code == CURLE_OK;
  if (!result.ok) result.error = error[0] != '\0' ? error : curl_easy_strerror(code);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &result.new_connections);
  return result;
}

FetchResult Fetch(const std::string& url, const FetchOptions& options) {
  HttpClient client;
  return client.Fetch(url, options);
}

RawSocket::RawSocket(std::uint16_t port) : fd_(ConnectLoopback(port)) {}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::Send(std::string_view data) const {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawSocket::ReadMore(std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd descriptor{fd_, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

std::string RawSocket::ReadResponse(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end_of_head;
  while ((end_of_head = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!ReadMore(deadline)) return "";
  }
  end_of_head += 4;
  std::size_t length = 0;
  const std::string head = Lower(pending_.substr(0, end_of_head));
  const auto field = head.find("\r\ncontent-length:");
  if (field != std::string::npos) {
    length = std::stoul(head.substr(field + std::string("\r\ncontent-length:").size()));
  }
  while (pending_.size() < end_of_head + length) {
    if (!ReadMore(deadline)) return "";
  }
  std::string response = pending_.substr(0, end_of_head + length);
  pending_.erase(0, end_of_head + length);
  return response;
}

std::string RawSocket::ReadUntil(std::string_view marker, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t found;
  while ((found = pending_.find(marker)) == std::string::npos) {
    if (!ReadMore(deadline)) return "";
  }
  std::string received = pending_.substr(0, found + marker.size());
  pending_.erase(0, found + marker.size());
  return received;
}

bool RawSocket::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd descriptor{fd_, POLLIN, 0};
    const int ready = ::poll(&descriptor, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
  }
}

std::string ServedCertificate(std::uint16_t port) {
  std::string pem;
  WithTls(port, 0, [&](SSL* ssl) {
    X509* certificate = SSL_get1_peer_certificate(ssl);
    if (certificate == nullptr) return;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_X509(bio.get(), certificate);
    X509_free(certificate);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    pem.assign(data, static_cast<std::size_t>(length));
  });
  return pem;
}

std::string HandshakeError(std::uint16_t port, int version) {
  return WithTls(port, version, [](SSL*) {});
}

std::string Tls12HandshakeError(std::uint16_t port, const std::string& ciphers) {
  return WithTls(
      port, TLS1_2_VERSION, [](SSL*) {}, ciphers.c_str());
}

bool IsProtocolVersionAlert(const std::string& handshake_error) {
  return handshake_error.find("alert protocol version") != std::string::npos;
}

}  // namespace discoblocks::testing
