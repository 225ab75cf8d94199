"""`traycap autostart on|off|status`: start the tray app at login for the current user."""

from __future__ import annotations

import argparse

from traycap.autostart import Autostart, AutostartStatus, LaunchCommand, current_launch_command, default_autostart
from traycap.commands.common import EXIT_OK, EXIT_USAGE, fail
from traycap.context import Context


def _print_status(status: AutostartStatus, backend: Autostart, expected: LaunchCommand) -> None:
    if status.enabled:
        print(f"Autostart is on: traycap starts {backend.capabilities.effective}.")
    else:
        print("Autostart is off.")
    print(f"  entry: {status.location}")
    if status.command:
        print(f"  runs:  {status.command}")
    for note in status.notes:
        print(f"  note:  {note}")
    if status.enabled and status.current is False:
        print(f"  note:  this traycap would start as: {expected.display()}")
        print("         run `traycap autostart on` to point the entry at it")


def run(
    args: argparse.Namespace,
    ctx: Context,
    *,
    backend: Autostart | None = None,
    command: LaunchCommand | None = None,
) -> int:
    autostart = backend if backend is not None else default_autostart()
    expected = command if command is not None else current_launch_command()
    action = args.action
    if action == "on":
        status = autostart.enable(expected)
        if not status.enabled:
            _print_status(status, autostart, expected)
            return fail("the entry was written but the system still reports autostart as off (see the notes above)")
        if expected.env and not autostart.capabilities.carries_env:
            names = ", ".join(k for k, _ in expected.env)
            print(f"traycap: warning: {names} is set here but the login entry cannot carry it; "
                  "set it in your user environment too")
    elif action == "off":
        status = autostart.disable()
        if status.enabled:
            _print_status(status, autostart, expected)
            return fail("autostart is still on after removing traycap's entry (see the notes above)")
    elif action == "status":
        status = autostart.status(expected)
    else:  # argparse restricts the choices; this is for direct callers
        return EXIT_USAGE
    _print_status(status, autostart, expected)
    return EXIT_OK
