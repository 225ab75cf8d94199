"""Helpers shared by the command modules."""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def fail(text: str) -> int:
    print(f"traycap: {text}", file=sys.stderr)
    return EXIT_FAIL


def not_available(what: str) -> int:
    return fail(f"{what} is not available yet in this version")
