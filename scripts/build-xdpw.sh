#!/usr/bin/env bash
# xdg-desktop-portal-wlr for the Wayland tests: Debian 12's 0.7.0, rebuilt to cast without a GPU.
#
#   scripts/build-xdpw.sh          print the path of the binary, building it first if the cache lacks it
#   scripts/build-xdpw.sh cache    print the cache folder
#
# Debian 12's package refuses to cast unless the compositor offers a dmabuf format, which a
# headless sway on the pixman renderer never does (Start answers 2); scripts/xdpw-shm-casts.patch
# reduces that check to the SHM format, as upstream 0.8 does. The source comes from Debian
# itself (`apt-get source`, through a private sources list holding one deb-src line for bookworm
# main, on the mirror the machine's own apt uses), the build dependencies are installed by
# scripts/setup.sh (test mode), and the build takes ~2 s.
#
# The binary is cached outside the clone, so a fresh clone on the same machine (CI) reuses it:
# ${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/traycap}/xdpw/KEY/xdg-desktop-portal-wlr, KEY
# being a hash of this script, the patch, the Debian version and the libraries it builds
# against; only the newest key is kept. One build at a time (flock on xdpw/.lock); a build
# happens in xdpw/tmp.* and is renamed into place once complete.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/traycap}/xdpw"
package="xdg-desktop-portal-wlr"
version="0.7.0-1"
suite="bookworm"
patch="$here/scripts/xdpw-shm-casts.patch"
build_deps=(libpipewire-0.3-dev libwayland-dev wayland-protocols libinih-dev libgbm-dev libdrm-dev libsystemd-dev)

if [[ "${1:-}" == "cache" ]]; then echo "$cache"; exit 0; fi

key="$( { cat "${BASH_SOURCE[0]}" "$patch"; echo "$version $(uname -m)";
          dpkg-query -W -f='${Package} ${Version}\n' "${build_deps[@]}" 2>/dev/null; } | sha256sum | cut -c1-16)"
binary="$cache/$key/$package"
if [[ -x "$binary" ]]; then echo "$binary"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -x "$binary" ]]; then echo "$binary"; exit 0; fi  # built by the run we waited for

work="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The mirror the machine's apt already uses for bookworm main (no host is named here).
mirror="$(apt-get indextargets --format '$(REPO_URI)' "Release: $suite" 'Component: main' 'Identifier: Packages' \
          | head -n1)"
if [[ -z "$mirror" ]]; then
  echo "build-xdpw: apt knows no $suite main repository to fetch the source from" >&2
  exit 1
fi
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$work/apt/sources.list"
apt_private=(-q -o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update >&2
(cd "$work/src" && apt-get "${apt_private[@]}" source --download-only "$package=$version" >&2)
dpkg-source -x "$work/src/${package}_${version}.dsc" "$work/src/tree" >&2
patch -d "$work/src/tree" -p1 --forward < "$patch" >&2
meson setup "$work/src/tree/build" "$work/src/tree" --buildtype=release -Dman-pages=disabled -Dsystemd=disabled >&2
ninja -C "$work/src/tree/build" >&2
mkdir -p "$work/out"
install -m 0755 "$work/src/tree/build/$package" "$work/out/$package"
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "tmp.*" -exec rm -rf {} +  # older keys
mv -T "$work/out" "$cache/$key"
echo "$binary"
