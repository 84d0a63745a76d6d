// KubeletStatsClient against fake kubelets: HTTPS servers on 127.0.0.1 with a
// test CA, one per simulated node, each answering as told.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kube/kubelet_stats.h"
#include "support/fake_http_server.h"
#include "support/test_certs.h"
#include "util/metrics.h"

namespace discoblocks::kube {
namespace {

using nlohmann::json;
using testing::FakeHttpServer;
using testing::KeyPair;
using Clock = std::chrono::steady_clock;

// A directory of its own for a test's files (this binary does without the
// test support library, which would bring the drivers and the engine along).
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kubelet-stats-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string GoodSummary(const std::string& pvc) {
  json volume = {{"name", "data"},
                 {"pvcRef", {{"name", pvc}, {"namespace", "apps"}}},
                 {"time", "2026-11-30T01:00:00Z"},
                 {"capacityBytes", 1073741824},
                 {"availableBytes", 234881024},
                 {"usedBytes", 838860800}};
  json secret = {{"name", "token"}, {"capacityBytes", 1}, {"usedBytes", 1}};
  return json{{"node", {{"nodeName", "n"}}},
              {"pods",
               {{{"podRef", {{"name", "web-0"}, {"namespace", "apps"}, {"uid", "u-1"}}},
                 {"containers", {{{"name", "app"}, {"cpu", {{"usageNanoCores", 5}}}}}},
                 {"volume", {secret, volume}}}}}}
      .dump();
}

int PortOf(const FakeHttpServer& server) {
  const std::string url = server.url();
  return std::stoi(url.substr(url.rfind(':') + 1));
}

KubeletTarget TargetOf(const std::string& node, const FakeHttpServer& server) {
  return {node, "127.0.0.1", PortOf(server)};
}

class KubeletStatsTest : public ::testing::Test {
 protected:
  KubeletStatsTest() : cert_(testing::ServerCertificate("fake-kubelet")) {
    WriteTextFile(dir_.path() / "ca.crt", cert_.certificate_pem);
    WriteTextFile(dir_.path() / "token", "token-one\n");
  }

  // A fake kubelet answering every request with `response`.
  std::unique_ptr<FakeHttpServer> Kubelet(const std::string& response) {
    return Kubelet([response](const std::string&) { return response; });
  }
  std::unique_ptr<FakeHttpServer> Kubelet(FakeHttpServer::Handler handler) {
    FakeHttpServer::Options options;
    options.tls = cert_;
    return std::make_unique<FakeHttpServer>(std::move(handler), options);
  }

  KubeletStatsClient::Options Options() const {
    KubeletStatsClient::Options options;
    options.ca_file = dir_.path() / "ca.crt";
    options.token_file = dir_.path() / "token";
    options.timeout = std::chrono::milliseconds(5000);
    return options;
  }

  std::unique_ptr<KubeletStatsClient> Client(const KubeletStatsClient::Options& options) {
    auto client = KubeletStatsClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.error().message;
    return client.ok() ? std::move(client).value() : nullptr;
  }

  // Scrapes one node and expects an error of `kind`; returns its message.
  std::string ExpectError(const FakeHttpServer& server, ScrapeErrorKind kind,
                          const KubeletStatsClient::Options& options) {
    auto client = Client(options);
    if (client == nullptr) return "";
    auto results = client->Scrape({TargetOf("node-x", server)});
    EXPECT_EQ(results.size(), 1u);
    if (results.empty()) return "";
    if (results[0].summary.ok()) {
      ADD_FAILURE() << "expected " << ScrapeErrorReason(kind) << ", got a summary";
      return "";
    }
    EXPECT_EQ(results[0].summary.error().kind, kind) << results[0].summary.error().message;
    EXPECT_NE(results[0].summary.error().message.find("node-x"), std::string::npos);
    return results[0].summary.error().message;
  }
  std::string ExpectError(const FakeHttpServer& server, ScrapeErrorKind kind) {
    return ExpectError(server, kind, Options());
  }

  KeyPair cert_;
  TempDir dir_;
};

TEST_F(KubeletStatsTest, ReadsTheVolumesOfEveryNodeInOrder) {
  auto one = Kubelet(FakeHttpServer::Response(200, GoodSummary("pvc-one")));
  auto two = Kubelet(FakeHttpServer::Response(200, GoodSummary("pvc-two")));
  auto client = Client(Options());
  ASSERT_NE(client, nullptr);
  auto results = client->Scrape({TargetOf("node-1", *one), TargetOf("node-2", *two)});
  ASSERT_EQ(results.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(results[i].summary.ok()) << results[i].summary.error().message;
    ASSERT_EQ(results[i].summary->volumes.size(), 1u);  // the secret volume has no pvcRef
    EXPECT_GT(results[i].duration.count(), 0);
  }
  EXPECT_EQ(results[0].target.node, "node-1");
  const VolumeUsage& usage = results[0].summary->volumes[0];
  EXPECT_EQ(usage.pvc_name, "pvc-one");
  EXPECT_EQ(usage.pod_name, "web-0");
  EXPECT_EQ(usage.used_bytes, 838860800u);
  EXPECT_EQ(usage.available_bytes, 234881024u);
  EXPECT_EQ(results[1].summary->volumes[0].pvc_name, "pvc-two");
  // It asked for the summary, with the token.
  const std::string head = one->last_request_head();
  EXPECT_EQ(head.substr(0, head.find("\r\n")), "GET /stats/summary HTTP/1.1");
  EXPECT_NE(head.find("Authorization: Bearer token-one\r\n"), std::string::npos) << head;
}

TEST_F(KubeletStatsTest, NoTargetsNoRequests) {
  auto client = Client(Options());
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->Scrape({}).empty());
}

TEST_F(KubeletStatsTest, Unauthorized401SaysToken) {
  auto kubelet = Kubelet(FakeHttpServer::Response(401, "Unauthorized"));
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kUnauthorized);
  EXPECT_NE(message.find("did not accept the bearer token"), std::string::npos) << message;
}

TEST_F(KubeletStatsTest, Forbidden403SaysNodesStats) {
  auto kubelet = Kubelet(FakeHttpServer::Response(
      403,
      "Forbidden (user=system:serviceaccount:x:y, verb=get, resource=nodes, "
      "subresource=stats)"));
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kForbidden);
  EXPECT_NE(message.find("no permission to get nodes/stats"), std::string::npos) << message;
  EXPECT_NE(message.find("subresource=stats"), std::string::npos) << message;
}

TEST_F(KubeletStatsTest, OtherStatusesAreHttpErrors) {
  auto kubelet = Kubelet(FakeHttpServer::Response(503, "\x01 overloaded"));
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kHttpStatus);
  EXPECT_NE(message.find("HTTP status 503 (  overloaded)"), std::string::npos) << message;
}

TEST_F(KubeletStatsTest, ConnectionRefused) {
  FakeHttpServer::Options options;
  options.refuse_until_listen = true;
  FakeHttpServer closed([](const std::string&) { return std::string(); }, options);
  const std::string message = ExpectError(closed, ScrapeErrorKind::kConnect);
  EXPECT_NE(message.find("cannot connect"), std::string::npos) << message;
}

TEST_F(KubeletStatsTest, ASilentKubeletCostsOnlyItsOwnTimeout) {
  auto silent = Kubelet(std::string());  // reads the request, never answers
  auto one = Kubelet(FakeHttpServer::Response(200, GoodSummary("a")));
  auto two = Kubelet(FakeHttpServer::Response(200, GoodSummary("b")));
  KubeletStatsClient::Options options = Options();
  options.timeout = std::chrono::milliseconds(1500);
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  auto results = client->Scrape(
      {TargetOf("silent", *silent), TargetOf("node-1", *one), TargetOf("node-2", *two)});
  const auto wall = Clock::now() - start;
  ASSERT_EQ(results.size(), 3u);
  ASSERT_FALSE(results[0].summary.ok());
  EXPECT_EQ(results[0].summary.error().kind, ScrapeErrorKind::kTimeout)
      << results[0].summary.error().message;
  EXPECT_NE(results[0].summary.error().message.find("within 1500 ms"), std::string::npos);
  EXPECT_GE(results[0].duration, std::chrono::milliseconds(1400));
  for (std::size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(results[i].summary.ok()) << results[i].summary.error().message;
    // Done while the silent one was still pending, not after it.
    EXPECT_LT(results[i].duration, std::chrono::milliseconds(1400));
  }
  // Bounded by the one timeout, not the sum.
  EXPECT_LT(wall, std::chrono::milliseconds(1500 + 1500));
}

TEST_F(KubeletStatsTest, GarbageIsUnparsable) {
  auto kubelet = Kubelet(FakeHttpServer::Response(200, "<html>hello</html>"));
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kUnparsable);
  EXPECT_NE(message.find("not a stats summary: not valid JSON at byte 1"), std::string::npos)
      << message;
}

TEST_F(KubeletStatsTest, WrongTypesAreUnparsableOrSkipped) {
  auto wrong = Kubelet(FakeHttpServer::Response(200, R"({"pods":{"a":1}})"));
  EXPECT_NE(ExpectError(*wrong, ScrapeErrorKind::kUnparsable)
                .find("pods: expected an array, got an object"),
            std::string::npos);
  auto skipped = Kubelet(FakeHttpServer::Response(
      200, R"({"pods":[{"podRef":{"name":"a","namespace":"b"},"volume":[)"
           R"({"name":"d","pvcRef":{"name":"p","namespace":"b"},"usedBytes":"1Gi"}]}]})"));
  auto client = Client(Options());
  ASSERT_NE(client, nullptr);
  auto results = client->Scrape({TargetOf("n", *skipped)});
  ASSERT_TRUE(results[0].summary.ok()) << results[0].summary.error().message;
  EXPECT_TRUE(results[0].summary->volumes.empty());
  ASSERT_EQ(results[0].summary->skipped.size(), 1u);
  EXPECT_EQ(results[0].summary->skipped[0],
            "pods[0].volume[0].usedBytes: expected a non-negative integer, got a string");
}

TEST_F(KubeletStatsTest, AHugeBodyIsRefused) {
  // Announced: refused from the header. Chunked (no length): refused at the cap.
  const std::string big(2 << 20, ' ');
  auto announced = Kubelet(FakeHttpServer::Response(200, big));
  auto chunked = Kubelet([&big](const std::string&) {
    std::string response = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
    return response + big;  // no Content-Length: read until the end
  });
  KubeletStatsClient::Options options = Options();
  options.max_body_bytes = 1 << 20;
  for (const FakeHttpServer* server : {announced.get(), chunked.get()}) {
    const std::string message = ExpectError(*server, ScrapeErrorKind::kBodyTooLarge, options);
    EXPECT_NE(message.find("answer larger than 1048576 bytes"), std::string::npos) << message;
  }
}

TEST_F(KubeletStatsTest, DeepNestingIsRefused) {
  const std::string deep =
      R"({"pods":[{"volume":[{"x":)" + std::string(5000, '[') + std::string(5000, ']') + "}]}]}";
  auto kubelet = Kubelet(FakeHttpServer::Response(200, deep));
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kUnparsable);
  EXPECT_NE(message.find("nests deeper than 32 levels"), std::string::npos) << message;
}

TEST_F(KubeletStatsTest, AnUntrustedCertificateIsATlsErrorUnlessInsecure) {
  auto kubelet = Kubelet(FakeHttpServer::Response(200, GoodSummary("p")));
  KubeletStatsClient::Options options = Options();
  WriteTextFile(dir_.path() / "other-ca.crt",
                testing::ServerCertificate("another-ca").certificate_pem);
  options.ca_file = dir_.path() / "other-ca.crt";
  const std::string message = ExpectError(*kubelet, ScrapeErrorKind::kTls, options);
  EXPECT_NE(message.find("TLS: "), std::string::npos) << message;

  options.insecure_skip_verify = true;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  auto results = client->Scrape({TargetOf("n", *kubelet)});
  ASSERT_TRUE(results[0].summary.ok()) << results[0].summary.error().message;
  EXPECT_EQ(results[0].summary->volumes.size(), 1u);
}

TEST_F(KubeletStatsTest, TheTokenFileIsReadAgainAtEveryScrape) {
  auto kubelet = Kubelet(FakeHttpServer::Response(200, GoodSummary("p")));
  auto client = Client(Options());
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Scrape({TargetOf("n", *kubelet)})[0].summary.ok());
  EXPECT_NE(kubelet->last_request_head().find("Bearer token-one\r\n"), std::string::npos);
  WriteTextFile(dir_.path() / "token", "token-two");
  ASSERT_TRUE(client->Scrape({TargetOf("n", *kubelet)})[0].summary.ok());
  EXPECT_NE(kubelet->last_request_head().find("Bearer token-two\r\n"), std::string::npos)
      << kubelet->last_request_head();
  // A file gone missing (mid-rotation) keeps the last good token.
  std::filesystem::remove(dir_.path() / "token");
  ASSERT_TRUE(client->Scrape({TargetOf("n", *kubelet)})[0].summary.ok());
  EXPECT_NE(kubelet->last_request_head().find("Bearer token-two\r\n"), std::string::npos);
}

TEST_F(KubeletStatsTest, CreateNamesBadFiles) {
  KubeletStatsClient::Options options = Options();
  options.ca_file = dir_.path() / "missing.crt";
  auto client = KubeletStatsClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("kubelet CA file"), std::string::npos);
  EXPECT_NE(client.error().message.find("missing.crt"), std::string::npos);

  options = Options();
  WriteTextFile(dir_.path() / "not-pem", "hello");
  options.ca_file = dir_.path() / "not-pem";
  client = KubeletStatsClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("no PEM certificate"), std::string::npos);

  options = Options();
  options.token_file = dir_.path() / "no-token";
  client = KubeletStatsClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.error().message.find("kubelet token file"), std::string::npos);

  options = Options();
  options.concurrency = 0;
  EXPECT_FALSE(KubeletStatsClient::Create(options).ok());
}

TEST_F(KubeletStatsTest, MetricsPerNodeAndReason) {
  auto good = Kubelet(FakeHttpServer::Response(200, GoodSummary("p")));
  auto forbidden = Kubelet(FakeHttpServer::Response(403, "Forbidden"));
  metrics::Registry registry;
  KubeletStatsClient::Options options = Options();
  options.metrics = &registry;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  client->Scrape({TargetOf("good", *good), TargetOf("denied", *forbidden)});
  const std::string text = registry.Render();
  EXPECT_NE(text.find(R"(discoblocks_kubelet_scrape_duration_seconds_count{node="good"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(discoblocks_kubelet_scrape_duration_seconds_count{node="denied"} 1)"),
            std::string::npos);
  EXPECT_NE(
      text.find(R"(discoblocks_kubelet_scrape_errors_total{node="denied",reason="forbidden"} 1)"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(discoblocks_kubelet_scrape_errors_total{node="good")"), std::string::npos);
}

TEST_F(KubeletStatsTest, ConcurrencyIsBounded) {
  // Four silent kubelets, two at a time: the last two start only after the
  // first two time out, so the scrape takes two timeouts.
  std::vector<std::unique_ptr<FakeHttpServer>> servers;
  std::vector<KubeletTarget> targets;
  for (int i = 0; i < 4; ++i) {
    servers.push_back(Kubelet(std::string()));
    targets.push_back(TargetOf(fmt::format("n{}", i), *servers.back()));
  }
  KubeletStatsClient::Options options = Options();
  options.timeout = std::chrono::milliseconds(500);
  options.concurrency = 2;
  auto client = Client(options);
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  auto results = client->Scrape(targets);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(1000));
  for (const NodeUsage& result : results) {
    ASSERT_FALSE(result.summary.ok());
    EXPECT_EQ(result.summary.error().kind, ScrapeErrorKind::kTimeout);
    // Each one's clock started when it did, not when the scrape did.
    EXPECT_LT(result.duration, std::chrono::milliseconds(900));
  }
}

}  // namespace
}  // namespace discoblocks::kube
