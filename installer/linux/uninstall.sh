#!/usr/bin/env bash
# Remove traycap for the current user: the program, its menu entry and icon, and autostart.
# Sessions and settings stay unless --purge-data is given.
#
#   installer/linux/uninstall.sh [--purge-data [--yes]]
#
#   --purge-data  also delete the data dir (every recorded session and the upload
#                 settings) and the logs; asks first when run from a terminal
#   --yes         do not ask
set -euo pipefail

prefix="${TRAYCAP_PREFIX:-$HOME/.local}"
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
state_home="${XDG_STATE_HOME:-$HOME/.local/state}"
purge=0
yes=0
while (($#)); do
  case "$1" in
    --purge-data) purge=1; shift ;;
    --yes|-y) yes=1; shift ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: uninstall.sh [--purge-data [--yes]]" >&2; exit 2 ;;
  esac
done

opt="$prefix/opt"
program=""
for p in "$opt/traycap/traycap" "$opt/traycap-venv/bin/traycap"; do
  if [[ -x "$p" ]]; then program="$p"; break; fi
done

# Autostart first, while the program that knows its entry is still here.
if [[ -n "$program" ]] && "$program" autostart off >/dev/null 2>&1; then
  :
else
  rm -f "$config_home/autostart/traycap.desktop"
fi

# The data dir as traycap sees it (TRAYCAP_HOME or the platform default), asked before the
# program goes.
data_dir="${TRAYCAP_HOME:-$data_home/traycap}"
log_dir="$state_home/traycap"

# A tray app running from this install is asked to quit first (SIGTERM: an upload pauses at
# a part boundary and its state is kept).
tray_lock="$data_dir/tray.lock"
if [[ -f "$tray_lock" ]] && command -v flock >/dev/null && ! flock -n "$tray_lock" true 2>/dev/null; then
  pid="$(tr -dc 0-9 < "$tray_lock")"
  if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]]; then
    what="$(tr '\0' ' ' < "/proc/$pid/cmdline") $(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    if [[ "$what" == *"$opt/traycap"* ]]; then
      echo "Stopping the running traycap (process $pid)"
      kill -TERM "$pid" 2>/dev/null && flock -w 120 "$tray_lock" true || echo "traycap (process $pid) is still running: quit it from its menu" >&2
    fi
  fi
fi

rm -rf "$opt/traycap" "$opt/traycap-venv"
if [[ -L "$prefix/bin/traycap" ]]; then
  case "$(readlink "$prefix/bin/traycap")" in
    "$opt"/traycap/*|"$opt"/traycap-venv/*) rm -f "$prefix/bin/traycap" ;;
  esac
fi
rm -f "$data_home/applications/traycap.desktop"
rm -f "$data_home"/icons/hicolor/*/apps/traycap.png
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data_home/applications" 2>/dev/null || true
echo "Removed the traycap program, menu entry and autostart."

if ((purge)); then
  if ((!yes)) && [[ -t 0 ]]; then
    read -r -p "Delete every session and the upload settings in $data_dir? Type yes: " answer
    [[ "$answer" == "yes" ]] || { echo "Kept $data_dir"; exit 0; }
  fi
  # Delete what traycap keeps there, by name, never the folder blindly: TRAYCAP_HOME may
  # point at a folder that also holds other things.
  if [[ -d "$data_dir" ]]; then
    rm -rf "$data_dir/sessions" "$data_dir/logs"
    rm -f "$data_dir"/upload-config.json "$data_dir"/app-settings.json "$data_dir"/*.lock "$data_dir"/.tmp-*
    rmdir "$data_dir" 2>/dev/null || echo "Left $data_dir in place: it holds files that are not traycap's."
  fi
  rm -rf "$log_dir"
  echo "Deleted the sessions and settings in $data_dir and the logs in $log_dir."
elif [[ -d "$data_dir" ]]; then
  echo "Kept your sessions and settings in $data_dir (delete them with --purge-data)."
fi
