#!/usr/bin/env bash
# Build the Windows installer on Linux:
#
#   scripts/build-windows.sh            -> dist/traycap-<version>-setup.exe, its .sha256, dist/traycap/
#   scripts/build-windows.sh paths      build (cached) and print, one per line: the setup, the
#                                       test-only "previous version" setup, the app folder (in the cache)
#   scripts/build-windows.sh cache      print the cache folder (below)
#
# How (docs/install.md, "Building the Windows installer"):
#   1. the Windows bench (scripts/windows-bench.sh): the Windows CPython 3.13 under Wine and
#      the hash-pinned Windows wheels of traycap's dependencies and of PyInstaller;
#   2. PyInstaller runs inside that Python under Wine (installer/traycap.spec) in a copy of the
#      bench's pristine Wine prefix. The bench's WMI shim (deps/sitecustomize.py, see
#      windows-bench.sh) is on the build's path only: PyInstaller bundles what traycap imports,
#      and nothing imports sitecustomize, so the app never contains it;
#   3. Debian's makensis (native, no Wine) packs the folder into the setup
#      (installer/windows/traycap.nsi), which is 64-bit like the app: it runs under wine64.
# The setup's SHA-256 is printed and written beside it (traycap-<version>-setup.exe.sha256).
#
# Cached: ${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/traycap}/windows-build/KEY/, KEY being a
# hash of everything the build is made of (traycap/, installer/, the icon, [project] of
# pyproject.toml, these scripts, the Windows pins, the Wine and NSIS versions), so a fresh clone on the same machine (CI)
# reuses it; the two newest builds are kept (an upgrade from the one before can be tried by hand).
# One build at a time (flock). Each KEY holds:
#   traycap/                              the app folder (PyInstaller's dist)
#   traycap-<version>-setup.exe(.sha256)  the setup
#   previous/traycap-0.0.1-setup.exe      the same app as a setup of an older version, quickly
#                                         compressed: what tests/integration/test_windows_installer.py
#                                         upgrades from (it leaves a file the upgrade must remove)
#   build.log, seconds
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/traycap}/windows-build"
py="${PYTHON:-python3}"
previous_version="0.0.1"
keep_builds=2
work=""
trap 'if [[ -n "$work" ]]; then WINEPREFIX="$work/prefix" wineserver -k 2>/dev/null || true; rm -rf "$work"; fi' EXIT

mode=build
case "${1:-}" in
  build|paths|cache) mode="$1"; shift ;;
  "") ;;
  *) echo "usage: scripts/build-windows.sh [build|paths|cache]" >&2; exit 2 ;;
esac
if [[ "$mode" == cache ]]; then
  echo "$cache"
  exit 0
fi
command -v makensis >/dev/null || { echo "build-windows: makensis is missing: apt-get install nsis (scripts/setup.sh test does)" >&2; exit 2; }

# traycap's one version: the __version__ line of traycap/__init__.py (pyproject reads it too).
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$here/traycap/__init__.py")"
[[ -n "$version" ]] || { echo "build-windows: no __version__ line in traycap/__init__.py" >&2; exit 2; }
# Windows wants four numbers (VIProductVersion): 0.3.0 -> 0.3.0.0; a suffix (rc1) is dropped there.
version4="$("$py" -c 'import re, sys; n = re.findall(r"\d+", sys.argv[1].split("+")[0])[:4]; print(".".join(n + ["0"] * (4 - len(n))))' "$version")"

bench="$(bash "$here/scripts/windows-bench.sh" prepare | tail -n1)"

inputs_key() {
  # Every file the build reads from the checkout, by content, plus the tools' versions.
  {
    (cd "$here" && find traycap installer/traycap.spec installer/traycap_entry.py installer/pyi_rth_*.py \
        installer/windows assets/traycap.ico scripts/build-windows.sh scripts/windows-bench.sh \
        -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum)
    # Of pyproject.toml, the [project] table (version, dependencies): not the linters' or pytest's settings.
    "$py" -c 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))["project"], sort_keys=True))' \
      "$here/pyproject.toml"
    sha256sum "$bench/requirements-win.txt" | cut -d' ' -f1
    wine --version 2>/dev/null
    makensis -VERSION
    echo "previous=$previous_version"
  } | sha256sum | cut -c1-16
}

key="$(inputs_key)"
out="$cache/$key"
setup_name="traycap-$version-setup.exe"

build() {
  local started pyinst_s nsis_s
  started=$SECONDS
  work="$(mktemp -d "$cache/tmp.XXXXXX")"
  echo "build-windows: building traycap $version for Windows in $work (PyInstaller under Wine: a few minutes)" >&2

  # A private copy of the pristine prefix: the build's Wine processes share nothing with the bench's.
  local pristine
  pristine="$(bash "$here/scripts/windows-bench.sh" pristine 9>&- | tail -n1)"
  cp -a "$pristine" "$work/prefix"
  local winwork
  winwork="Z:$(echo "$work" | tr / '\\')"
  (
    export WINEPREFIX="$work/prefix" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    export PYTHONIOENCODING=utf-8 PYTHONDONTWRITEBYTECODE=1
    export PYTHONPATH="Z:$(echo "$bench/deps" | tr / '\\');Z:$(echo "$here" | tr / '\\')"
    cd "$here"
    # A pipe, not a file: Python 3.13 under Wine 8 cannot use a redirected regular file as a standard
    # stream. The UCRT API sets are part of Windows 10 and 11, which PyInstaller cannot know under Wine.
    wine "$bench/py/cp313/python.exe" -m PyInstaller --noconfirm --log-level WARN \
      --distpath "$winwork\\dist" --workpath "$winwork\\work" installer/traycap.spec 2>&1 \
      | { grep -v "Library not found: could not resolve 'api-ms-win-crt-" || true; } > "$work/build.log"
    echo "PyInstaller exit status ${PIPESTATUS[0]}" >> "$work/build.log"
    wineserver -w
  )
  if ! grep -q "exit status 0$" "$work/build.log" || [[ ! -f "$work/dist/traycap/traycapw.exe" ]]; then
    cp "$work/build.log" "$cache/failed-build.log"  # $work goes with the exit
    tail -n 40 "$work/build.log" >&2
    echo "build-windows: PyInstaller failed (the whole log: $cache/failed-build.log)" >&2
    exit 1
  fi
  pyinst_s=$((SECONDS - started))

  local nsis=(makensis -V2 -INPUTCHARSET UTF8 "-DAPPDIR=$work/dist/traycap" "-DICON=$here/assets/traycap.ico")
  "${nsis[@]}" "-DVERSION=$version" "-DVERSION4=$version4" "-DOUTFILE=$work/$setup_name" \
    "$here/installer/windows/traycap.nsi" >> "$work/build.log"
  mkdir -p "$work/previous"
  # The "previous version" only needs to install quickly: zlib instead of solid LZMA (~8x faster).
  "${nsis[@]}" "-DVERSION=$previous_version" "-DVERSION4=$previous_version.0" -DCOMPRESSOR=zlib -DPREVIOUS_MARKER=1 \
    "-DOUTFILE=$work/previous/traycap-$previous_version-setup.exe" "$here/installer/windows/traycap.nsi" >> "$work/build.log"
  nsis_s=$((SECONDS - started - pyinst_s))

  (cd "$work" && sha256sum "$setup_name" > "$setup_name.sha256")
  mv "$work/dist/traycap" "$work/traycap"
  rm -rf "$work/dist" "$work/work" "$work/prefix"
  echo "total=$((SECONDS - started)) pyinstaller=$pyinst_s nsis=$nsis_s" > "$work/seconds"
  rm -rf "$out"
  mv -T "$work" "$out"
  work=""
  # The newest builds stay (this one and the one before); older ones go.
  local old
  while IFS= read -r old; do rm -rf "$old"; done < <(
    find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp.*' -printf '%T@ %p\n' | sort -rn \
      | tail -n +$((keep_builds + 1)) | cut -d' ' -f2-)
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
rm -rf "$cache"/tmp.*  # with the lock held: a killed build's
if [[ ! -f "$out/seconds" ]]; then
  build
else
  touch "$out"  # the newest used, for the pruning above
fi
exec 9>&-

case "$mode" in
  paths)
    echo "$out/$setup_name"
    echo "$out/previous/traycap-$previous_version-setup.exe"
    echo "$out/traycap"
    ;;
  build)
    mkdir -p "$here/dist"
    rm -rf "$here/dist/traycap" "$here"/dist/traycap-*-setup.exe "$here"/dist/traycap-*-setup.exe.sha256
    cp -a "$out/traycap" "$here/dist/traycap"
    cp "$out/$setup_name" "$out/$setup_name.sha256" "$here/dist/"
    echo "build-windows: $(cat "$out/seconds") (seconds; cache $out)" >&2
    echo "dist/$setup_name ($(du -m "$here/dist/$setup_name" | cut -f1) MB; app folder $(du -sm "$here/dist/traycap" | cut -f1) MB)"
    echo "SHA-256 $(cut -d' ' -f1 "$here/dist/$setup_name.sha256")  dist/$setup_name"
    ;;
esac
