"""The autostart backend for this platform, chosen once: xdg (Linux, BSD), windows, launchagent (macOS),
none elsewhere; `TRAYCAP_AUTOSTART_BACKEND` overrides the choice. Each backend is given the OS objects
it needs here (a directory, the registry, launchctl), so every backend runs in tests on any machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from traycap.autostart.base import BACKEND_ENV, Autostart, UnsupportedAutostart
from traycap.autostart.macos import LaunchAgentAutostart, run_subprocess
from traycap.autostart.windows import WindowsAutostart, WinregRegistry
from traycap.autostart.xdg import XdgAutostart, xdg_dirs
from traycap.errors import AutostartError


def default_autostart(
    environ: Mapping[str, str] | None = None, platform: str | None = None, home: Path | None = None
) -> Autostart:
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    home_dir = Path.home() if home is None else home
    choice = env.get(BACKEND_ENV, "").strip().lower()
    if not choice:
        if plat == "win32":
            choice = "windows"
        elif plat == "darwin":
            choice = "launchagent"
        elif plat.startswith(("linux", "freebsd", "openbsd", "netbsd")):
            choice = "xdg"
        else:
            choice = "none"
    if choice == "xdg":
        config_home, config_dirs = xdg_dirs(env, home_dir)
        return XdgAutostart(config_home=config_home, config_dirs=config_dirs)
    if choice == "windows":
        appdata = env.get("APPDATA")
        startup = Path(appdata, "Microsoft", "Windows", "Start Menu", "Programs", "Startup") if appdata else None
        return WindowsAutostart(registry=WinregRegistry(), startup_dir=startup)
    if choice == "launchagent":
        return LaunchAgentAutostart(
            agents_dir=home_dir / "Library" / "LaunchAgents", run=run_subprocess,
            uid=os.getuid() if hasattr(os, "getuid") else 0,
        )
    if choice == "none":
        return UnsupportedAutostart(f"no autostart mechanism is known for platform {plat!r}")
    raise AutostartError(
        f"Unknown {BACKEND_ENV}={choice!r}", "use one of: xdg, windows, launchagent, none (or unset it)"
    )
