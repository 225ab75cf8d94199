#!/usr/bin/env bash
# Install traycap for the current user, without root. Re-running it upgrades in place and
# keeps the data dir (sessions) and the upload settings, which live elsewhere.
#
#   installer/linux/install.sh [--bundle DIR | --venv] [--autostart] [--source DIR]
#
#   --bundle DIR  install a PyInstaller build (the folder holding the `traycap` binary);
#                 default: dist/traycap next to this repo, when it exists
#   --venv        install from source into a virtual environment instead (needs python3;
#                 the tray menu needs Debian's python3-gi gir1.2-gtk-3.0
#                 gir1.2-ayatanaappindicator3-0.1 python3-tk, which the venv sees
#                 through --system-site-packages)
#   --source DIR  the source tree for --venv (default: this repo)
#   --autostart   also start traycap at login (`traycap autostart on`)
#
# Where things go ($TRAYCAP_PREFIX, default ~/.local):
#   program       $PREFIX/opt/traycap/            (build)  or  $PREFIX/opt/traycap-venv/ (venv)
#   command       $PREFIX/bin/traycap             symlink to the program
#   menu entry    $XDG_DATA_HOME/applications/traycap.desktop
#   icon          $XDG_DATA_HOME/icons/hicolor/<size>/apps/traycap.png
#   autostart     $XDG_CONFIG_HOME/autostart/traycap.desktop (written by traycap itself)
# Never touched: the data dir ($TRAYCAP_HOME, default ~/.local/share/traycap) and the logs.
# A tray app running from this install is stopped (SIGTERM) before its files are replaced
# and started again afterwards.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
prefix="${TRAYCAP_PREFIX:-$HOME/.local}"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
mode=""
bundle=""
source_dir="$repo"
autostart=0

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while (($#)); do
  case "$1" in
    --bundle) [[ $# -ge 2 ]] || die "--bundle needs a folder"; mode=bundle; bundle="$2"; shift 2 ;;
    --venv) mode=venv; shift ;;
    --source) [[ $# -ge 2 ]] || die "--source needs a folder"; source_dir="$2"; shift 2 ;;
    --autostart) autostart=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if [[ -z "$mode" ]]; then
  if [[ -x "$repo/dist/traycap/traycap" ]]; then
    mode=bundle; bundle="$repo/dist/traycap"
  else
    die "no build found at $repo/dist/traycap: build one (pyinstaller installer/traycap.spec), pass --bundle DIR, or use --venv"
  fi
fi

opt="$prefix/opt"
bin="$prefix/bin"
mkdir -p "$opt" "$bin"

# A tray app running from the folder being replaced would lose the files it imports later
# (recording, settings): stop it gracefully first (SIGTERM: uploads pause at a part boundary
# and resume), and start the new version afterwards. Only a traycap running from this
# install is stopped; the tray's lock file holds its PID while it runs.
data_dir="${TRAYCAP_HOME:-$data_home/traycap}"
tray_lock="$data_dir/tray.lock"
restart_tray=0
stop_running_tray() {
  [[ -f "$tray_lock" ]] && command -v flock >/dev/null || return 0
  if flock -n "$tray_lock" true 2>/dev/null; then return 0; fi  # nobody holds it
  local pid what
  pid="$(tr -dc 0-9 < "$tray_lock")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 0
  what="$(tr '\0' ' ' < "/proc/$pid/cmdline") $(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  [[ "$what" == *"$opt/traycap"* ]] || return 0
  echo "Stopping the running traycap (process $pid) for the upgrade; it is started again afterwards"
  kill -TERM "$pid" 2>/dev/null || return 0
  flock -w 120 "$tray_lock" true || die "traycap (process $pid) did not stop within 120 s: quit it from its menu and re-run"
  restart_tray=1
}

# Replace a program folder as one step: copy beside it, then swap, so a failed copy leaves
# the old version working. A running traycap keeps its open files until it exits.
swap_in() {  # swap_in NEW_DIR FINAL_DIR
  local new="$1" final="$2" old="$2.old.$$"
  if [[ -e "$final" ]]; then mv "$final" "$old"; fi
  mv "$new" "$final"
  rm -rf "$old"
}

case "$mode" in
  bundle)
    bundle="$(cd "$bundle" && pwd)" || die "no such folder: $bundle"
    [[ -x "$bundle/traycap" ]] || die "$bundle/traycap is not an executable: pass the folder of a PyInstaller build"
    "$bundle/traycap" --version >/dev/null || die "$bundle/traycap does not run on this system"
    stop_running_tray
    target="$opt/traycap"
    staging="$opt/.traycap.new.$$"
    rm -rf "$staging"
    cp -a "$bundle" "$staging"
    swap_in "$staging" "$target"
    program="$target/traycap"
    # Only one install at a time: a venv from an earlier --venv install goes.
    rm -rf "$opt/traycap-venv"
    icon_src="$(find "$target" -path '*traycap/assets/traycap.png' -print -quit)"
    icon_sizes="$(find "$target" -path '*assets/png' -type d -print -quit)"
    ;;
  venv)
    py="${PYTHON:-python3}"
    command -v "$py" >/dev/null || die "$py not found: install python3 and python3-venv"
    [[ -f "$source_dir/pyproject.toml" ]] || die "$source_dir is not a traycap source tree"
    target="$opt/traycap-venv"
    if [[ ! -x "$target/bin/python" ]]; then
      "$py" -m venv --system-site-packages "$target" || die "could not create a venv (Debian: apt install python3-venv)"
    fi
    # Upgrade in place: the venv's python path, which autostart points at, stays the same.
    stop_running_tray
    "$target/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$source_dir" \
      || die "pip install failed (see above)"
    program="$target/bin/traycap"
    rm -rf "$opt/traycap"
    icon_src="$source_dir/traycap/assets/traycap.png"
    icon_sizes="$source_dir/assets/png"
    if ! "$target/bin/python" -c 'import gi' 2>/dev/null; then
      echo "install.sh: note: PyGObject is missing; for the tray menu install the Debian packages" >&2
      echo "  python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 python3-tk" >&2
    fi
    ;;
esac

ln -sfn "$program" "$bin/traycap"

# Desktop Entry Exec quoting: a path with reserved characters goes in double quotes, with
# " ` $ \ escaped, and the key-file layer doubles every backslash.
exec_quote() {
  local s="$1"
  s="${s//%/%%}"
  if [[ "$s" =~ [[:space:]\"\'\\\>\<~\|\&\;\$\*\?\#\(\)\`] ]]; then
    s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//\`/\\\`}"; s="${s//\$/\\\$}"
    s="\"$s\""
  fi
  printf '%s' "${s//\\/\\\\}"
}

apps="$data_home/applications"
mkdir -p "$apps"
exec_value="$(exec_quote "$program")"
tmp_desktop="$(mktemp "$apps/.traycap.desktop.XXXXXX")"
while IFS= read -r line; do
  if [[ "$line" == Exec=* ]]; then line="Exec=$exec_value tray"; fi
  printf '%s\n' "$line"
done < "$here/traycap.desktop" > "$tmp_desktop"
chmod 0644 "$tmp_desktop"
mv -f "$tmp_desktop" "$apps/traycap.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" 2>/dev/null || true

install_icon() {
  # The PNG header tells the size, which names the hicolor folder.
  local w h icon_dir
  read -r w h < <(od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
  icon_dir="$data_home/icons/hicolor/${w}x${h}/apps"
  mkdir -p "$icon_dir"
  cp -f "$1" "$icon_dir/traycap.png"
}
# Every size made from the master (assets/png), so menus at 16-512 px need no scaling;
# the package's own 256 px artwork when they are not there.
if [[ -n "${icon_sizes:-}" && -d "$icon_sizes" ]]; then
  for png in "$icon_sizes"/traycap-*.png; do [[ -f "$png" ]] && install_icon "$png"; done
elif [[ -n "${icon_src:-}" && -f "$icon_src" ]]; then
  install_icon "$icon_src"
fi

# Autostart: on when asked, and an existing entry is refreshed so it points at this install.
was_on="$("$program" autostart status 2>/dev/null || true)"
if ((autostart)) || [[ "$was_on" == "Autostart is on"* ]]; then
  "$program" autostart on >/dev/null || die "could not turn autostart on (run: $program autostart on)"
  autostart_text="on (traycap starts at login)"
else
  autostart_text="off (turn on: traycap autostart on)"
fi

if ((restart_tray)); then
  if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    setsid -f "$program" tray </dev/null >/dev/null 2>&1
    restarted="  restarted the tray app"
  else
    restarted="  note: no display here: start traycap again from your desktop session"
  fi
fi

version="$("$program" --version)"
echo "Installed $version ($mode) in ${target}"
echo "  command:   $bin/traycap"
echo "  menu:      $apps/traycap.desktop"
echo "  autostart: $autostart_text"
if [[ -n "${restarted:-}" ]]; then echo "$restarted"; fi
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "  note: $bin is not on your PATH; add it (e.g. in ~/.profile) or call $bin/traycap" ;;
esac
echo "First run: traycap config set bucket=NAME region=REGION accessKeyId=... secretAccessKey=...  (or profile=NAME)"
echo "           traycap config test        (then start it from the menu or run: traycap)"
