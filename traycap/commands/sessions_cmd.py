"""`traycap sessions [--json]`."""

from __future__ import annotations

import argparse
import json
import sys

from traycap.commands.common import EXIT_OK
from traycap.context import Context
from traycap.format import human_duration, human_size, local_time, status_text


def run(args: argparse.Namespace, ctx: Context) -> int:
    listing = ctx.sessions.list()
    if args.json:
        json.dump([item.to_json() for item in listing.items], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        if not listing.items:
            print(f"No sessions yet in {ctx.paths.sessions}")
        else:
            print(f"{'SESSION':<26} {'CREATED':<16} {'LENGTH':>8} {'SIZE':>9} {'ACTIONS':>7}  STATUS")
            for item in listing.items:
                print(
                    f"{item.sessionId:<26} {local_time(item.createdAt):<16} {human_duration(item.durationMs):>8} "
                    f"{human_size(item.fileSizeBytes):>9} {item.actionCount:>7}  {status_text(item)}"
                )
                if item.lastUploadError:
                    print(f"{'':<26} error: {item.lastUploadError}")
    for problem in listing.problems:
        print(f"traycap: warning: {problem}", file=sys.stderr)
    return EXIT_OK
