"""Command line: parse, set up logging, hand off to one command module.

Each command lives in traycap/commands/; they are imported only when used so
that `traycap sessions` never pays for boto3, PyAV or a GUI toolkit.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from traycap import __version__
from traycap.commands.common import EXIT_FAIL, EXIT_USAGE
from traycap.context import Context, make_context
from traycap.errors import TraycapError
from traycap.osutil.private import is_private, set_private_umask, tighten_tree
from traycap.paths import Paths
from traycap.storage.config_store import MAX_LINK_EXPIRY_S

# command name -> "module:function"; each function is (args, ctx) -> exit code
_HANDLERS: dict[str, str] = {
    "tray": "traycap.tray.main:run",
    "record": "traycap.commands.record_cmd:run",
    "toggle": "traycap.commands.control_cmd:run_toggle",
    "pause": "traycap.commands.control_cmd:run_pause",
    "sessions": "traycap.commands.sessions_cmd:run",
    "upload": "traycap.commands.upload_cmd:run_upload",
    "retry": "traycap.commands.upload_cmd:run_retry",
    "cancel": "traycap.commands.upload_cmd:run_cancel",
    "worker": "traycap.commands.upload_cmd:run_worker",
    "link": "traycap.commands.upload_cmd:run_link",
    "prune": "traycap.commands.prune_cmd:run",
    "view": "traycap.commands.view_cmd:run",
    "pause-uploads": "traycap.commands.upload_cmd:run_pause",
    "resume-uploads": "traycap.commands.upload_cmd:run_resume",
    "config": "traycap.commands.config_cmd:run",
    "autostart": "traycap.commands.autostart_cmd:run",
    "quit": "traycap.commands.quit_cmd:run",
    # Internal: the tray starts the Tk settings dialog as a child process this way,
    # which also works inside a frozen (PyInstaller) build where `-m` does not.
    "settings-dialog": "traycap.commands.settings_cmd:run",
}


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None


def _positive_float(text: str) -> float:
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (all monitors) or more")
    return value


def _positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _link_seconds(text: str) -> int:
    """--expires: an argument error says what the argument may be (not an upload's hint)."""
    value = _positive_int(text)
    if value > MAX_LINK_EXPIRY_S:
        raise argparse.ArgumentTypeError(f"a share link can last 1 to {MAX_LINK_EXPIRY_S} seconds (7 days, S3's "
                                         f"limit), not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="traycap",
        description="Record desktop sessions and upload them to S3. With no command, runs the tray app.",
    )
    parser.add_argument("--version", action="version", version=f"traycap {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper,
        help="log verbosity (default INFO)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("tray", help="run the tray app (the default)")

    rec = sub.add_parser("record", help="record without the tray until --duration ends or Ctrl-C")
    rec.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    rec.add_argument("--fps", type=_positive_int, metavar="N", help="target frames per second (default 10)")
    rec.add_argument("--monitor", type=_non_negative_int, metavar="N", help="0 = all monitors, 1 = primary, N = Nth")

    sub.add_parser("toggle", help="start a recording in the running tray, or stop it (bind this to a key)")
    sub.add_parser("pause", help="pause the running tray's recording, or resume it (bind this to a key)")

    ses = sub.add_parser("sessions", help="list sessions, newest first")
    ses.add_argument("--json", action="store_true", help="machine-readable output")
    ses.add_argument("--remote", action="store_true",
                     help="list what the bucket holds under the key prefix (every machine's), from the sidecars")

    up = sub.add_parser("upload", help="queue a session for upload")
    up.add_argument("session_id", metavar="ID")
    up.add_argument("--wait", action="store_true", help="block until done or failed; exit 0 only when done")

    for name, text in (("retry", "retry a failed upload"), ("cancel", "cancel a pending or running upload")):
        p = sub.add_parser(name, help=text)
        p.add_argument("session_id", metavar="ID")

    sub.add_parser("worker", help="run the upload queue in the foreground, no tray")
    sub.add_parser("pause-uploads", help="pause uploads (kept across restarts) until resume-uploads")
    sub.add_parser("resume-uploads", help="resume paused uploads")

    cfg = sub.add_parser("config", help="show, change or test the upload settings")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION")
    show = cfg_sub.add_parser("show", help="print the settings (secrets masked)")
    show.add_argument("--json", action="store_true")
    cset = cfg_sub.add_parser("set", help="change settings: KEY=VALUE ...")
    cset.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    cfg_sub.add_parser("test", help="check the bucket and credentials (HeadBucket)")
    devices = cfg_sub.add_parser("devices", help="list the microphones and outputs a recording can hear (audioDevice)")
    devices.add_argument("--json", action="store_true")

    link = sub.add_parser("link", help="print the share link of an uploaded session (it plays in a browser)")
    link.add_argument("session_id", metavar="ID")
    link.add_argument("--expires", type=_link_seconds, default=None, metavar="S",
                      help=f"seconds, 1 to {MAX_LINK_EXPIRY_S} (default: linkExpiresS, 7 days)")
    link.add_argument("--zip", action="store_true", help="a presigned link of the zip itself (a download)")

    prune = sub.add_parser("prune", help="delete local copies of uploaded sessions now (retention rules)")
    prune.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    view = sub.add_parser("view", help="replay a session in the browser (served from this computer only)")
    view.add_argument("session_id", metavar="ID", nargs="?")
    view.add_argument("--remote", metavar="KEY", help="play a session in the bucket (a key `sessions --remote` lists)")
    view.add_argument("--no-open", action="store_true", help="print the page's URL instead of opening a browser")
    view.add_argument("--sheet", metavar="OUT.png", help="write the session's contact sheet (PNG, or JPEG for .jpg)")

    auto = sub.add_parser("autostart", help="start traycap at login (current user)")
    auto.add_argument("action", choices=["on", "off", "status"])

    quit_ = sub.add_parser(
        "quit", help="ask the running tray app to quit (as its menu's Quit) and wait; exit 3 if none was running",
    )
    quit_.add_argument("--timeout", type=_positive_float, metavar="S", help="give up after S seconds (default 120)")

    sub.add_parser("settings-dialog", help="open the Upload settings window")
    return parser


def _handler(command: str) -> Callable[[argparse.Namespace, Context], int]:
    module_name, func_name = _HANDLERS[command].split(":")
    module = importlib.import_module(module_name)
    func: Callable[[argparse.Namespace, Context], int] = getattr(module, func_name)
    return func


def keep_private(paths: Paths) -> None:
    """Close a data or log dir that an older traycap (or a umask of 022) left open to others; say so once."""
    for directory in dict.fromkeys((paths.root, paths.logs)):
        if is_private(directory):
            continue
        try:
            changed = tighten_tree(directory)
        except OSError as exc:
            logging.getLogger(__name__).warning("could not make %s private to you: %s", directory, exc)
            continue
        if changed:
            logging.getLogger(__name__).warning(
                "%s was readable by other users; it is now private to you (%d item%s tightened)",
                directory, len(changed), "" if len(changed) == 1 else "s",
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "tray"
    if command == "config" and not args.config_command:
        print("traycap: config needs an action: show, set, test or devices (see `traycap config --help`)",
              file=sys.stderr)
        return EXIT_USAGE
    # Policy: everything traycap writes (keystrokes, frames, zips, logs) is for this user alone.
    set_private_umask()
    try:
        ctx = make_context()
    except TraycapError as exc:
        print(f"traycap: {exc.user_text()}", file=sys.stderr)
        return EXIT_FAIL
    except OSError as exc:
        print(f"traycap: cannot use the data directory: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAIL
    from traycap.logs import setup_logging

    # The tray and worker log to a file; one-shot commands only to stderr, at WARNING.
    long_running = command in ("tray", "worker", "record", "settings-dialog")
    setup_logging(
        ctx.paths.logs if long_running else None,
        args.log_level if long_running or args.log_level != "INFO" else "WARNING",
    )
    keep_private(ctx.paths)
    if command in ("tray", "worker", "record"):
        # Started at login or by a script: the keyring never prompts, and one that did not answer is not
        # asked again for a day. The tray and `record` ask it in the background; the worker, with no
        # window to show first, before its queue runs.
        ctx = ctx.unattended()
    try:
        if command == "worker":
            from traycap.storage.config_store import log_secret_location

            log_secret_location(ctx.paths.config, ctx.secrets)
        return _handler(command)(args, ctx)
    except TraycapError as exc:
        print(f"traycap: {exc.user_text()}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        # A file-system problem no module translated: say what and where, not a traceback.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"traycap: {exc.strerror or exc}{where}", file=sys.stderr)
        logging.getLogger(__name__).debug("unhandled OSError", exc_info=True)
        return EXIT_FAIL
