"""`traycap sessions [--json]`, `traycap sessions --remote [--json]`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from traycap.commands.common import EXIT_OK
from traycap.context import Context
from traycap.format import human_duration, human_size, local_time, status_text
from traycap.upload.pause import paused_since, uploads_paused


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.remote:
        _write(_remote_text(args, ctx))
        return EXIT_OK
    listing = ctx.sessions.list()
    if args.json:
        # One dumps and one write: json.dump() with indent writes piece by piece.
        out = json.dumps([item.to_json() for item in listing.items], indent=2) + "\n"
    else:
        lines: list[str] = []
        if not listing.items:
            lines.append(f"No sessions yet in {ctx.paths.sessions}")
        else:
            lines.append(f"{'SESSION':<26} {'CREATED':<16} {'LENGTH':>8} {'SIZE':>9} {'ACTIONS':>7}  STATUS")
            for item in listing.items:
                lines.append(
                    f"{item.sessionId:<26} {local_time(item.createdAt):<16} {human_duration(item.durationMs):>8} "
                    f"{human_size(item.fileSizeBytes):>9} {item.actionCount:>7}  {status_text(item)}"
                )
                if item.lastUploadError:
                    lines.append(f"{'':<26} error: {item.lastUploadError}")
                if item.problem:
                    lines.append(f"{'':<26} problem: {item.problem}")
        if uploads_paused(ctx.paths):
            since = paused_since(ctx.paths)
            when = f" since {local_time(since)}" if since is not None else ""
            lines.append(f"Uploads are paused{when}: nothing is uploaded until `traycap resume-uploads`.")
        out = "\n".join(lines) + "\n"
    if _write(out) and args.json:  # the text table shows each problem under its row already
        for problem in listing.problems:
            print(f"traycap: warning: {problem}", file=sys.stderr)
        if uploads_paused(ctx.paths):
            print("traycap: note: uploads are paused (`traycap resume-uploads`)", file=sys.stderr)
    return EXIT_OK


def _write(out: str) -> bool:
    """Write `out` to stdout; False when the reader has gone (`traycap sessions | head`)."""
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        # `traycap sessions | head`: the reader left; that is not an error.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return False
    return True


def _remote_text(args: argparse.Namespace, ctx: Context) -> str:
    """What the bucket holds under the key prefix (this machine's sessions and every other's)."""
    from traycap.object_keys import fixed_prefix
    from traycap.player.remote import list_sessions
    from traycap.upload.s3.objects import BucketObjects

    config = ctx.require_config()
    objects = BucketObjects(config)
    try:
        found = list_sessions(objects, config.keyPrefix)
    finally:
        objects.close()
    if args.json:
        return json.dumps([s.to_json() for s in found], indent=2) + "\n"
    where = f"s3://{config.bucket}/{fixed_prefix(config.keyPrefix)}"
    if not found:
        return f"No sessions in {where}\n"
    width = max(len("KEY"), *(len(s.key) for s in found))
    lines = [f"{len(found)} session(s) in {where} (`traycap view --remote KEY` plays one)",
             f"{'KEY':<{width}} {'CREATED':<16} {'LENGTH':>8} {'SIZE':>9} {'ACTIONS':>7}"]
    for s in found:
        actions = (s.info.get("counts") or {}).get("actions")
        created = local_time(s.created_ms) if s.created_ms else "-"
        duration = s.info.get("durationMs")
        length = human_duration(duration if isinstance(duration, int) else None)
        lines.append(f"{s.key:<{width}} {created:<16} {length:>8} "
                     f"{human_size(s.size):>9} {actions if isinstance(actions, int) else '-':>7}"
                     + ("" if s.sidecar is not None else "  (no sidecar)"))
    return "\n".join(lines) + "\n"
