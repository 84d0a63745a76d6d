// Server TLS contexts built from PEM files, and their reloading when the files
// change on disk. Internal to src/server/.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "server/http_server.h"
#include "util/result.h"

namespace discoblocks::server::internal {

using SslContextPtr = std::shared_ptr<boost::asio::ssl::context>;

// A server context accepting TLS 1.2 and later only, with the certificate chain
// and key given as PEM text. Errors name the file (from `files`) at fault.
Result<SslContextPtr> BuildTlsContext(const TlsFiles& files, const std::string& certificate_pem,
                                      const std::string& private_key_pem);

// The current context for new connections. Check() re-reads the files and, when
// their bytes differ from the last ones tried, builds a new context. Comparing
// bytes rather than modification times catches every kind of replacement:
// cert-manager and the kubelet rotate Secrets by swapping a symlink to a new
// directory, which leaves the old files (and their times) untouched. A
// replacement that does not load leaves the previous context in place.
class CertificateStore {
 public:
  static Result<std::unique_ptr<CertificateStore>> Load(TlsFiles files);

  // Thread-safe. Connections keep the context they started with, so a reload
  // never disturbs a connection in progress.
  [[nodiscard]] SslContextPtr current() const;

  // Not thread-safe against itself: called from one timer.
  void Check();

  struct Counters {
    std::uint64_t reloads = 0;
    std::uint64_t failures = 0;
    std::string last_error;
  };
  [[nodiscard]] Counters counters() const;

 private:
  CertificateStore(TlsFiles files, std::string certificate_pem, std::string private_key_pem,
                   SslContextPtr context);
  void Fail(const std::string& message);

  const TlsFiles files_;
  // The bytes last tried, loaded or not: identical bytes would fail identically,
  // so a bad replacement is reported once and tried again only once it changes.
  std::string tried_certificate_;
  std::string tried_private_key_;
  std::string read_error_;  // of the last check, to report a missing file once

  mutable std::mutex mutex_;  // guards what follows
  SslContextPtr current_;
  Counters counters_;
};

}  // namespace discoblocks::server::internal
