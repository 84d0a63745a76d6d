// Fuzzes the kubeconfig reader (kube/config.h: LoadKubeconfig), the first
// thing `serve` and the CLI read.
//
// LoadKubeconfig reads a file, so each input is written to config in a
// private directory that also holds a certificate, a key and a token file
// under the names the seeds use (ca.crt, client.crt, client.key, token): paths
// in a kubeconfig are relative to it. Inputs naming an absolute path or ".."
// in any scalar are skipped: a kubeconfig is the operator's own file and may
// point anywhere, but a fuzzer reading /dev/zero or a FIFO elsewhere on the
// machine tests nothing of ours and could hang.
//
// Checked besides "no crash": an accepted configuration has an http(s) server
// without a trailing slash, and a client certificate only with a key.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "kube/config.h"
#include "support/pki.h"
#include "util/document.h"

namespace {

using discoblocks::fuzz::Require;

std::filesystem::path MakeDirectory() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "discoblocks-fuzz-kubeconfig-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) discoblocks::fuzz::Fail("mkdtemp failed");
  std::filesystem::path dir(pattern);
  const auto pair = discoblocks::testing::SelfSignedCertificate("fuzz", "DNS:localhost");
  std::ofstream(dir / "ca.crt") << pair.certificate_pem;
  std::ofstream(dir / "client.crt") << pair.certificate_pem;
  std::ofstream(dir / "client.key") << pair.private_key_pem;
  std::ofstream(dir / "token") << "fuzz-token\n";
  return dir;
}

// Removed at exit (libFuzzer exits through exit() when its time is up).
struct Directory {
  std::filesystem::path path = MakeDirectory();
  ~Directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

const std::filesystem::path& PrivateDirectory() {
  static const Directory directory;
  return directory.path;
}

// True when no scalar of the document could lead out of the private directory.
bool StaysInside(const YAML::Node& root) {
  std::vector<YAML::Node> pending{root};
  std::size_t budget = 1 << 14;  // aliases make it a graph
  while (!pending.empty()) {
    if (budget-- == 0) return false;
    const YAML::Node node = pending.back();  // YAML::Node has no move
    pending.pop_back();
    if (node.IsScalar()) {
      const std::string& text = node.Scalar();
      if (text.starts_with('/') || text.find("..") != std::string::npos) return false;
    } else if (node.IsMap()) {
      for (const auto& entry : node) {
        pending.push_back(entry.first);
        pending.push_back(entry.second);
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) pending.push_back(item);
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = discoblocks::fuzz::AsText(data, size);
  auto yaml = discoblocks::LoadYaml(text, "kubeconfig");
  if (yaml.ok() && !StaysInside(*yaml)) return 0;

  const std::filesystem::path path = PrivateDirectory() / "config";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    Require(static_cast<bool>(out), "the input is written");
  }
  for (const std::optional<std::string>& context :
       {std::optional<std::string>(), std::optional<std::string>("fuzz")}) {
    auto config = discoblocks::kube::LoadKubeconfig(path, context);
    if (!config.ok()) {
      Require(!config.error().message.empty(), "a refusal says why");
      continue;
    }
    Require(config->server.starts_with("https://") || config->server.starts_with("http://"),
            "the server is an http(s) URL", config->server);
    Require(!config->server.ends_with('/'), "the server has no trailing slash", config->server);
    Require(config->client_cert_pem.empty() == config->client_key_pem.empty(),
            "a client certificate comes with a key");
  }
  return 0;
}
