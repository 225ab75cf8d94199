"""Start traycap at login for the current user, on Linux, Windows and macOS.

One small interface, one backend per platform; the operating system is reached
only through the objects each backend is given, so every backend runs in tests
on any machine (a tmp dir for files, a dict for the registry, a fake launchctl).

    Autostart (Protocol)   .name .capabilities  status(expected) enable(command) disable()
    ├── XdgAutostart       $XDG_CONFIG_HOME/autostart/traycap.desktop (Linux, BSD)
    ├── WindowsAutostart   HKCU\\...\\CurrentVersion\\Run value "traycap"; also knows the
    │                      installer's Start-up folder shortcut and Task Manager's on/off
    ├── LaunchAgentAutostart  ~/Library/LaunchAgents/<label>.plist (+ launchctl to report)
    └── UnsupportedAutostart  everything else; status works, enable says why not

`TRAYCAP_AUTOSTART_BACKEND` (xdg | windows | launchagent | none) overrides the
platform's choice (factory.py). What the entry launches comes from `launch_command()`.
This module only names the package's public parts; each platform's code is in its own module.
"""


from __future__ import annotations

from traycap.autostart.base import (
    APP_NAME,
    BACKEND_ENV,
    CARRIED_ENV,
    DESKTOP_FILE,
    LAUNCH_AGENT_LABEL,
    RUN_VALUE,
    STARTUP_SHORTCUT,
    Autostart,
    AutostartStatus,
    Capabilities,
    LaunchCommand,
    UnsupportedAutostart,
    current_launch_command,
    launch_command,
)
from traycap.autostart.factory import default_autostart
from traycap.autostart.macos import (
    CommandResult,
    LaunchAgentAutostart,
    Runner,
    launch_agent_plist,
    run_subprocess,
)
from traycap.autostart.windows import (
    APPROVED_FOLDER_KEY,
    APPROVED_RUN_KEY,
    RUN_KEY,
    Registry,
    WindowsAutostart,
    WinregRegistry,
)
from traycap.autostart.xdg import (
    XdgAutostart,
    format_exec,
    parse_exec,
    quote_exec_arg,
)

__all__ = [
    "APPROVED_FOLDER_KEY",
    "APPROVED_RUN_KEY",
    "APP_NAME",
    "BACKEND_ENV",
    "CARRIED_ENV",
    "DESKTOP_FILE",
    "LAUNCH_AGENT_LABEL",
    "RUN_KEY",
    "RUN_VALUE",
    "STARTUP_SHORTCUT",
    "Autostart",
    "AutostartStatus",
    "Capabilities",
    "CommandResult",
    "LaunchAgentAutostart",
    "LaunchCommand",
    "Registry",
    "Runner",
    "UnsupportedAutostart",
    "WindowsAutostart",
    "WinregRegistry",
    "XdgAutostart",
    "current_launch_command",
    "default_autostart",
    "format_exec",
    "launch_agent_plist",
    "launch_command",
    "parse_exec",
    "quote_exec_arg",
    "run_subprocess",
]
