#!/usr/bin/env bash
# Build Traycap.app on macOS (11+), from the repository root or anywhere:
#
#   installer/macos/build_app.sh            -> dist/Traycap.app and dist/Traycap-<version>-macos.zip
#
#   CODESIGN_IDENTITY="Developer ID Application: ..."  sign for distribution (default: ad hoc, "-")
#
# Install: drag Traycap.app into /Applications, open it once (it asks for Screen Recording and
# Accessibility: see PERMISSIONS.md), then `.../Traycap.app/Contents/MacOS/traycap autostart on`
# or "Start at login" in the menu writes ~/Library/LaunchAgents/io.traycap.Traycap.plist.
# Upgrade: replace Traycap.app in place; the data dir (~/Library/Application Support/traycap)
# and the LaunchAgent (which points at /Applications/Traycap.app) stay valid.
set -euo pipefail
[[ "$(uname -s)" == Darwin ]] || { echo "build_app.sh: run this on macOS" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

python3 -m pip install --quiet -e ".[installer]"

# The app icon is assets/traycap.icns (scripts/make_icons.py makes it); the spec points at it.
pyinstaller --noconfirm installer/traycap.spec

# macOS ties Screen Recording / Accessibility grants to the code signature: an ad-hoc
# signature changes with every build, so users re-grant after each upgrade. Sign with a
# Developer ID (and notarize) for builds handed to other people.
identity="${CODESIGN_IDENTITY:--}"
codesign --force --deep --options runtime --sign "$identity" dist/Traycap.app
codesign --verify --deep --strict dist/Traycap.app

version="$(dist/Traycap.app/Contents/MacOS/traycap --version | awk '{print $2}')"
ditto -c -k --keepParent dist/Traycap.app "dist/Traycap-$version-macos.zip"
echo "Built dist/Traycap.app and dist/Traycap-$version-macos.zip"
