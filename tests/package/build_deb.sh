#!/usr/bin/env bash
# Builds dnsd's Debian package from this tree (debian/) and moves it into OUTDIR: dpkg-buildpackage
# writes beside the tree, never into it. Used by `make deb` and by the package test.
# Usage: tests/package/build_deb.sh OUTDIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
version=$(cd "$src" && dpkg-parsechangelog -S Version)
cd "$src"
dpkg-buildpackage -b -us -uc -j2 > "$out/dpkg-buildpackage.log" 2>&1 || { tail -40 "$out/dpkg-buildpackage.log"; exit 1; }
arch=$(dpkg --print-architecture)
for f in "dnsd_${version}_${arch}.deb" "dnsd-dbgsym_${version}_${arch}.deb" "dnsd_${version}_${arch}.buildinfo" "dnsd_${version}_${arch}.changes"; do
  [ -e "../$f" ] && mv -f "../$f" "$out/"
done
echo "$out/dnsd_${version}_${arch}.deb"
