// Where the API server is and how to authenticate to it: from a kubeconfig file
// or from the service-account files mounted into a pod.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.h"

namespace discoblocks::kube {

struct ClientConfig {
  std::string server;  // e.g. https://127.0.0.1:6443, without a trailing slash
  std::string ca_pem;  // trusted CA certificates; empty means the system's
  bool insecure_skip_tls_verify = false;
  std::string client_cert_pem;  // client certificate authentication
  std::string client_key_pem;
  std::string bearer_token;                 // token authentication
  std::filesystem::path bearer_token_file;  // re-read as it rotates
  std::chrono::milliseconds request_timeout{30'000};
  // Sent as `fieldManager` with every create, update, patch and apply, so that
  // metadata.managedFields names us as the owner of the fields we write (and
  // server-side apply can tell our fields from other writers'). At most 128
  // printable characters; Client::Create refuses others.
  std::string field_manager = "discoblocks";
  std::string source;  // where this came from, for messages
};

// Reads a kubeconfig: the given context, else its current-context. Supports
// server, certificate-authority(-data), insecure-skip-tls-verify,
// client-certificate(-data), client-key(-data), token and tokenFile; relative
// paths are relative to the file. Credential plugins (exec, auth-provider) are
// refused with a message saying so. Certificates and keys are checked to be PEM
// here, so that a broken file is reported as such rather than as a TLS failure.
Result<ClientConfig> LoadKubeconfig(const std::filesystem::path& path,
                                    const std::optional<std::string>& context = std::nullopt);

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the
// service-account token and CA under `directory`.
Result<ClientConfig> LoadInClusterConfig(
    const std::filesystem::path& directory = "/var/run/secrets/kubernetes.io/serviceaccount");

// The flag if given, else $KUBECONFIG, else in-cluster when running in a pod,
// else ~/.kube/config.
Result<ClientConfig> LoadDefaultConfig(const std::optional<std::string>& kubeconfig_flag);

}  // namespace discoblocks::kube
