"""An append-only zip that can be uploaded while it grows, and resumed after a crash.

(Interface fixed; implementation in progress.)

    zf = LiveZip.create(zip_path, journal_path, on_commit=lane.committed)
    zf.add("actions/00000.jsonl", data, compress=True, cursor={...})     # one whole entry
    zf.add_file("video/screen/00001.m4s", src, start, end, cursor={...}) # a byte range of a file
    final = zf.finish(cursor={...})                                       # central directory

Every entry is written whole with a data descriptor (general-purpose bit 3, ZIP64 sizes), so
nothing already written is ever rewritten. After each entry: fsync the zip, append one line
to the journal (entry name, header offset, CRC, sizes, method, `committed` = zip size now,
and the caller's `cursor`, e.g. how far it has read its sources), fsync the journal, then
call on_commit(committed). Bytes before `committed` are final: they may be uploaded.

After a crash, `LiveZip.reopen` truncates the zip to the journal's last `committed`, hashes
that prefix once (the normal path hashes while appending, never re-reads) and goes on
appending; `cursor` tells the caller where to resume reading its sources. A journal whose
last line is `final` means the zip is complete: reopen returns it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CommitFn = Callable[[int], None]


@dataclass(frozen=True)
class Final:
    size: int
    sha256: str  # hex, of the whole zip


class LiveZip:
    """One writer thread; not thread-safe."""

    path: Path
    journal: Path

    @classmethod
    def create(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> LiveZip:
        """A new, empty live zip (refuses to overwrite an existing journal)."""
        raise NotImplementedError

    @classmethod
    def reopen(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> LiveZip:
        """After a crash or in another process: back to the last committed entry (see module doc)."""
        raise NotImplementedError

    @staticmethod
    def exists(journal: Path) -> bool:
        raise NotImplementedError

    @staticmethod
    def read_final(journal: Path) -> Final | None:
        """The finished zip's size and SHA-256, or None while it is not finished."""
        raise NotImplementedError

    @property
    def committed(self) -> int:
        raise NotImplementedError

    @property
    def cursor(self) -> dict[str, Any]:
        """The cursor given with the last committed entry ({} for a new zip)."""
        raise NotImplementedError

    @property
    def names(self) -> list[str]:
        raise NotImplementedError

    @property
    def final(self) -> Final | None:
        raise NotImplementedError

    def add(self, name: str, data: bytes | Iterable[bytes], *, compress: bool, cursor: dict[str, Any]) -> int:
        """Append one whole entry; the new committed size."""
        raise NotImplementedError

    def add_file(self, name: str, src: Path, start: int, end: int, *, cursor: dict[str, Any]) -> int:
        """Append bytes [start, end) of `src` as one stored entry, streamed; the new committed size."""
        raise NotImplementedError

    def finish(self, *, cursor: dict[str, Any] | None = None) -> Final:
        """Write the central directory, fsync, journal `final`; the zip is then a complete zip."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the files without finishing (the zip stays resumable with reopen)."""
        raise NotImplementedError
