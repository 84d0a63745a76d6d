// deploy/ and the Helm chart are what users apply: the real API server must
// accept all of it, with the chart's default values and with every optional one.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/control_plane.h"
#include "support/test_support.h"

namespace discoblocks {
namespace {

using testing::ControlPlane;

// cert-manager's CRDs, fetched (pinned, checksummed) by scripts/cert-manager-crds.sh.
std::filesystem::path CertManagerCrds() {
  const auto result =
      testing::RunProgram((testing::SourceDir() / "scripts" / "cert-manager-crds.sh").string(), {});
  if (result.exit_code != 0) return {};
  std::string dir = result.out;
  while (!dir.empty() && dir.back() == '\n') dir.pop_back();
  return dir;
}

// The CRDs the manifests refer to besides our own (cert-manager's, and a
// stand-in for the Prometheus operator's ServiceMonitor), and the namespace: a
// dry run cannot create the namespace its other objects need, so that one is real.
void PrepareCluster(const ControlPlane& cluster) {
  const auto crds = CertManagerCrds();
  ASSERT_FALSE(crds.empty()) << "scripts/cert-manager-crds.sh failed";
  const auto installed = cluster.Kubectl({"apply", "--server-side", "-f", crds.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  const auto monitor = cluster.Kubectl(
      {"apply", "-f", (testing::FixturesDir() / "crds" / "servicemonitor-stub.yaml").string()});
  ASSERT_EQ(monitor.exit_code, 0) << monitor.err;
  const auto established = cluster.Kubectl(
      {"wait", "--for=condition=established", "--timeout=60s", "crd/certificates.cert-manager.io",
       "crd/issuers.cert-manager.io", "crd/servicemonitors.monitoring.coreos.com"});
  ASSERT_EQ(established.exit_code, 0) << established.err;
  const auto created = cluster.Kubectl(
      {"apply", "-f", (testing::SourceDir() / "deploy" / "namespace.yaml").string()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
}

TEST(DeployManifests, AreAcceptedByTheApiServerWithServerSideDryRun) {
  const ControlPlane& cluster = ControlPlane::Get();
  ASSERT_NO_FATAL_FAILURE(PrepareCluster(cluster));
  const auto deploy = testing::SourceDir() / "deploy";

  const auto dry_run = cluster.Kubectl({"apply", "--dry-run=server", "-k", deploy.string()});
  ASSERT_EQ(dry_run.exit_code, 0) << dry_run.err;
  for (const char* object :
       {"customresourcedefinition.apiextensions.k8s.io/diskconfigs.discoblocks.ondat.io",
        "serviceaccount/discoblocks-webhook", "clusterrole.rbac.authorization.k8s.io/",
        "clusterrolebinding.rbac.authorization.k8s.io/", "issuer.cert-manager.io/",
        "certificate.cert-manager.io/", "service/discoblocks-webhook", "deployment.apps/",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/"}) {
    EXPECT_NE(dry_run.out.find(object), std::string::npos) << object << " in:\n" << dry_run.out;
  }
}

// scripts/chart.sh renders the chart (CRDs included) with the default values
// and with each values file under the chart's ci/: full-values.yaml sets every
// optional value; the others take the TLS modes full-values.yaml cannot.
TEST(HelmChart, EveryValuesCaseIsAcceptedByTheApiServerWithServerSideDryRun) {
  const ControlPlane& cluster = ControlPlane::Get();
  ASSERT_NO_FATAL_FAILURE(PrepareCluster(cluster));
  const testing::TempDir rendered;
  const auto render = testing::RunProgram((testing::SourceDir() / "scripts" / "chart.sh").string(),
                                          {"render", rendered.path().string()});
  ASSERT_EQ(render.exit_code, 0) << render.err;

  struct Case {
    std::string name;
    std::vector<std::string> objects;  // each must be in the dry run's output
  };
  const std::vector<Case> cases{
      {"default",
       {"customresourcedefinition.apiextensions.k8s.io/diskconfigs.discoblocks.ondat.io",
        "deployment.apps/discoblocks-webhook", "issuer.cert-manager.io/discoblocks-selfsigned",
        "certificate.cert-manager.io/discoblocks-webhook-cert",
        "poddisruptionbudget.policy/discoblocks-webhook",
        "admissionregistration.k8s.io/discoblocks-validating-webhook"}},
      {"full",
       {"deployment.apps/discoblocks-webhook", "certificate.cert-manager.io/",
        "servicemonitor.monitoring.coreos.com/discoblocks-webhook",
        "poddisruptionbudget.policy/discoblocks-webhook"}},
      {"generate", {"secret/discoblocks-webhook-cert", "deployment.apps/discoblocks-webhook"}},
      {"secret", {"deployment.apps/discoblocks-webhook", "validatingwebhookconfiguration"}},
  };
  for (const Case& c : cases) {
    const auto file = rendered.path() / (c.name + ".yaml");
    const auto dry_run = cluster.Kubectl({"apply", "--dry-run=server", "-f", file.string()});
    EXPECT_EQ(dry_run.exit_code, 0) << c.name << ": " << dry_run.err;
    for (const auto& object : c.objects) {
      EXPECT_NE(dry_run.out.find(object), std::string::npos) << c.name << ": " << object << " in:\n"
                                                             << dry_run.out;
    }
  }
}

}  // namespace
}  // namespace discoblocks
