"""`traycap sessions [--json]`."""

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
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:
        # `traycap sessions | head`: the reader left; that is not an error.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_OK
    if args.json:  # the text table shows each problem under its row already
        for problem in listing.problems:
            print(f"traycap: warning: {problem}", file=sys.stderr)
        if uploads_paused(ctx.paths):
            print("traycap: note: uploads are paused (`traycap resume-uploads`)", file=sys.stderr)
    return EXIT_OK
