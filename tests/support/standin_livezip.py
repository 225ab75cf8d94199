"""A minimal stand-in for traycap.bundle.livezip.LiveZip (tests only), used until the real one lands.

Same interface; built on zipfile.writestr (sizes known up front, so nothing seeks back), one
journal line per entry with `committed` and the caller's cursor, `final` at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from traycap.bundle.livezip import CommitFn, Final


class StandInLiveZip:
    def __init__(self, path: Path, journal: Path, on_commit: CommitFn | None) -> None:
        self.path = path
        self.journal = journal
        self._on_commit = on_commit
        self._cursor: dict[str, Any] = {}
        self._names: list[str] = []
        self._final: Final | None = None
        self._fh: Any = None
        self._zf: zipfile.ZipFile | None = None
        self._committed = 0

    @classmethod
    def create(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> StandInLiveZip:
        if journal.exists():
            raise FileExistsError(journal)
        self = cls(path, journal, on_commit)
        journal.write_bytes(b"")
        self._fh = open(path, "wb")  # noqa: SIM115
        self._zf = zipfile.ZipFile(self._fh, "w", allowZip64=True)
        return self

    @classmethod
    def reopen(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> StandInLiveZip:
        self = cls(path, journal, on_commit)
        lines = [json.loads(x) for x in journal.read_bytes().splitlines() if x.strip()]
        entries = [x for x in lines if "name" in x]
        finals = [x for x in lines if x.get("final")]
        if finals:
            self._final = Final(finals[-1]["size"], finals[-1]["sha256"])
            self._names = [e["name"] for e in entries]
            self._cursor = finals[-1].get("cursor") or (entries[-1]["cursor"] if entries else {})
            self._committed = finals[-1]["size"]
            return self
        committed = entries[-1]["committed"] if entries else 0
        self._fh = open(path, "r+b")  # noqa: SIM115
        self._fh.truncate(committed)
        self._fh.seek(committed)
        self._zf = zipfile.ZipFile(self._fh, "w", allowZip64=True)
        self._zf.start_dir = committed  # type: ignore[attr-defined]
        for e in entries:
            self._fh.seek(e["offset"])
            head = self._fh.read(30)
            (_, _, _, method, _, _, crc, csize, usize, _, _) = struct.unpack("<4s5H3L2H", head)
            info = zipfile.ZipInfo(e["name"])
            info.header_offset = e["offset"]
            info.compress_type = method
            info.CRC, info.compress_size, info.file_size = crc, csize, usize
            if csize == 0xFFFFFFFF:
                info.compress_size, info.file_size = e["csize"], e["usize"]
            self._zf.filelist.append(info)
            self._zf.NameToInfo[info.filename] = info
        self._fh.seek(committed)
        self._names = [e["name"] for e in entries]
        self._cursor = entries[-1]["cursor"] if entries else {}
        self._committed = committed
        return self

    @staticmethod
    def exists(journal: Path) -> bool:
        return journal.exists()

    @staticmethod
    def read_final(journal: Path) -> Final | None:
        for line in reversed(journal.read_bytes().splitlines()):
            x = json.loads(line)
            if x.get("final"):
                return Final(x["size"], x["sha256"])
        return None

    @property
    def committed(self) -> int:
        return self._committed

    @property
    def cursor(self) -> dict[str, Any]:
        return self._cursor

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def final(self) -> Final | None:
        return self._final

    def add(self, name: str, data: bytes | Iterable[bytes], *, compress: bool, cursor: dict[str, Any]) -> int:
        assert self._zf is not None and self._final is None
        body = data if isinstance(data, bytes) else b"".join(data)
        offset = self._fh.tell()
        self._zf.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        info = self._zf.getinfo(name)
        self._committed = self._fh.tell()
        self._cursor = cursor
        self._names.append(name)
        with open(self.journal, "ab") as j:
            j.write(json.dumps({"name": name, "offset": offset, "committed": self._committed, "cursor": cursor,
                                "csize": info.compress_size, "usize": info.file_size}).encode() + b"\n")
            os.fsync(j.fileno())
        if self._on_commit is not None:
            self._on_commit(self._committed)
        return self._committed

    def add_file(self, name: str, src: Path, start: int, end: int, *, cursor: dict[str, Any]) -> int:
        with open(src, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        assert len(data) == end - start
        return self.add(name, data, compress=False, cursor=cursor)

    def finish(self, *, cursor: dict[str, Any] | None = None) -> Final:
        assert self._zf is not None
        self._zf.close()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self._final = Final(self.path.stat().st_size, digest)
        with open(self.journal, "ab") as j:
            j.write(json.dumps({"final": True, "size": self._final.size, "sha256": digest,
                                "cursor": cursor}).encode() + b"\n")
            os.fsync(j.fileno())
        return self._final

    def close(self) -> None:
        if self._zf is not None:
            self._zf.fp = None  # closed without its central directory (as after a kill)
        if self._fh is not None and not self._fh.closed:
            self._fh.close()
