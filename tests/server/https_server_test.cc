// The HTTP server over TLS: protocol versions, certificate rotation while
// serving, broken replacements, stalled handshakes.
#include <openssl/ssl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "server/http_server.h"
#include "server/test_client.h"
#include "server/tls_context.h"
#include "support/test_certs.h"
#include "support/test_support.h"

namespace discoblocks::server {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::Fetch;
using testing::FetchOptions;
using testing::KeyPair;
using testing::ServedCertificate;
using testing::ServerCertificate;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// As a rotation does it: written aside, then renamed over the old file.
void Replace(const fs::path& path, const std::string& content) {
  const fs::path aside = path.string() + ".new";
  WriteFile(aside, content);
  fs::rename(aside, path);
}

HttpResponse Ok(const HttpRequest& /*request*/) {
  HttpResponse response;
  response.body = R"({"ok":true})";
  return response;
}

// Polls `condition` until it holds or 30 seconds pass.
template <class Condition>
bool Eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_.certificate = dir_.path() / "tls.crt";
    files_.private_key = dir_.path() / "tls.key";
  }

  void Install(const KeyPair& pair) const {
    WriteFile(files_.certificate, pair.certificate_pem);
    WriteFile(files_.private_key, pair.private_key_pem);
  }

  Result<std::unique_ptr<HttpServer>> Start(std::chrono::milliseconds request_timeout = 10s) {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.threads = 2;
    options.tls = files_;
    options.request_timeout = request_timeout;
    options.certificate_check_interval = 50ms;
    return HttpServer::Start(options, Ok);
  }

  static std::string Url(const HttpServer& server) {
    return "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  }

  static FetchOptions Trusting(const std::string& ca_pem, bool fresh = true) {
    FetchOptions options;
    options.ca_pem = ca_pem;
    options.fresh_connection = fresh;
    return options;
  }

  testing::TempDir dir_;
  TlsFiles files_;
};

TEST_F(HttpsServerTest, ServesTls12AndLaterOnly) {
  const KeyPair pair = ServerCertificate("server-a");
  Install(pair);
  auto server = Start();
  ASSERT_TRUE(server.ok()) << server.error().message;
  const std::uint16_t port = (*server)->port();

  auto result = Fetch(Url(**server), Trusting(pair.certificate_pem));
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 200);
  FetchOptions tls12 = Trusting(pair.certificate_pem);
  // TLS 1.2 as both minimum and maximum (CURL_SSLVERSION_MAX_TLSv1_2 is the
  // same value shifted, written out to keep the enum arithmetic warning away).
  const long tls12_only = static_cast<long>(CURL_SSLVERSION_TLSv1_2);
  tls12.ssl_version = tls12_only | (tls12_only << 16);
  result = Fetch(Url(**server), tls12);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(ServedCertificate(port), pair.certificate_pem);

  EXPECT_EQ(testing::HandshakeError(port, TLS1_2_VERSION), "");
  EXPECT_EQ(testing::HandshakeError(port, TLS1_3_VERSION), "");
  for (int old : {TLS1_1_VERSION, TLS1_VERSION}) {
    const std::string error = testing::HandshakeError(port, old);
    EXPECT_TRUE(testing::IsProtocolVersionAlert(error)) << "version " << old << ": " << error;
  }
  // The refusal is ours, not only the system OpenSSL configuration's.
  auto context = internal::BuildTlsContext(files_, pair.certificate_pem, pair.private_key_pem);
  ASSERT_TRUE(context.ok()) << context.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*context)->native_handle()), TLS1_2_VERSION);
}

TEST_F(HttpsServerTest, OffersOnlyForwardSecretAeadCiphersAndNoRenegotiation) {
  const KeyPair pair = ServerCertificate("server-a");
  Install(pair);
  auto server = Start();
  ASSERT_TRUE(server.ok()) << server.error().message;
  const std::uint16_t port = (*server)->port();
  // What the API server's Go client offers first (the test key is ECDSA).
  EXPECT_EQ(testing::Tls12HandshakeError(port, "ECDHE-ECDSA-AES128-GCM-SHA256"), "");
  EXPECT_EQ(testing::Tls12HandshakeError(port, "ECDHE-ECDSA-CHACHA20-POLY1305"), "");
  // CBC modes are not offered, even where the system's OpenSSL configuration
  // would allow them.
  for (const char* weak :
       {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
        "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-CCM8"}) {
    EXPECT_NE(testing::Tls12HandshakeError(port, weak), "") << weak;
  }
  auto context = internal::BuildTlsContext(files_, pair.certificate_pem, pair.private_key_pem);
  ASSERT_TRUE(context.ok()) << context.error().message;
  EXPECT_NE(SSL_CTX_get_options((*context)->native_handle()) & SSL_OP_NO_RENEGOTIATION, 0U);
}

TEST_F(HttpsServerTest, SendsTheWholeCertificateChain) {
  // Clients trust the root only: the intermediate must come from the server.
  const KeyPair root = ServerCertificate("chain-root");
  const KeyPair intermediate = testing::IssueCertificate("chain-intermediate", root);
  const KeyPair leaf = testing::IssueCertificate("chain-leaf", intermediate);
  Install({leaf.certificate_pem + intermediate.certificate_pem, leaf.private_key_pem});
  auto server = Start();
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto result = Fetch(Url(**server), Trusting(root.certificate_pem));
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(ServedCertificate((*server)->port()), leaf.certificate_pem);
}

TEST_F(HttpsServerTest, RotatesTheCertificateWithoutFailingARequest) {
  const KeyPair old_pair = ServerCertificate("rotation-old");
  const KeyPair new_pair = ServerCertificate("rotation-new");
  Install(old_pair);
  auto started = Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  HttpServer& server = **started;

  // A keep-alive connection made before the rotation keeps its certificate.
  testing::HttpClient kept;
  auto before = kept.Fetch(Url(server), Trusting(old_pair.certificate_pem, /*fresh=*/false));
  ASSERT_TRUE(before.ok) << before.error;

  std::atomic<bool> stop{false};
  std::atomic<int> succeeded{0};
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::thread client([&] {
    const FetchOptions both = Trusting(old_pair.certificate_pem + new_pair.certificate_pem);
    while (!stop) {
      auto result = Fetch(Url(server), both);
      if (result.ok && result.status == 200) {
        ++succeeded;
      } else {
        std::lock_guard lock(failures_mutex);
        failures.push_back(result.ok ? "status " + std::to_string(result.status) : result.error);
      }
    }
  });
  EXPECT_TRUE(Eventually([&] { return succeeded >= 5; }));
  Replace(files_.private_key, new_pair.private_key_pem);
  Replace(files_.certificate, new_pair.certificate_pem);
  EXPECT_TRUE(
      Eventually([&] { return ServedCertificate(server.port()) == new_pair.certificate_pem; }));
  const int at_reload = succeeded;
  EXPECT_TRUE(Eventually([&] { return succeeded >= at_reload + 5; }));
  stop = true;
  client.join();
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  EXPECT_GE(server.stats().certificate_reloads, 1U);

  // New connections get the new certificate, and only it.
  auto with_new = Fetch(Url(server), Trusting(new_pair.certificate_pem));
  EXPECT_TRUE(with_new.ok) << with_new.error;
  EXPECT_FALSE(Fetch(Url(server), Trusting(old_pair.certificate_pem)).ok);
  auto after = kept.Fetch(Url(server), Trusting(old_pair.certificate_pem, /*fresh=*/false));
  ASSERT_TRUE(after.ok) << after.error;
  EXPECT_EQ(after.new_connections, 0) << "the old connection should have been kept";
}

TEST_F(HttpsServerTest, KeepsServingWhenAReplacementDoesNotLoad) {
  const KeyPair first = ServerCertificate("broken-first");
  const KeyPair second = ServerCertificate("broken-second");
  Install(first);
  auto started = Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  HttpServer& server = **started;

  Replace(files_.certificate, "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
  ASSERT_TRUE(Eventually([&] { return server.stats().certificate_reload_failures >= 1; }));
  auto stats = server.stats();
  EXPECT_TRUE(Contains(stats.last_certificate_error, files_.certificate.string()))
      << stats.last_certificate_error;
  EXPECT_EQ(stats.certificate_reloads, 0U);
  EXPECT_EQ(ServedCertificate(server.port()), first.certificate_pem);
  auto result = Fetch(Url(server), Trusting(first.certificate_pem));
  EXPECT_TRUE(result.ok) << result.error;
  // Reported once, not at every check.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.stats().certificate_reload_failures, 1U);

  // A certificate without its key does not load either.
  Replace(files_.certificate, second.certificate_pem);
  ASSERT_TRUE(Eventually([&] { return server.stats().certificate_reload_failures >= 2; }));
  EXPECT_TRUE(Contains(server.stats().last_certificate_error, "does not match"))
      << server.stats().last_certificate_error;
  EXPECT_EQ(ServedCertificate(server.port()), first.certificate_pem);

  // Once the key arrives, the pair loads.
  Replace(files_.private_key, second.private_key_pem);
  EXPECT_TRUE(
      Eventually([&] { return ServedCertificate(server.port()) == second.certificate_pem; }));
  EXPECT_EQ(server.stats().certificate_reloads, 1U);
}

TEST_F(HttpsServerTest, FollowsASecretVolumeSymlinkSwap) {
  // The kubelet's layout: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/,
  // and an update swaps the ..data symlink to a new directory.
  const KeyPair first = ServerCertificate("volume-first");
  const KeyPair second = ServerCertificate("volume-second");
  const fs::path root = dir_.path();
  fs::create_directory(root / "..v1");
  WriteFile(root / "..v1" / "tls.crt", first.certificate_pem);
  WriteFile(root / "..v1" / "tls.key", first.private_key_pem);
  fs::create_directory_symlink("..v1", root / "..data");
  fs::create_symlink("..data/tls.crt", root / "tls.crt");
  fs::create_symlink("..data/tls.key", root / "tls.key");
  auto started = Start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  HttpServer& server = **started;
  EXPECT_EQ(ServedCertificate(server.port()), first.certificate_pem);

  fs::create_directory(root / "..v2");
  WriteFile(root / "..v2" / "tls.crt", second.certificate_pem);
  WriteFile(root / "..v2" / "tls.key", second.private_key_pem);
  fs::create_directory_symlink("..v2", root / "..data_tmp");
  fs::rename(root / "..data_tmp", root / "..data");
  fs::remove_all(root / "..v1");
  EXPECT_TRUE(
      Eventually([&] { return ServedCertificate(server.port()) == second.certificate_pem; }));
  EXPECT_EQ(server.stats().certificate_reload_failures, 0U);
}

TEST_F(HttpsServerTest, CutsOffAHandshakeThatNeverCompletes) {
  const KeyPair pair = ServerCertificate("stall");
  Install(pair);
  auto started = Start(/*request_timeout=*/300ms);
  ASSERT_TRUE(started.ok()) << started.error().message;
  HttpServer& server = **started;
  testing::RawSocket silent(server.port());
  testing::RawSocket partial(server.port());
  ASSERT_TRUE(silent.connected());
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  for (int i = 0; i < 3; ++i) {
    auto result = Fetch(Url(server), Trusting(pair.certificate_pem));
    ASSERT_TRUE(result.ok) << result.error;
  }
  EXPECT_TRUE(silent.WaitClosed(30s));
  EXPECT_TRUE(partial.WaitClosed(30s));
}

TEST_F(HttpsServerTest, ReportsUnusableFilesAtStart) {
  const KeyPair pair = ServerCertificate("start");
  const KeyPair other = ServerCertificate("start-other");
  auto missing = Start();
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.error().message, files_.certificate.string()))
      << missing.error().message;

  WriteFile(files_.certificate, "not a certificate");
  WriteFile(files_.private_key, pair.private_key_pem);
  auto garbage = Start();
  ASSERT_FALSE(garbage.ok());
  EXPECT_TRUE(Contains(garbage.error().message, files_.certificate.string()))
      << garbage.error().message;

  WriteFile(files_.certificate, pair.certificate_pem);
  WriteFile(files_.private_key, other.private_key_pem);
  auto mismatched = Start();
  ASSERT_FALSE(mismatched.ok());
  EXPECT_TRUE(Contains(mismatched.error().message, "does not match")) << mismatched.error().message;
}

}  // namespace
}  // namespace discoblocks::server
