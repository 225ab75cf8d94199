"""`traycap` / `traycap tray`: the tray app, one instance per data directory.

The tray's entry point (cli.py hands the command here, as it hands the others to traycap/commands/):
the instance lock, the real parts, the stop signals. Exit status as for every command: 0, or 1 when
the tray cannot be shown (no display, no tray host).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from types import FrameType

from traycap.context import Context
from traycap.errors import NoDisplay, TrayUnavailable
from traycap.osutil import quit_request, signals

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAIL = 1


def run(args: argparse.Namespace, ctx: Context) -> int:
    from traycap.tray.app import InstanceLock, TrayApp
    from traycap.tray.parts import real_parts

    lock = InstanceLock(ctx.paths.instance_lock)
    # With a grace: `traycap toggle` probes this lock for an instant to learn whether a tray runs.
    if not lock.acquire_as_owner():
        pid = lock.holder_pid()
        _say_already_running("traycap is already running" + (f" (process {pid})" if pid else ""))
        return EXIT_OK
    try:
        from traycap.ui.tray import Tray

        try:
            app = TrayApp(ctx, real_parts(ctx, lambda on_action: Tray(on_action)))
        except (NoDisplay, TrayUnavailable) as exc:
            print(f"traycap: {exc.message}", file=sys.stderr)
            print(f"hint: {exc.hint}", file=sys.stderr)
            return EXIT_FAIL

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: quitting", signum)
            # Not on the signal frame's thread: shutdown joins threads and waits for the queue.
            threading.Thread(target=app.shutdown, name="traycap-signal-quit", daemon=True).start()

        def on_quit_request() -> None:
            log.info("asked to quit by another process (traycap quit, the installer)")
            app.shutdown()  # already on the listener's own thread

        # Ctrl-C in a terminal included: the tray keeps it past pystray's reset.
        signals.install_stop_handler(on_signal)
        stop_listening = quit_request.listen(ctx.paths.root, on_quit_request)
        try:
            return app.run()
        finally:
            stop_listening()
    finally:
        lock.release()


def _say_already_running(text: str) -> None:
    """On the console when there is one; traycapw.exe (Start menu, sign-in) has none: a notification."""
    if sys.stdout is not None:
        print(text)
        return
    from traycap.ui.notify import Notice, NoticeKind, plyer_backend

    try:
        plyer_backend(Notice(NoticeKind.PROBLEM, text, "Its icon is in the notification area (^ shows hidden icons)."))
    except Exception as exc:  # nowhere to show it is no reason to fail
        log.warning("%s; could not show a notification: %s", text, exc)
