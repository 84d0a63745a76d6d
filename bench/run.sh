#!/usr/bin/env bash
# The benchmark suite, in one command:
#   bench/run.sh [--out DIR] [--quick]
# Builds a Release build in build-release/, then runs
#   - driver_bench: one call per function per driver (p50/p99, where the time goes,
#     memory per call), calls/s on one thread and on every core, compile times;
#   - registry_bench: start-up with 1, 10 and 50 drivers without, with a cold and with
#     a warm module cache, resident memory, reload latency;
#   - bench/admission-load.sh: admissions/s and p50/p99 over TLS with keep-alive at
#     concurrency 1, 16 and 64 with the C and the Go driver (wrk, local control plane);
#   - autoscale_cycle_bench: one whole autoscaler cycle at 500 to 5,000 volumes on 50
#     simulated kubelets (wall and CPU), and the time from a crossing to the grow patch;
# writes each one's results as JSON into DIR (default build-release/bench-results/
# <UTC time>) and prints a summary table (bench/summary.py DIR prints it again).
# --quick runs shorter measurements, for checking that the suite works.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=
quick=
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--out DIR] [--quick]" >&2; exit 2 ;;
  esac
done
out=${out:-$root/build-release/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"

echo "== Release build: $root/build-release" >&2
"$root/scripts/build.sh" "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
bin=$root/build-release/bin
min_time=1s
[ -n "$quick" ] && min_time=0.1s

echo "== driver calls (driver_bench)" >&2
"$bin/driver_bench" --benchmark_min_time="$min_time" \
  --benchmark_out="$out/driver_bench.json" --benchmark_out_format=json >/dev/null
echo "== start-up, memory, reload (registry_bench)" >&2
registry_filter=.
[ -n "$quick" ] && registry_filter='StartUp/drivers:(1|10)/|Reload'
"$bin/registry_bench" --benchmark_filter="$registry_filter" \
  --benchmark_out="$out/registry_bench.json" --benchmark_out_format=json >/dev/null
echo "== autoscaler cycle, trigger to patch (autoscale_cycle_bench)" >&2
cycle_filter=.
[ -n "$quick" ] && cycle_filter='BM_Cycle/volumes:(500|5000)/'
"$bin/autoscale_cycle_bench" --benchmark_filter="$cycle_filter" \
  --benchmark_out="$out/autoscale_cycle_bench.json" --benchmark_out_format=json >/dev/null 2>&1
echo "== admissions over TLS (wrk)" >&2
load_duration=10s
[ -n "$quick" ] && load_duration=2s
"$root/bench/admission-load.sh" --duration "$load_duration" \
  --json "$out/admission_load.json" >/dev/null

{
  echo "# machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
    "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)"
  echo "# commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$out/machine.txt"
python3 "$root/bench/summary.py" "$out"
echo "results: $out" >&2
