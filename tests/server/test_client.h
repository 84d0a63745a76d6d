// The client side of the server tests: libcurl for well-behaved clients, raw
// sockets for misbehaving ones, and a bare OpenSSL handshake to see which
// certificate and protocol versions the server offers.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace discoblocks::testing {

struct FetchOptions {
  std::string method = "GET";
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string ca_pem;                // for https: the certificates to trust
  long ssl_version = 0;              // CURLOPT_SSLVERSION; 0 = curl's default
  bool fresh_connection = false;     // a new connection, not kept afterwards
  std::chrono::milliseconds timeout{30000};
};

struct FetchResult {
  bool ok = false;    // a response was received
  std::string error;  // curl's reason when not ok
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  long new_connections = 0;                    // connections curl opened for this request
};

// One libcurl handle. It keeps its connection between calls, as a keep-alive
// client does.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  FetchResult Fetch(const std::string& url, const FetchOptions& options = {});

 private:
  void* curl_;
};

// A request on a connection of its own.
FetchResult Fetch(const std::string& url, const FetchOptions& options = {});

// A plain TCP connection to 127.0.0.1, for clients that break the rules.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view data) const;
  // One response: its head and, if it has a Content-Length, its body. Empty if
  // the connection closed or `timeout` passed first.
  std::string ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // What arrives up to and including `marker`; empty on close or timeout.
  std::string ReadUntil(std::string_view marker,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Discards what arrives until the server closes the connection (end of
  // stream or reset): true, or false if `timeout` passed first.
  bool WaitClosed(std::chrono::milliseconds timeout);

 private:
  // Appends what arrives within `timeout` to pending_; false on close or timeout.
  bool ReadMore(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string pending_;
};

// The leaf certificate (PEM) the TLS server on 127.0.0.1:port presents, or ""
// if the handshake fails.
std::string ServedCertificate(std::uint16_t port);

// Attempts a TLS handshake offering only `version` (TLS1_1_VERSION, ...), with
// every cipher the client library has. Returns "" on success, else why not.
std::string HandshakeError(std::uint16_t port, int version);

// A TLS 1.2 handshake offering only `ciphers` (an OpenSSL cipher list).
std::string Tls12HandshakeError(std::uint16_t port, const std::string& ciphers);

// True if the server's alert refused the protocol version (the refusal came
// from the server, not from our own client library).
bool IsProtocolVersionAlert(const std::string& handshake_error);

}  // namespace discoblocks::testing
