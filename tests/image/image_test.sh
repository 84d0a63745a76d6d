#!/usr/bin/env bash
# The container image (scripts/image.sh), built from BUILD_DIR's binary and drivers:
#   - it runs: in its unpacked root file system, as user 65532, `discoblocks
#     version` works and `drivers list` loads every bundled driver (--check);
#   - it is reproducible: a second build gives the same digest;
#   - the Dockerfile configures the image as scripts/image.sh does (user,
#     entrypoint, command, environment, volume, label names), so the two cannot drift.
#   tests/image/image_test.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$(realpath "$1")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

first=$("$root/scripts/image.sh" --build-dir "$build_dir" --output "$out/first" --check | tail -n 1)
second=$("$root/scripts/image.sh" --build-dir "$build_dir" --output "$out/second" | tail -n 1)
[ "$first" = "$second" ] || { echo "FAIL: two builds gave $first and $second" >&2; exit 1; }
cmp "$out/first/discoblocks-"*.tar "$out/second/discoblocks-"*.tar ||
  { echo "FAIL: the two archives differ" >&2; exit 1; }
echo "reproducible: $first"

python3 - "$out/first/oci" "$first" "$root/Dockerfile" <<'PY'
import json, re, shlex, sys
layout, digest, dockerfile = sys.argv[1:]
def blob(d): return json.load(open(f"{layout}/blobs/{d.replace(':', '/')}"))
config = blob(blob(digest)["config"]["digest"])["config"]
text = re.sub(r"\\\n\s*", " ", open(dockerfile).read())
final = text[text.rindex("FROM scratch"):]
def instruction(name):
    return [l.split(None, 1)[1] for l in final.splitlines() if l.startswith(name + " ")]
failures = []
def same(what, image, docker):
    if image != docker:
        failures.append(f"{what}: image {image!r}, Dockerfile {docker!r}")
same("User", config.get("User"), instruction("USER")[0])
same("Entrypoint", config.get("Entrypoint"), json.loads(instruction("ENTRYPOINT")[0]))
same("Cmd", config.get("Cmd"), json.loads(instruction("CMD")[0]))
same("WorkingDir", config.get("WorkingDir"), instruction("WORKDIR")[0])
same("Volumes", sorted(config.get("Volumes", {})), sorted(instruction("VOLUME")))
env = dict(kv.split("=", 1) for kv in shlex.split(instruction("ENV")[0]))
image_env = dict(kv.split("=", 1) for kv in config.get("Env", []) if not kv.startswith("PATH="))
same("Env", image_env, env)
labels = sorted(kv.split("=", 1)[0] for kv in shlex.split(instruction("LABEL")[0]))
# created is the build's own time in a Dockerfile build, which Docker records anyway.
same("Labels", sorted(k for k in config.get("Labels", {}) if k != "org.opencontainers.image.created"), labels)
for l in ("version", "revision", "source", "licenses"):
    if not config["Labels"].get(f"org.opencontainers.image.{l}"):
        failures.append(f"label org.opencontainers.image.{l} is empty")
if failures:
    print("FAIL:\n" + "\n".join(failures), file=sys.stderr)
    sys.exit(1)
print("the Dockerfile configures the image as scripts/image.sh does")
PY
echo "1 passed, 0 failed"
