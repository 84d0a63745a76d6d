# Pinned versions and checksums of what scripts/setup.sh downloads.
# Library and headers must be the same Wasmtime version.
WASMTIME_VERSION=50.0.1
WASMTIME_WHEEL_SHA256=cc14c3a17654e0394e0225b11813532ef0cd7bd1e222a0c5494cdedaabeddac4
WASMTIME_CRATE_SHA256=3c24d3970786b4baecb5b6aff31759b4f361879e8d99dbd5dc36a9524a0db6e6
# Go >= 1.24 builds -buildmode=c-shared wasip1 modules with //go:wasmexport;
# Kubernetes 1.35 (tools/cluster) needs Go >= 1.25, kwok and the CSI sidecars 1.26.
GO_MIN_VERSION=1.26.0
GO_TOOLCHAIN_VERSION=1.26.8
GO_TOOLCHAIN_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
# cert-manager's CRDs (Certificate, Issuer, ...), only so that the API server can
# check deploy/ with --dry-run=server in the tests; the module zip from the Go proxy.
CERT_MANAGER_VERSION=v1.21.2
CERT_MANAGER_ZIP_SHA256=cfaf1fb53965a5fd60490861387b7dbf34cd40987c878a4f1e247f836eef4782
# The local cluster's components that are not in tools/cluster/go.mod (each has
# replace directives or requirements of its own, so it is built inside its own
# module, as its maintainers build it): module, version and the go.sum hash of
# the module zip, which scripts/cluster.sh checks before building.
KWOK_MODULE=sigs.k8s.io/kwok@v0.8.0
KWOK_SUM=h1:OTIOTwgROqPMovcTwxICx2eYQ4AwLpSx5EpjbDKF4SQ=
CSI_PROVISIONER_MODULE=github.com/kubernetes-csi/external-provisioner/v6@v6.4.0
CSI_PROVISIONER_SUM=h1:zU5e23gjdbT4j23E2het91Nalzj/bwZbt7yAAoYz/2g=
CSI_RESIZER_MODULE=github.com/kubernetes-csi/external-resizer/v2@v2.3.0
CSI_RESIZER_SUM=h1:dsdHhB3s4BJUkO7Jaemd6hw3YEms1ZlMF/bksbDE+bw=
# v4.13.0 is the newest external-attacher the module proxy serves here.
CSI_ATTACHER_MODULE=github.com/kubernetes-csi/external-attacher/v4@v4.13.0
CSI_ATTACHER_SUM=h1:lvr4pjyBc6TV57EB78mNrsg/KgaGFL5wc4Xe/i9Y+bM=
