"""Waiting on a condition with a deadline (never a blind sleep), and ending a process we started."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(what: str, fn: Callable[[], T | None], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll `fn` until it returns something truthy; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM the process we started (by its PID), SIGKILL it if it does not go in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def close_stdin_and_wait(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """End a process that runs until its stdin closes (a `dbus-run-session` holder); stop it if it lingers."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc)
