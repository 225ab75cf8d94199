"""Live-bundle helpers for recorder tests: a LiveSink that records its calls, the zip's members."""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any


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
