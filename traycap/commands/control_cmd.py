"""`traycap toggle` and `traycap pause`: start/stop or pause/resume the recording of the running tray.

What a person binds to keys in the desktop's keyboard settings where traycap's own hotkey cannot work
(Wayland without the GlobalShortcuts portal); useful on X11 too (scripts, a window manager's bindings).
The request goes to the tray through the data dir (ui/tray_requests.py); the tray's answer is printed.
Exit 0 when the tray did it, 1 when it could not (nothing to pause, no tray running, no answer).
"""

from __future__ import annotations

import argparse

from traycap.commands.common import EXIT_OK, fail
from traycap.context import Context
from traycap.storage.filelock import PidLock
from traycap.ui.tray_requests import ANSWER_TIMEOUT_S, TrayAction, await_answer, send

NOT_RUNNING = ("traycap is not running, so there is no recording to start or stop: start traycap (the tray) "
               "first, or record without it: `traycap record`")


def run_toggle(args: argparse.Namespace, ctx: Context) -> int:
    return ask(ctx, TrayAction.TOGGLE)


def run_pause(args: argparse.Namespace, ctx: Context) -> int:
    return ask(ctx, TrayAction.PAUSE)


def ask(ctx: Context, action: TrayAction) -> int:
    if not PidLock.is_held(ctx.paths.instance_lock):
        return fail(NOT_RUNNING)
    clock = ctx.clock
    request = send(ctx.paths.root, action, clock.now_ms())
    answer = await_answer(ctx.paths.root, request, wait=clock.sleep, monotonic=clock.monotonic)
    if answer is None:
        if not PidLock.is_held(ctx.paths.instance_lock):
            return fail(NOT_RUNNING)
        return fail(f"the tray did not answer within {ANSWER_TIMEOUT_S:.0f} s (it may be busy): nothing was done; "
                    "its log says more (traycap.log)")
    if not answer.ok:
        return fail(answer.message)
    print(f"traycap: {answer.message}")
    return EXIT_OK
