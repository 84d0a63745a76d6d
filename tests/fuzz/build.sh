#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan, coverage for libFuzzer)
# in their own build directory, default build-fuzz/; the binaries land in
# BUILD_DIR/bin/fuzz_<target>. Only the libraries, the drivers and the fuzz
# targets: the test suites and benchmarks have their own builds.
#   tests/fuzz/build.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=clang-14 CXX=clang++-14 "$root/scripts/build.sh" "${1:-$root/build-fuzz}" \
  -DDISCOBLOCKS_FUZZ=ON -DDISCOBLOCKS_BUILD_TESTS=OFF -DDISCOBLOCKS_BUILD_BENCHMARKS=OFF
