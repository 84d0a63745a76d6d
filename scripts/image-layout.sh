#!/usr/bin/env bash
# The container image's file layout, decided here once for both ways of building
# the image: scripts/image.sh (daemonless, here) and the Dockerfile's layout stage.
#
#   scripts/image-layout.sh ROOTFS BINARY DRIVERS_DIR
#
# Fills the empty directory ROOTFS with:
#   /usr/local/bin/discoblocks          the binary, stripped, RUNPATH /usr/local/lib
#   /usr/local/lib/libwasmtime.so       the Wasmtime C API it links against
#   /lib*, /usr/lib/...                 every other shared library it needs (ldd),
#                                       each as a file from the Debian package that
#                                       installed it, at the same path
#   /usr/share/doc/<package>/copyright  the licence of each of those packages
#   /usr/share/discoblocks/packages.tsv package, version and file of each library
#   /drivers/<provisioner>/main.wasm    the bundled drivers (and driver.yaml if any)
#   /etc/passwd, /etc/group             the non-root user nonroot (65532)
#   /var/cache/discoblocks              mount point of the module cache volume
# No shell, no package manager. Every file's time is SOURCE_DATE_EPOCH (default:
# 0), its owner root, its mode 0755 (directories, programs, the loader) or 0644:
# the same inputs give the same bytes.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 ROOTFS BINARY DRIVERS_DIR" >&2; exit 2; }
rootfs=$1 binary=$2 drivers=$3

die() { printf 'image-layout: error: %s\n' "$*" >&2; exit 1; }
[ -x "$binary" ] || die "no binary at $binary"
[ -d "$drivers" ] || die "no drivers directory at $drivers"
command -v patchelf >/dev/null || die "patchelf is missing (scripts/setup.sh installs it)"
mkdir -p "$rootfs"
[ -z "$(ls -A "$rootfs")" ] || die "$rootfs is not empty"

install -D -m 0755 "$binary" "$rootfs/usr/local/bin/discoblocks"
strip --strip-unneeded "$rootfs/usr/local/bin/discoblocks"
# The build tree's RUNPATH names the build directory. Not $ORIGIN: the loader
# finds that through /proc, which a chroot may not have.
patchelf --set-rpath /usr/local/lib "$rootfs/usr/local/bin/discoblocks"

# Shared libraries: ldd resolves the whole closure as the build machine's loader
# does. Wasmtime is not a Debian package; everything else must be.
packages_list="$rootfs/usr/share/discoblocks/packages.tsv"
mkdir -p "$(dirname "$packages_list")"
libraries=$(mktemp)
ldd_out=$(ldd "$binary") || die "ldd $binary failed"
while read -r path; do
  [ -n "$path" ] || continue
  real=$(readlink -f "$path")
  if [ "$(basename "$path")" = libwasmtime.so ]; then
    install -D -m 0644 "$real" "$rootfs/usr/local/lib/libwasmtime.so"
    strip --strip-unneeded "$rootfs/usr/local/lib/libwasmtime.so"
    continue
  fi
  # dpkg knows the file under the path it installed, which on a merged-/usr
  # system may be the /lib or the /usr/lib spelling.
  package=""
  for candidate in "$path" "$real" "/usr$path" "/usr$real" "${path#/usr}" "${real#/usr}"; do
    package=$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$package" ] && break
  done
  [ -n "$package" ] || die "$path belongs to no Debian package"
  version=$(dpkg-query -W -f='${Version}' "$package")
  # Installed under the name the loader looks for (the soname), as a file, with
  # the package's mode: the dynamic loader must stay executable.
  install -D -m "$(stat -c %a "$real")" "$real" "$rootfs$path"
  printf '%s\t%s\t%s\n' "$package" "$version" "$path" >>"$libraries"
  doc_package=${package%%:*}
  if [ -f "/usr/share/doc/$doc_package/copyright" ] && [ ! -f "$rootfs/usr/share/doc/$doc_package/copyright" ]; then
    install -D -m 0644 "/usr/share/doc/$doc_package/copyright" "$rootfs/usr/share/doc/$doc_package/copyright"
  fi
done < <(awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' <<<"$ldd_out" | sort -u)
{ printf 'package\tversion\tfile\n'; LC_ALL=C sort "$libraries"; } >"$packages_list"
rm -f "$libraries"

for dir in "$drivers"/*/; do
  provisioner=$(basename "$dir")
  [ -f "$dir/main.wasm" ] || continue
  install -D -m 0644 "$dir/main.wasm" "$rootfs/drivers/$provisioner/main.wasm"
  [ -f "$dir/driver.yaml" ] && install -m 0644 "$dir/driver.yaml" "$rootfs/drivers/$provisioner/driver.yaml"
done
[ -n "$(ls -A "$rootfs/drivers" 2>/dev/null)" ] || die "no drivers (*/main.wasm) in $drivers"

mkdir -p "$rootfs/etc" "$rootfs/var/cache/discoblocks"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"

# Same bytes from the same inputs: times, owners and modes do not depend on the
# machine or the umask.
find "$rootfs" -type d -exec chmod 0755 {} +
chown -R 0:0 "$rootfs"
find "$rootfs" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
