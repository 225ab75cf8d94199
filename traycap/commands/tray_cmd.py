"""Placeholder until its issue lands."""

from __future__ import annotations

import argparse

from traycap.commands.common import not_available
from traycap.context import Context


def run(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("this command")
