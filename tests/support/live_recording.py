"""Live-bundle helpers for recorder tests: a recording LiveSink, and the LiveZip to use."""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.standin_livezip import StandInLiveZip
from traycap.bundle.livezip import LiveZip


def real_livezip() -> bool:
    try:
        LiveZip.exists(Path("/nonexistent"))
    except NotImplementedError:
        return False
    return True


def use_livezip(monkeypatch: pytest.MonkeyPatch | None = None) -> Any:
    """The real LiveZip once implemented, else the stand-in (patched into the bundler and recovery)."""
    if real_livezip():
        return LiveZip
    import traycap.recorder.bundler as bundler_mod
    import traycap.recorder.recover as recover_mod

    for mod in (bundler_mod, recover_mod):
        if monkeypatch is not None:
            monkeypatch.setattr(mod, "LiveZip", StandInLiveZip)
        else:
            mod.LiveZip = StandInLiveZip  # type: ignore[attr-defined,misc]
    return StandInLiveZip


class RecordingSink:
    """A LiveSink that remembers every call (and, given a path, appends them there as JSON lines)."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.committed_sizes: list[int] = []
        self.done: tuple[int, str] | None = None
        self.abandoned = False
        self._log = log_path
        self._lock = threading.Lock()

    def _note(self, record: dict[str, Any]) -> None:
        if self._log is not None:
            with self._lock, open(self._log, "ab") as fh:
                fh.write(json.dumps(record).encode() + b"\n")
                fh.flush()
                os.fsync(fh.fileno())

    def committed(self, size: int) -> None:
        self.committed_sizes.append(size)
        self._note({"committed": size})

    def finished(self, size: int, sha256: str) -> None:
        self.done = (size, sha256)
        self._note({"finished": size, "sha256": sha256})

    def abandon(self) -> None:
        self.abandoned = True
        self._note({"abandon": True})


def concat(zip_path: Path, prefix: str) -> bytes:
    with zipfile.ZipFile(zip_path) as z:
        return b"".join(z.read(n) for n in sorted(n for n in z.namelist() if n.startswith(prefix)))
