#include "server/tls_context.h"

#include <exception>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "util/files.h"

namespace discoblocks::server::internal {
namespace {

// Mozilla's "intermediate" TLS 1.2 list, minus the finite-field DHE suites.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace ssl = boost::asio::ssl;

// A certificate chain or key is a few kilobytes; anything this large is not one.
constexpr std::size_t kMaxPemBytes = std::size_t{1} << 20;

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// The first error OpenSSL queued is the cause; the later ones are the layers
// that passed it up ("PEM lib").
std::string OpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", code);
}

BioPtr MemoryBio(const std::string& text) {
  return {BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free};
}

// Refuses to prompt for a passphrase on the terminal, as OpenSSL otherwise would.
int NoPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

// The leaf certificate, then any intermediates, as SSL_CTX_use_certificate_chain_file
// reads them, but from memory and with errors that say which certificate.
Status UseCertificateChain(SSL_CTX* context, const std::string& path, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, &NoPassphrase, nullptr), &X509_free);
  if (!leaf) {
    return MakeError(
        fmt::format("TLS certificate {}: no PEM certificate in it ({})", path, OpenSslReason()));
  }
  if (SSL_CTX_use_certificate(context, leaf.get()) != 1) {
    return MakeError(fmt::format("TLS certificate {}: {}", path, OpenSslReason()));
  }
  for (int index = 2;; ++index) {
    X509Ptr next(PEM_read_bio_X509(bio.get(), nullptr, &NoPassphrase, nullptr), &X509_free);
    if (!next) {
      const unsigned long error = ERR_peek_last_error();
      if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // the end of the file
        return {};
      }
      return MakeError(fmt::format("TLS certificate {}: certificate {} of the chain: {}", path,
                                   index, OpenSslReason()));
    }
    if (SSL_CTX_add1_chain_cert(context, next.get()) != 1) {
      return MakeError(fmt::format("TLS certificate {}: certificate {} of the chain: {}", path,
                                   index, OpenSslReason()));
    }
  }
}

struct Pem {
  std::string certificate;
  std::string private_key;
};

Result<Pem> ReadPem(const TlsFiles& files) {
  auto certificate = ReadFile(files.certificate, kMaxPemBytes);
  if (!certificate) return MakeError("TLS certificate: " + certificate.error().message);
  auto key = ReadFile(files.private_key, kMaxPemBytes);
  if (!key) return MakeError("TLS private key: " + key.error().message);
  return Pem{std::move(certificate).value(), std::move(key).value()};
}

}  // namespace

Result<SslContextPtr> BuildTlsContext(const TlsFiles& files, const std::string& certificate_pem,
                                      const std::string& private_key_pem) {
  const std::string cert_path = files.certificate.string();
  const std::string key_path = files.private_key.string();
  if (certificate_pem.empty())
    return MakeError(fmt::format("TLS certificate {}: is empty", cert_path));
  if (private_key_pem.empty())
    return MakeError(fmt::format("TLS private key {}: is empty", key_path));

  SslContextPtr context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return MakeError(fmt::format("cannot create a TLS context: {}", e.what()));
  }
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  // OpenSSL has deprecated the no_tlsv1* options in favour of a minimum
  // version; we set both, so that neither a library update nor the system
  // OpenSSL configuration can bring TLS 1.0 or 1.1 back.
  if (ec || SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return MakeError("cannot restrict the TLS context to TLS 1.2 and later");
  }
  // TLS 1.2: forward secrecy and AEAD only (no CBC, no static RSA key
  // exchange), whatever the system's OpenSSL configuration allows. Every
  // Kubernetes client (Go's crypto/tls) offers these. TLS 1.3 suites are all
  // AEAD and keep OpenSSL's defaults. Renegotiation is a way to make the
  // server do handshakes on demand; no client of ours needs it.
  SSL_CTX_set_options(context->native_handle(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(context->native_handle(), kTls12Ciphers) != 1) {
    return MakeError(fmt::format("cannot set the TLS 1.2 ciphers: {}", OpenSslReason()));
  }

  ERR_clear_error();
  if (auto chain = UseCertificateChain(context->native_handle(), cert_path, certificate_pem);
      !chain) {
    return chain.error();
  }
  BioPtr bio = MemoryBio(private_key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr), &EVP_PKEY_free);
  if (!key) {
    return MakeError(fmt::format("TLS private key {}: no unencrypted PEM private key in it ({})",
                                 key_path, OpenSslReason()));
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(context->native_handle()), key.get()) != 1) {
    ERR_clear_error();
    return MakeError(
        fmt::format("TLS private key {} does not match the certificate {}", key_path, cert_path));
  }
  if (SSL_CTX_use_PrivateKey(context->native_handle(), key.get()) != 1) {
    return MakeError(fmt::format("TLS private key {}: {}", key_path, OpenSslReason()));
  }
  return context;
}

Result<std::unique_ptr<CertificateStore>> CertificateStore::Load(TlsFiles files) {
  auto pem = ReadPem(files);
  if (!pem) return pem.error();
  auto context = BuildTlsContext(files, pem->certificate, pem->private_key);
  if (!context) return context.error();
  return std::unique_ptr<CertificateStore>(
      new CertificateStore(std::move(files), std::move(pem->certificate),
                           std::move(pem->private_key), std::move(context).value()));
}

CertificateStore::CertificateStore(TlsFiles files, std::string certificate_pem,
                                   std::string private_key_pem, SslContextPtr context)
    : files_(std::move(files)),
      tried_certificate_(std::move(certificate_pem)),
      tried_private_key_(std::move(private_key_pem)),
      current_(std::move(context)) {}

SslContextPtr CertificateStore::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

CertificateStore::Counters CertificateStore::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void CertificateStore::Fail(const std::string& message) {
  spdlog::warn("http server: TLS certificate reload failed, still serving the previous one: {}",
               message);
  std::lock_guard lock(mutex_);
  ++counters_.failures;
  counters_.last_error = message;
}

void CertificateStore::Check() {
  auto pem = ReadPem(files_);
  if (!pem) {
    // A file may be missing for a moment during a rotation; report each new
    // reason once rather than at every check.
    if (pem.error().message != read_error_) {
      read_error_ = pem.error().message;
      Fail(read_error_);
    }
    return;
  }
  read_error_.clear();
  if (pem->certificate == tried_certificate_ && pem->private_key == tried_private_key_) return;

  auto context = BuildTlsContext(files_, pem->certificate, pem->private_key);
  if (!context) {
    // The two files are read one after the other: a rotation between the reads
    // pairs a new certificate with an old key. If the files moved on while we
    // read them, try again at the next check instead of reporting a failure.
    auto again = ReadPem(files_);
    if (!again || again->certificate != pem->certificate ||
        again->private_key != pem->private_key) {
      spdlog::debug("http server: TLS files changed while being read; retrying at the next check");
      return;
    }
    tried_certificate_ = std::move(pem->certificate);
    tried_private_key_ = std::move(pem->private_key);
    Fail(context.error().message);
    return;
  }
  tried_certificate_ = std::move(pem->certificate);
  tried_private_key_ = std::move(pem->private_key);
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(context).value();
    ++counters_.reloads;
  }
  spdlog::debug("http server: reloaded the TLS certificate from {}", files_.certificate.string());
}

}  // namespace discoblocks::server::internal
