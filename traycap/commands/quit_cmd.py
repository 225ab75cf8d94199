"""`traycap quit`: ask the running tray app to quit as its menu's Quit does, and wait until it has.

The Windows installer runs it before it replaces or removes the program (an upgrade then
starts the tray again when this said it was running); anyone may run it from a terminal.
A recording is stopped and exported and an upload pauses at a part boundary, as with Quit.
"""

from __future__ import annotations

import argparse

from traycap.commands.common import EXIT_OK, fail
from traycap.context import Context
from traycap.osutil import quit_request
from traycap.storage.filelock import PidLock

# Nothing was running: distinct from success, so that an installer knows not to restart it.
EXIT_NOT_RUNNING = 3
# The tray's own Quit waits up to a minute for an export and half a minute for the upload.
DEFAULT_TIMEOUT_S = 120.0
_POLL_S = 0.1


def run(args: argparse.Namespace, ctx: Context) -> int:
    lock_path = ctx.paths.instance_lock
    if not PidLock.is_held(lock_path):
        print("traycap is not running")
        return EXIT_NOT_RUNNING
    pid = PidLock(lock_path).holder_pid()
    who = f"traycap (process {pid})" if pid else "traycap"
    if not quit_request.request_quit(ctx.paths.root, pid):
        return fail(f"could not ask {who} to quit: it does not listen for the request (an older version?); "
                    "quit it from its menu")
    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_S
    deadline = ctx.clock.monotonic() + timeout
    while PidLock.is_held(lock_path):
        if ctx.clock.monotonic() >= deadline:
            return fail(f"{who} was asked to quit but is still running after {timeout:.0f} s")
        ctx.clock.sleep(_POLL_S)
    print(f"{who} has quit")
    return EXIT_OK
