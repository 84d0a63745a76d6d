#include "kube/config.h"

#include <cstdlib>
#include <memory>
#include <string_view>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include "util/base64.h"
#include "util/document.h"
#include "util/files.h"

namespace discoblocks::kube {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr MemoryBio(const std::string& pem) {
  return {BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
}

Status CheckCertificates(std::string_view field, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return MakeError(fmt::format("{} holds no PEM certificate", field));
  X509_free(cert);
  return {};
}

Status CheckPrivateKey(std::string_view field, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return MakeError(fmt::format("{} holds no PEM private key", field));
  EVP_PKEY_free(key);
  return {};
}

// Finds the entry of a named list (clusters, users, contexts) and returns its
// inner mapping (the "cluster", "user" or "context" key).
Result<YAML::Node> FindNamed(const YAML::Node& root, std::string_view list, std::string_view inner,
                             const std::string& name) {
  const YAML::Node items = root[std::string(list)];
  if (items && items.IsSequence()) {
    for (const auto& item : items) {
      if (item.IsMap() && item["name"] && item["name"].as<std::string>("") == name) {
        YAML::Node value = item[std::string(inner)];
        if (!value || !value.IsMap()) {
          return MakeError(fmt::format("{} entry \"{}\" has no {} mapping", list, name, inner));
        }
        return value;
      }
    }
  }
  return MakeError(fmt::format("no {} entry named \"{}\"", list, name));
}

// Paths in a kubeconfig are relative to the file's directory.
std::filesystem::path ResolvePath(const std::filesystem::path& base, const std::string& file) {
  const std::filesystem::path path(file);
  return path.is_absolute() ? path : base / path;
}

std::string Scalar(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.Scalar() : std::string();
}

// Reads "<key>-data" (base64) or "<key>" (a path relative to the kubeconfig).
Result<std::string> DataOrFile(const YAML::Node& map, const std::string& key,
                               const std::filesystem::path& base, std::string_view where) {
  const std::string data = Scalar(map, (key + "-data").c_str());
  if (!data.empty()) return Base64Decode(fmt::format("{} {}-data", where, key), data);
  const std::string file = Scalar(map, key.c_str());
  if (file.empty()) return std::string();
  const std::filesystem::path path = ResolvePath(base, file);
  auto content = ReadFile(path);
  if (!content) return MakeError(fmt::format("{} {}: {}", where, key, content.error().message));
  return content;
}

Result<ClientConfig> ParseKubeconfig(const YAML::Node& root, const std::filesystem::path& path,
                                     const std::optional<std::string>& context_flag) {
  if (!root.IsMap()) return MakeError("not a kubeconfig (expected a mapping)");
  const std::string context_name = context_flag ? *context_flag : Scalar(root, "current-context");
  if (context_name.empty()) {
    return MakeError("no current-context is set and no context was given");
  }
  auto context = FindNamed(root, "contexts", "context", context_name);
  if (!context) return context.error();
  const std::string cluster_name = Scalar(*context, "cluster");
  const std::string user_name = Scalar(*context, "user");
  auto cluster = FindNamed(root, "clusters", "cluster", cluster_name);
  if (!cluster)
    return MakeError(fmt::format("context \"{}\": {}", context_name, cluster.error().message));

  ClientConfig config;
  config.source = fmt::format("kubeconfig {} (context {})", path.string(), context_name);
  const std::filesystem::path base = path.parent_path();
  config.server = Scalar(*cluster, "server");
  if (config.server.empty()) {
    return MakeError(fmt::format("cluster \"{}\" has no server", cluster_name));
  }
  if (!config.server.starts_with("https://") && !config.server.starts_with("http://")) {
    return MakeError(fmt::format("cluster \"{}\": server \"{}\" is not an http(s) URL",
                                 cluster_name, config.server));
  }
  while (config.server.ends_with('/')) config.server.pop_back();
  config.insecure_skip_tls_verify = Scalar(*cluster, "insecure-skip-tls-verify") == "true";
  const std::string cluster_where = fmt::format("cluster \"{}\"", cluster_name);
  auto ca = DataOrFile(*cluster, "certificate-authority", base, cluster_where);
  if (!ca) return ca.error();
  config.ca_pem = std::move(ca).value();
  if (!config.ca_pem.empty()) {
    if (auto ok = CheckCertificates(cluster_where + " certificate-authority", config.ca_pem); !ok) {
      return ok.error();
    }
  }

  if (user_name.empty()) return config;  // anonymous
  auto user = FindNamed(root, "users", "user", user_name);
  if (!user)
    return MakeError(fmt::format("context \"{}\": {}", context_name, user.error().message));
  const std::string user_where = fmt::format("user \"{}\"", user_name);
  if ((*user)["exec"] || (*user)["auth-provider"]) {
    return MakeError(fmt::format(
        "{} uses a credential plugin (exec or auth-provider), which Discoblocks does not run; "
        "use a client certificate or a token",
        user_where));
  }
  auto cert = DataOrFile(*user, "client-certificate", base, user_where);
  if (!cert) return cert.error();
  auto key = DataOrFile(*user, "client-key", base, user_where);
  if (!key) return key.error();
  if (cert->empty() != key->empty()) {
    return MakeError(
        fmt::format("{} has a client certificate without a key, or a key without a "
                    "certificate",
                    user_where));
  }
  if (!cert->empty()) {
    if (auto ok = CheckCertificates(user_where + " client-certificate", *cert); !ok)
      return ok.error();
    if (auto ok = CheckPrivateKey(user_where + " client-key", *key); !ok) return ok.error();
  }
  config.client_cert_pem = std::move(cert).value();
  config.client_key_pem = std::move(key).value();
  config.bearer_token = Scalar(*user, "token");
  const std::string token_file = Scalar(*user, "tokenFile");
  if (!token_file.empty()) {
    config.bearer_token_file = ResolvePath(base, token_file);
  }
  return config;
}

}  // namespace

Result<ClientConfig> LoadKubeconfig(const std::filesystem::path& path,
                                    const std::optional<std::string>& context) {
  auto text = ReadFile(path);
  if (!text) return MakeError("kubeconfig: " + text.error().message);
  auto loaded = LoadYaml(*text, fmt::format("kubeconfig {}", path.string()));
  if (!loaded) return loaded.error();
  const YAML::Node& root = *loaded;
  try {
    auto config = ParseKubeconfig(root, path, context);
    if (!config)
      return MakeError(fmt::format("kubeconfig {}: {}", path.string(), config.error().message));
    return config;
  } catch (const YAML::Exception& e) {
    return MakeError(fmt::format("kubeconfig {}: unexpected structure: {}", path.string(), e.msg));
  }
}

Result<ClientConfig> LoadInClusterConfig(const std::filesystem::path& directory) {
  // Read at start-up, before threads start.
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");  // NOLINT(concurrency-mt-unsafe)
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");  // NOLINT(concurrency-mt-unsafe)
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return MakeError("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  ClientConfig config;
  config.source = "in-cluster service account " + directory.string();
  const std::string_view host_view = host;
  // An IPv6 address needs brackets in a URL.
  config.server = host_view.find(':') != std::string_view::npos
                      ? fmt::format("https://[{}]:{}", host, port)
                      : fmt::format("https://{}:{}", host, port);
  auto ca = ReadFile(directory / "ca.crt");
  if (!ca) return MakeError("in-cluster: " + ca.error().message);
  if (auto ok = CheckCertificates("in-cluster ca.crt", *ca); !ok) return ok.error();
  config.ca_pem = std::move(ca).value();
  config.bearer_token_file = directory / "token";
  auto token = ReadFile(config.bearer_token_file);
  if (!token) return MakeError("in-cluster: " + token.error().message);
  return config;
}

Result<ClientConfig> LoadDefaultConfig(const std::optional<std::string>& kubeconfig_flag) {
  if (kubeconfig_flag && !kubeconfig_flag->empty()) return LoadKubeconfig(*kubeconfig_flag);
  const char* env = std::getenv("KUBECONFIG");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') {
    // Like kubectl, take the first of a colon-separated list.
    const std::string_view list = env;
    return LoadKubeconfig(std::string(list.substr(0, list.find(':'))));
  }
  if (std::getenv("KUBERNETES_SERVICE_HOST") != nullptr) {  // NOLINT(concurrency-mt-unsafe)
    return LoadInClusterConfig();
  }
  const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe)
  if (home == nullptr)
    return MakeError("no kubeconfig: --kubeconfig, KUBECONFIG and HOME are unset");
  return LoadKubeconfig(std::filesystem::path(home) / ".kube" / "config");
}

}  // namespace discoblocks::kube
