#!/usr/bin/env bash
# One-command set-up for traycap on Debian/Ubuntu.
#   scripts/setup.sh run    install system + Python packages, then start traycap (the tray app)
#   scripts/setup.sh test   install everything the tests need, then run the whole test suite
#   scripts/setup.sh deps   install only (no run)
# Safe to re-run: apt and pip are skipped or no-ops when everything is there.
set -euo pipefail

mode="${1:-run}"
shift || true
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# System packages. Runtime: X/GTK tray (pystray's gtk backend through PyGObject, which builds
# against the -dev packages), Tk for the settings dialog, D-Bus + notifications, xclip for the
# clipboard, xdg-utils to open folders. Tests add Xvfb, xdotool, a tray host (trayer), a
# notification daemon (dunst), ImageMagick for screenshots, ffmpeg for the recorder benchmark,
# a Secret Service (gnome-keyring, libsecret-tools) for the keyring tests, chromium +
# chromium-driver for the replay page's browser tests (driven over WebDriver), Wine for the
# Windows bench (scripts/windows-bench.sh, run by tests/integration/test_windows_bench.py: the
# real Windows CPython under Debian's Wine), NSIS (a native makensis) to pack the Windows setup
# (scripts/build-windows.sh), and tesseract to read the Windows tray menu and notification off the
# screen (tests/integration/test_windows_installer.py).
# Wayland (docs/wayland.md): recording goes through the desktop's ScreenCast portal and PipeWire,
# read with GStreamer's pipewiresrc through PyGObject (gir1.2-gstreamer-1.0, the -base plugins for
# videoconvert/appsink, gstreamer1.0-pipewire). The Wayland tests run a headless desktop: sway,
# pipewire + wireplumber, xdg-desktop-portal, grim (screenshots), foot and wtype (a client to
# record, typing into it), libglib2.0-bin (`gdbus wait` for bus names), fonts for foot; the
# desktop's user (sway refuses root) runs the system python3 with python3-gi and python3-numpy
# for the capture probe, and traycap itself in a venv of Debian's python3 holding traycap's
# dependencies, in a folder that user can read (root's venv and home are not readable by it:
# scripts/wayland-venv.sh, made once, then cached); and xdg-desktop-portal-wlr is rebuilt from
# Debian's source to cast without a GPU (scripts/build-xdpw.sh: dpkg-dev and patch to unpack and
# patch it, meson, ninja and the -dev packages to build it; ~2 s, then cached).
# Sound (docs/audio.md): the `soundcard` package talks to PulseAudio / PipeWire's pulse server
# through libpulse0 (runtime). The sound tests run a private PulseAudio server (pulseaudio, and
# pactl from pulseaudio-utils), speak with espeak-ng and resample its speech with sox.
runtime_pkgs=(
  python3 python3-venv python3-dev python3-tk build-essential pkg-config
  libgirepository1.0-dev libcairo2-dev gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1
  dbus dbus-x11 libnotify-bin xclip xdg-utils x11-xserver-utils
  gir1.2-gstreamer-1.0 gstreamer1.0-plugins-base gstreamer1.0-pipewire
  libpulse0
)
test_pkgs=(
  xvfb xdotool x11-utils trayer dunst imagemagick ffmpeg desktop-file-utils
  gnome-keyring libsecret-tools chromium chromium-driver wine wine64 nsis tesseract-ocr tesseract-ocr-eng
  sway pipewire pipewire-bin wireplumber xdg-desktop-portal grim foot wtype libglib2.0-bin fonts-dejavu-core
  python3-gi python3-numpy
  dpkg-dev patch meson ninja-build libpipewire-0.3-dev libwayland-dev wayland-protocols libinih-dev libgbm-dev
  libdrm-dev libsystemd-dev
  pulseaudio pulseaudio-utils espeak-ng sox
)
pkgs=("${runtime_pkgs[@]}")
if [[ "$mode" == "test" || "$mode" == "deps-test" ]]; then pkgs+=("${test_pkgs[@]}"); fi

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
    echo "setup: installing Debian packages: ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "setup: Debian packages already installed"
  fi
else
  echo "setup: not a Debian system: install the packages listed in README.md by hand" >&2
fi

# Python: use python3 directly unless the distribution marks it externally managed (PEP 668);
# then a venv that survives re-clones (so a re-run does not rebuild PyGObject).
py="${PYTHON:-python3}"
stdlib="$("$py" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
if [[ -f "$stdlib/EXTERNALLY-MANAGED" && -z "${VIRTUAL_ENV:-}" ]]; then
  venv="${TRAYCAP_VENV:-$HOME/.local/share/traycap-venv}"
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup: creating virtual environment $venv"
    "$py" -m venv "$venv"
  fi
  py="$venv/bin/python"
  echo "setup: using $venv (add $venv/bin to PATH to call traycap directly)"
fi

extras="gtk"
if [[ "$mode" == "test" || "$mode" == "deps-test" ]]; then extras="gtk,test,bench,installer"; fi
echo "setup: pip install -e .[$extras]"
"$py" -m pip install -q --disable-pip-version-check -e ".[$extras]"

if [[ "$mode" == "test" || "$mode" == "deps-test" ]]; then
  # The Wayland tests' portal backend (cached under ~/.cache/traycap/xdpw: a no-op once built).
  echo "setup: xdg-desktop-portal-wlr for the Wayland tests: $(bash "$here/scripts/build-xdpw.sh")"
  # traycap's Python for the Wayland desktop's user (cached, readable by that user: a no-op once made).
  echo "setup: Python for the Wayland tests' desktop user: $(bash "$here/scripts/wayland-venv.sh")"
fi

case "$mode" in
  run) exec "$py" -m traycap "$@" ;;
  test)
    # The Windows setup the suite installs under Wine: built once per change of its inputs and
    # cached outside the clone (minutes when cold, a second when warm); set-up, not test time.
    PYTHON="$py" bash scripts/build-windows.sh
    # Three test processes on two cores (docs/testing.md: what runs in parallel and why it is safe);
    # arguments given here come after, so `-n 0` runs them in this one process.
    exec "$py" -m pytest -n 3 --dist loadfile "$@"
    ;;
  deps|deps-test) echo "setup: done" ;;
  *) echo "usage: scripts/setup.sh run|test|deps [args...]" >&2; exit 2 ;;
esac
