#!/usr/bin/env bash
# The Python that traycap runs with inside the Wayland tests' desktop, as that desktop's unprivileged user.
#
#   scripts/wayland-venv.sh          print the venv's python, making the venv first if the cache lacks it
#   scripts/wayland-venv.sh dir      print the cache folder
#
# The headless Wayland desktop (tests/support/wayland.py) runs as a user the harness creates, because
# sway refuses root. That user cannot enter root's home (0700), where the test runner's own Python
# and its packages live, and the system python3 lacks PyAV, OpenCV, boto3, pystray... which a whole
# `traycap record` or `traycap` (the tray) needs. So: a venv made from Debian's python3 with
# --system-site-packages (python3-gi and python3-numpy come from Debian, as on a user's desktop),
# holding traycap's dependencies from pyproject.toml (not traycap itself: the tests put a copy of
# the checkout on PYTHONPATH), in a folder every user can read:
#   as root:   /var/cache/traycap-test/wayland-venv/KEY
#   otherwise: ${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/traycap}/wayland-venv/KEY (the desktop runs as us)
# KEY is a hash of this script, the dependency list and the python3 version; only the newest key is
# kept. One build at a time (flock on .lock); a build happens in tmp.* and is renamed into place once
# complete (`python -m pip` is how it is used, so the venv's own script shebangs never matter).
# TRAYCAP_WAYLAND_VENV_DIR overrides the folder.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
system_python=/usr/bin/python3
if [[ -n "${TRAYCAP_WAYLAND_VENV_DIR:-}" ]]; then
  cache="$TRAYCAP_WAYLAND_VENV_DIR"
elif [[ $(id -u) -eq 0 ]]; then
  cache=/var/cache/traycap-test/wayland-venv
else
  cache="${TRAYCAP_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?}/.cache}/traycap}/wayland-venv"
fi
if [[ "${1:-}" == "dir" ]]; then echo "$cache"; exit 0; fi

# traycap's runtime dependencies, as pyproject.toml lists them (PyGObject is Debian's python3-gi).
deps="$("$system_python" - "$here/pyproject.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
EOF
)"
key="$( { cat "${BASH_SOURCE[0]}"; echo "$deps"; "$system_python" -VV; uname -m; } | sha256sum | cut -c1-16)"
python="$cache/$key/bin/python"
if [[ -x "$python" ]]; then echo "$python"; exit 0; fi

mkdir -p "$cache"
chmod 755 "$cache" "$(dirname "$cache")" 2>/dev/null || true
exec 9>"$cache/.lock"
flock 9
if [[ -x "$python" ]]; then echo "$python"; exit 0; fi  # made by the run we waited for

work="$(mktemp -d "$cache/tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$system_python" -m venv --system-site-packages "$work/venv" >&2
mapfile -t dep_list <<<"$deps"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "${dep_list[@]}" >&2
# pystray is not imported: it opens a display at import time.
"$work/venv/bin/python" -c 'import av, numpy, boto3, PIL, platformdirs, plyer, keyring, gi' >&2 \
  || { echo "wayland-venv: the venv cannot import traycap's dependencies" >&2; exit 1; }
chmod -R a+rX "$work/venv"
for old in "$cache"/*/; do
  [[ "$old" == "$cache/tmp."* ]] || rm -rf "$old"
done
mv "$work/venv" "$cache/$key"
chmod 755 "$cache/$key"
echo "$python"
