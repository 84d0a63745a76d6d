// deploy/ is what users apply: the real API server must accept all of it.
#include <gtest/gtest.h>

#include "support/control_plane.h"

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

TEST(DeployManifests, AreAcceptedByTheApiServerWithServerSideDryRun) {
  const ControlPlane& cluster = ControlPlane::Get();
  const auto crds = CertManagerCrds();
  ASSERT_FALSE(crds.empty()) << "scripts/cert-manager-crds.sh failed";
  const auto installed = cluster.Kubectl({"apply", "--server-side", "-f", crds.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  const auto established =
      cluster.Kubectl({"wait", "--for=condition=established", "--timeout=60s",
                       "crd/certificates.cert-manager.io", "crd/issuers.cert-manager.io"});
  ASSERT_EQ(established.exit_code, 0) << established.err;
  // A dry run cannot create the namespace its other objects need, so that one is real.
  const auto deploy = testing::SourceDir() / "deploy";
  const auto created =
      cluster.Kubectl({"apply", "-f", (deploy / "webhook" / "namespace.yaml").string()});
  ASSERT_EQ(created.exit_code, 0) << created.err;

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

}  // namespace
}  // namespace discoblocks
