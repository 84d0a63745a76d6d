#!/usr/bin/env bash
# The container image, built without a daemon or registry (umoci and skopeo from
# Debian), reproducibly: two builds of one commit give the same digest.
#
#   scripts/image.sh [--build-dir DIR] [--output DIR] [--no-build] [--check]
#
# Builds (incrementally; not with --no-build) the binary and the bundled drivers
# in DIR (default build/), lays the files out with scripts/image-layout.sh (which the Dockerfile
# uses too), and writes to the output directory (default DIR/image/):
#   oci/                     the image as an OCI layout, tag <version>
#   discoblocks-<version>.tar  the same as an OCI archive (skopeo copy, podman
#                            load, or skopeo copy oci-archive:... docker-daemon:...)
#   digest                   the manifest's digest
# --check then unpacks the image and runs its binary inside the unpacked root file
# system (chroot, as the image's user 65532): `discoblocks version` and
# `discoblocks drivers list` with every bundled driver loaded; and reports the size.
# Environment: SOURCE_DATE_EPOCH (default: the commit's time), IMAGE_REPOSITORY
# (default ghcr.io/discoblocks/discoblocks), IMAGE_LICENSES (SPDX; default
# NOASSERTION: the repository has no licence file yet).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$root/build output="" check=false build=true
while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --output) output=$(realpath -m "$2"); shift 2 ;;
    --check) check=true; shift ;;
    --no-build) build=false; shift ;;
    *) echo "usage: $0 [--build-dir DIR] [--output DIR] [--no-build] [--check]" >&2; exit 2 ;;
  esac
done
output=${output:-$build_dir/image}

log() { printf 'image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in umoci skopeo patchelf; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"
done

if ! $build; then
  :
elif [ -f "$build_dir/build.ninja" ]; then
  cmake --build "$build_dir" --target discoblocks drivers >&2
else
  "$root/scripts/build.sh" "$build_dir" >&2
fi
version=$(sed -n 's/^project(discoblocks VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
[ -n "$version" ] || die "cannot read the version from CMakeLists.txt"
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain 2>/dev/null)" ] ||
  log "warning: the work tree has changes that commit $revision does not"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
repository=${IMAGE_REPOSITORY:-ghcr.io/discoblocks/discoblocks}

rm -rf "$output"
mkdir -p "$output"
"$root/scripts/image-layout.sh" "$output/rootfs" "$build_dir/bin/discoblocks" "$build_dir/drivers"

layout="$output/oci"
image="$layout:$version"
umoci init --layout "$layout"
umoci new --image "$image"
umoci insert --image "$image" --history.created "$created" --history.created_by "scripts/image.sh" \
  "$output/rootfs" /
labels=(
  --config.label "org.opencontainers.image.title=discoblocks"
  --config.label "org.opencontainers.image.description=Discoblocks: declarative disks for Kubernetes, with drivers in WebAssembly"
  --config.label "org.opencontainers.image.version=$version"
  --config.label "org.opencontainers.image.revision=$revision"
  --config.label "org.opencontainers.image.source=https://github.com/ondat/discoblocks"
  --config.label "org.opencontainers.image.licenses=${IMAGE_LICENSES:-NOASSERTION}"
  --config.label "org.opencontainers.image.created=$created"
)
umoci config --image "$image" --no-history --created "$created" --author "" \
  --architecture amd64 --os linux --config.user 65532:65532 --config.workingdir / \
  --config.entrypoint /usr/local/bin/discoblocks --config.cmd serve \
  --config.env DISCOBLOCKS_DRIVERS_DIR=/drivers \
  --config.env DISCOBLOCKS_MODULE_CACHE=/var/cache/discoblocks/modules \
  --config.volume /var/cache/discoblocks "${labels[@]}" \
  --manifest.annotation "org.opencontainers.image.version=$version" \
  --manifest.annotation "org.opencontainers.image.revision=$revision" \
  --manifest.annotation "org.opencontainers.image.created=$created"
umoci gc --layout "$layout"
# Directory times are not part of the image, but the archive below records them.
find "$layout" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
  "$layout/index.json")
echo "$digest" >"$output/digest"
archive="$output/discoblocks-$version.tar"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$layout" -cf "$archive" .
skopeo inspect --raw "oci-archive:$archive" >/dev/null || die "skopeo cannot read $archive"
log "$repository:$version $digest"
log "layout $layout, archive $archive ($(du -b "$archive" | cut -f1) bytes)"

if $check; then
  bundle="$output/bundle"
  umoci unpack --image "$image" "$bundle" >/dev/null
  rootfs="$bundle/rootfs"
  chroot=$(command -v chroot) || die "chroot is missing"
  # Only the image's environment, as a container would have it.
  run() { env -i DISCOBLOCKS_DRIVERS_DIR=/drivers DISCOBLOCKS_MODULE_CACHE=/var/cache/discoblocks/modules \
    "$chroot" --userspec=65532:65532 "$rootfs" /usr/local/bin/discoblocks "$@"; }
  [ ! -e "$rootfs/bin/sh" ] && [ ! -e "$rootfs/usr/bin/apt" ] || die "the image has a shell or apt"
  run version || die "discoblocks version failed in the image"
  want=$(cd "$build_dir/drivers" && for d in */main.wasm; do echo "${d%/main.wasm}"; done | sort)
  listed=$(run drivers list --drivers-dir /drivers --no-module-cache -o json) ||
    die "discoblocks drivers list failed in the image"
  loaded=$(python3 -c 'import json,sys
for e in json.loads(sys.stdin.read()):
    if e.get("state") == "loaded": print(e["provisioner"])' <<<"$listed" | sort)
  [ "$loaded" = "$want" ] || die "drivers loaded in the image: [$loaded], bundled: [$want]"
  run drivers list --drivers-dir /drivers --no-module-cache
  size=$(python3 -c 'import json,sys
m = json.load(open(sys.argv[1] + "/blobs/" + sys.argv[2].replace(":", "/")))
print(sum(l["size"] for l in m["layers"]))' "$layout" "$digest")
  log "check passed: the image (compressed layers $size bytes, unpacked $(du -sb "$rootfs" | cut -f1) bytes) runs as 65532 and loads every bundled driver"
fi
echo "$digest"
