// When a CA is configured (kubeconfig certificate-authority(-data), in-cluster
// ca.crt), it is the only one trusted: a server whose certificate comes from a
// CA the machine trusts, but not from the configured one, is refused.
//
// libcurl also loads its built-in CA directory and bundle (Debian:
// /etc/ssl/certs) unless told not to. To put a CA of the test's own there
// without touching the machine, the requests run on a thread with a private
// mount namespace in which that directory is a temporary one. That needs
// CAP_SYS_ADMIN (root, or root in a user namespace); without it the test is
// skipped and says why.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kube/client.h"
#include "support/fake_http_server.h"
#include "support/test_certs.h"
#include "support/test_support.h"

namespace discoblocks::kube {
namespace {

using testing::FakeHttpServer;
using testing::KeyPair;

// The name OpenSSL looks a CA up by in a hashed directory ("1a2b3c4d.0").
std::string HashedName(const std::string& certificate_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  return fmt::format("{:08x}.0", X509_subject_name_hash(cert.get()));
}

void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Runs `body` on a thread of its own that sees `system_ca` as the only CA of
// libcurl's built-in CA directory and bundle. Returns why not when this
// process may not make itself a mount namespace; an empty string when it ran.
std::string WithSystemCa(const KeyPair& system_ca, const std::function<void()>& body) {
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  if (curl->capath == nullptr && curl->cainfo == nullptr) {
    return "this libcurl has no built-in CA path or bundle";
  }
  testing::TempDir certs;
  WriteText(certs.path() / HashedName(system_ca.certificate_pem), system_ca.certificate_pem);
  // The bundle keeps its name when it lies in the directory (Debian's
  // ca-certificates.crt); elsewhere it is mounted over on its own.
  const std::filesystem::path bundle = curl->cainfo != nullptr ? curl->cainfo : "";
  const bool bundle_inside = curl->capath != nullptr && bundle.parent_path() == curl->capath;
  WriteText(certs.path() / (bundle_inside ? bundle.filename() : "bundle.pem"),
            system_ca.certificate_pem);
  std::string refused;
  std::thread thread([&] {
    // Only this thread enters the new namespace; mounts in it are private, so
    // that nothing propagates back to the machine's.
    auto mount_over = [&](const std::filesystem::path& source, const char* target) {
      if (target == nullptr || !std::filesystem::exists(target)) return true;
      if (::mount(source.c_str(), target, nullptr, MS_BIND, nullptr) == 0) return true;
      refused =
          fmt::format("cannot mount over {}: {}", target, std::generic_category().message(errno));
      return false;
    };
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      refused =
          fmt::format("no private mount namespace: {}", std::generic_category().message(errno));
      return;
    }
    if ((!bundle_inside && !mount_over(certs.path() / "bundle.pem", curl->cainfo)) ||
        !mount_over(certs.path(), curl->capath)) {
      return;
    }
    body();
  });
  thread.join();
  return refused;
}

std::shared_ptr<Client> ClientTrusting(const FakeHttpServer& server, const std::string& ca_pem) {
  ClientConfig config;
  config.server = server.url();
  config.ca_pem = ca_pem;
  config.request_timeout = std::chrono::milliseconds(5000);
  return std::move(Client::Create(config)).value();
}

TEST(TransportTrustTest, OnlyTheConfiguredCaIsTrusted) {
  const KeyPair system_ca = testing::ServerCertificate("discoblocks test system CA");
  const KeyPair configured_ca = testing::ServerCertificate("discoblocks test configured CA");
  FakeHttpServer::Options options;
  options.tls = testing::IssueCertificate("discoblocks test server", system_ca);
  FakeHttpServer server(
      [](const std::string&) { return FakeHttpServer::Response(200, R"({"kind":"ConfigMap"})"); },
      options);

  const std::string refused = WithSystemCa(system_ca, [&] {
    // No CA configured: the system's are trusted. This shows that the test
    // did make its CA one of the system's.
    auto with_system_cas = ClientTrusting(server, "")->Get(resources::kConfigMaps, "default", "x");
    ASSERT_TRUE(with_system_cas.ok()) << with_system_cas.error().message;

    // The configured CA did not issue the server's certificate; that the
    // system trusts its issuer does not matter.
    auto refused_answer = ClientTrusting(server, configured_ca.certificate_pem)
                              ->Get(resources::kConfigMaps, "default", "x");
    ASSERT_FALSE(refused_answer.ok());
    EXPECT_EQ(refused_answer.error().kind, ErrorKind::kTransport);
    EXPECT_NE(refused_answer.error().message.find("certificate"), std::string::npos)
        << refused_answer.error().message;

    // The configured CA is trusted when it is the issuer.
    auto trusted = ClientTrusting(server, system_ca.certificate_pem)
                       ->Get(resources::kConfigMaps, "default", "x");
    EXPECT_TRUE(trusted.ok()) << trusted.error().message;
  });
  if (!refused.empty()) GTEST_SKIP() << refused;
  EXPECT_EQ(server.requests(), 2);  // the refused client never sent its request
}

}  // namespace
}  // namespace discoblocks::kube
