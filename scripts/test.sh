#!/usr/bin/env bash
# Builds and runs every test: the test suites (C++, Go drivers' host tests, the
# Kubernetes client against a real local control plane) in a normal build, then
# all of them again under AddressSanitizer and UndefinedBehaviorSanitizer, then
# the fuzz targets (clang, libFuzzer): their regression corpus and a short run
# of each. Sets up whatever is missing first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

# The local cluster (Kubernetes, etcd, kwok and the CSI sidecars from source) is
# built once into the cache; building it here keeps that out of the tests' timeouts.
echo "== setup and local cluster"
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/cluster.sh" build >/dev/null
"$root/scripts/cert-manager-crds.sh" >/dev/null
"$root/scripts/helm.sh" >/dev/null  # Helm from source, once, for the chart tests

echo "== build and test (RelWithDebInfo): $root/build"
"$root/scripts/build.sh" "$root/build"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

echo "== build and test (ASan + UBSan): $root/build-sanitize"
"$root/scripts/build.sh" "$root/build-sanitize" -DCMAKE_BUILD_TYPE=Debug -DDISCOBLOCKS_SANITIZE=ON
ctest --test-dir "$root/build-sanitize" --output-on-failure -j "$jobs"
echo "== fuzz targets (clang, libFuzzer, ASan + UBSan): $root/build-fuzz"
"$root/tests/fuzz/build.sh" "$root/build-fuzz"
ctest --test-dir "$root/build-fuzz" --output-on-failure -j "$jobs"
# The benchmarks are built above (so that they cannot rot) but not run here;
# their scripts are at least checked to parse.
for script in "$root"/bench/*.sh "$root"/scripts/lib/*.sh; do bash -n "$script"; done
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$root/bench/summary.py"
echo "== all tests passed"
