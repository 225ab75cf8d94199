"""`traycap settings-dialog`: the Upload settings window (Tk), as its own process."""

from __future__ import annotations

import argparse

from traycap.context import Context


def run(args: argparse.Namespace, ctx: Context) -> int:
    from traycap.ui.settings import main

    return main([])
