// Kubeconfig and in-cluster configuration, and every way a kubeconfig can be
// broken, each with a message that says what is wrong.
#include "kube/config.h"

#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/pki.h"
#include "support/test_support.h"

namespace discoblocks::kube {
namespace {

using testing::Base64;
using testing::TempDir;

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override { pair_ = testing::SelfSignedCertificate("test"); }

  std::filesystem::path Write(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path;
  }

  // A kubeconfig with one context; `user` is the user mapping's body.
  std::string Kubeconfig(const std::string& cluster, const std::string& user) const {
    return fmt::format(R"(apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {{cluster: c, user: u}}
- name: other
  context: {{cluster: missing, user: u}}
clusters:
- name: c
  cluster:
{}
users:
- name: u
  user:
{}
)",
                       cluster, user);
  }

  std::string ClusterWithCaData() const {
    return fmt::format("    server: https://127.0.0.1:6443/\n    certificate-authority-data: {}",
                       Base64(pair_.certificate_pem));
  }

  std::string CertUser() const {
    return fmt::format("    client-certificate-data: {}\n    client-key-data: {}",
                       Base64(pair_.certificate_pem), Base64(pair_.private_key_pem));
  }

  std::string LoadError(const std::string& text) {
    auto config = LoadKubeconfig(Write("config", text));
    EXPECT_FALSE(config.ok());
    return config.ok() ? "" : config.error().message;
  }

  TempDir dir_;
  testing::KeyPair pair_;
};

TEST_F(KubeconfigTest, ClientCertificateFromData) {
  auto config = LoadKubeconfig(Write("config", Kubeconfig(ClusterWithCaData(), CertUser())));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, pair_.certificate_pem);
  EXPECT_EQ(config->client_cert_pem, pair_.certificate_pem);
  EXPECT_EQ(config->client_key_pem, pair_.private_key_pem);
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, FilesRelativeToTheKubeconfigAndTokens) {
  Write("ca.crt", pair_.certificate_pem);
  Write("token", "secret-token\n");
  auto config = LoadKubeconfig(Write(
      "config", Kubeconfig("    server: https://k8s.example:443\n    certificate-authority: ca.crt",
                           "    tokenFile: token")));
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->ca_pem, pair_.certificate_pem);
  EXPECT_EQ(config->bearer_token_file, dir_.path() / "token");

  auto with_token = LoadKubeconfig(Write(
      "config2", Kubeconfig("    server: https://k8s.example\n    insecure-skip-tls-verify: true",
                            "    token: abc")));
  ASSERT_TRUE(with_token.ok()) << with_token.error().message;
  EXPECT_EQ(with_token->bearer_token, "abc");
  EXPECT_TRUE(with_token->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, ExplicitContextIsUsed) {
  auto config =
      LoadKubeconfig(Write("config", Kubeconfig(ClusterWithCaData(), CertUser())), "other");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find("context \"other\": no clusters entry named \"missing\""),
            std::string::npos)
      << config.error().message;
}

TEST_F(KubeconfigTest, BrokenKubeconfigsSayWhatIsWrong) {
  const std::string ca = ClusterWithCaData();
  const std::string user = CertUser();
  EXPECT_NE(LoadError("clusters: [").find("not valid YAML"), std::string::npos);
  EXPECT_NE(LoadError("- a\n- b\n").find("not a kubeconfig"), std::string::npos);
  EXPECT_NE(LoadError("kind: Config\n").find("no current-context"), std::string::npos);
  EXPECT_NE(LoadError("current-context: nope\n").find("no contexts entry named \"nope\""),
            std::string::npos);
  EXPECT_NE(LoadError(Kubeconfig("    insecure-skip-tls-verify: true", user))
                .find("cluster \"c\" has no server"),
            std::string::npos);
  EXPECT_NE(LoadError(Kubeconfig("    server: 127.0.0.1:6443", user)).find("not an http(s) URL"),
            std::string::npos);
  EXPECT_NE(
      LoadError(Kubeconfig("    server: https://x\n    certificate-authority-data: ab$c", user))
          .find("certificate-authority-data is not valid base64"),
      std::string::npos);
  EXPECT_NE(LoadError(Kubeconfig("    server: https://x\n    certificate-authority-data: " +
                                     Base64("not a certificate"),
                                 user))
                .find("certificate-authority holds no PEM certificate"),
            std::string::npos);
  EXPECT_NE(
      LoadError(Kubeconfig("    server: https://x\n    certificate-authority: missing.crt", user))
          .find("missing.crt"),
      std::string::npos);
  EXPECT_NE(
      LoadError(Kubeconfig(ca, "    client-certificate-data: " + Base64(pair_.certificate_pem)))
          .find("without a key"),
      std::string::npos);
  EXPECT_NE(
      LoadError(Kubeconfig(ca, "    client-certificate-data: " + Base64(pair_.certificate_pem) +
                                   "\n    client-key-data: " + Base64("garbage")))
          .find("client-key holds no PEM private key"),
      std::string::npos);
  EXPECT_NE(LoadError(Kubeconfig(ca, "    exec:\n      command: aws")).find("credential plugin"),
            std::string::npos);
  EXPECT_NE(LoadKubeconfig(dir_.path() / "absent").error().message.find("kubeconfig: cannot read"),
            std::string::npos);
}

TEST_F(KubeconfigTest, DeeplyNestedKubeconfigIsAnErrorNotACrash) {
  constexpr std::size_t kDeep = 200'000;
  const std::string flow = "clusters: " + std::string(kDeep, '[') + std::string(kDeep, ']') + "\n";
  std::string block;
  for (std::size_t i = 0; i < kDeep; ++i) block += "- ";
  block += "x\n";
  for (const std::string& text : {flow, block}) {
    const auto path = Write("deep", text);
    const auto config = LoadKubeconfig(path);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().message,
              "kubeconfig " + path.string() + ": nested deeper than the limit of 100 levels");
  }
}

TEST(InClusterConfigTest, ReadsServiceAccountFilesAndEnvironment) {
  TempDir dir;
  const auto pair = testing::SelfSignedCertificate("cluster-ca");
  std::ofstream(dir.path() / "ca.crt") << pair.certificate_pem;
  std::ofstream(dir.path() / "token") << "sa-token";
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = LoadInClusterConfig(dir.path());
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->bearer_token_file, dir.path() / "token");
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  EXPECT_EQ(LoadInClusterConfig(dir.path())->server, "https://[fd00::1]:443");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  EXPECT_NE(LoadInClusterConfig(dir.path()).error().message.find("KUBERNETES_SERVICE_HOST"),
            std::string::npos);
}

}  // namespace
}  // namespace discoblocks::kube
