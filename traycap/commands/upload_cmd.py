"""Placeholder until the upload queue lands."""

from __future__ import annotations

import argparse

from traycap.commands.common import not_available
from traycap.context import Context


def run_upload(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("upload")


def run_retry(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("retry")


def run_cancel(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("cancel")


def run_worker(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("worker")


def run_link(args: argparse.Namespace, ctx: Context) -> int:
    return not_available("link")
