#!/usr/bin/env python3
"""Prints the summary table of a bench/run.sh results directory.

    bench/summary.py DIR

Reads DIR/driver_bench.json, DIR/registry_bench.json, DIR/autoscale_cycle_bench.json and
DIR/admission_load.json (Google Benchmark and bench/admission-load.sh output) and
DIR/machine.txt.
"""
import json
import pathlib
import sys


def load(path):
    return json.loads(path.read_text()) if path.exists() else None


def driver_table(doc):
    print("\n## One driver call, end to end (fresh instance each call)")
    print(f"{'driver / function':<58} {'p50 µs':>8} {'p99 µs':>9} {'setup':>7} {'inst':>6} "
          f"{'init':>7} {'call':>7} {'drop':>6} {'host':>6} {'mem KiB':>8}")
    for b in doc["benchmarks"]:
        if not b["name"].startswith("Call/"):
            continue
        print(f"{b['name'][5:]:<58} {b['p50_us']:>8.1f} {b['p99_us']:>9.1f} {b['setup_us']:>7.1f} "
              f"{b['instantiate_us']:>6.1f} {b['initialize_us']:>7.1f} {b['call_us']:>7.1f} "
              f"{b['teardown_us']:>6.1f} "
              f"{b['host_us']:>6.1f} {b['memory_kib']:>8.0f}")
    print("\n## IsStorageClassValid calls per second")
    for b in doc["benchmarks"]:
        if b["name"].startswith("Throughput/"):
            print(f"{b['name'][11:]:<58} {b['items_per_second']:>10.0f}/s")
    print("\n## Compile one module (what the module cache saves)")
    for b in doc["benchmarks"]:
        if b["name"].startswith("Compile/"):
            print(f"{b['name'][8:]:<58} {b['real_time']:>8.0f} ms  ({b['module_kib']:.0f} KiB)")
    for b in doc["benchmarks"]:
        if b["name"] == "ResidentWithAllDriversLoaded":
            print(f"\nresident memory with the {b['drivers']:.0f} bundled drivers loaded: "
                  f"{b['rss_mib']:.0f} MiB")


def registry_table(doc):
    print("\n## Start-up: loading N drivers (cache 0 none, 1 cold, 2 warm)")
    print(f"{'drivers':>7} {'cache':>5} {'ms':>9} {'RSS MiB':>8}")
    for b in doc["benchmarks"]:
        if b["name"].startswith("BM_StartUp/"):
            parts = dict(p.split(":") for p in b["name"].split("/")[1:3])
            print(f"{parts['drivers']:>7} {parts['cache']:>5} {b['real_time']:>9.1f} "
                  f"{b['rss_mib']:>8.0f}")
    for b in doc["benchmarks"]:
        if b["name"].startswith("BM_ReloadLatency/"):
            settle = b["name"].split("/")[1]
            print(f"reload latency, file renamed in -> new version serving ({settle}): "
                  f"{b['real_time']:.0f} ms")


def cycle_table(doc):
    print("\n## One autoscaler cycle, 50 simulated kubelets, 1% of the claims growing")
    print(f"{'volumes':>7} {'wall ms':>8} {'CPU ms':>7}")
    for b in doc["benchmarks"]:
        if b["name"].startswith("BM_Cycle/"):
            print(f"{b['volumes']:>7.0f} {b['real_time']:>8.0f} {b['cpu_time']:>7.0f}")
    for b in doc["benchmarks"]:
        if b["name"].startswith("BM_TriggerToPatch/"):
            print(f"trigger to patch over {b['crossings']:.0f} crossings, poll "
                  f"{b['poll_ms'] / 1000:.0f} s: min {b['min_ms']:.0f} ms, median "
                  f"{b['median_ms']:.0f} ms, max {b['max_ms']:.0f} ms (target {b['target_ms']:.0f} ms)")


def load_table(doc):
    print(f"\n## Admissions over TLS with keep-alive (wrk, {doc['duration']} per run)")
    print(f"{'review':<11} {'driver':<28} {'conns':>5} {'per s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for run in doc["runs"]:
        r = run["result"]
        # Runs recorded before pod reviews were measured are DiskConfig reviews.
        print(f"{run.get('review', 'diskconfig'):<11} {run['driver']:<28} {run['connections']:>5} "
              f"{r['per_second']:>8.0f} "
              f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    machine = out / "machine.txt"
    if machine.exists():
        print(machine.read_text().rstrip())
    for name, table in (("driver_bench.json", driver_table), ("registry_bench.json", registry_table),
                        ("autoscale_cycle_bench.json", cycle_table),
                        ("admission_load.json", load_table)):
        doc = load(out / name)
        if doc is not None:
            table(doc)


if __name__ == "__main__":
    main()
