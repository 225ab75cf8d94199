"""An append-only zip that can be uploaded while it grows, and resumed after a crash.

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

Writing rules (what makes the above true):

- The zip is written through `_AppendOnlyFile`: an O_APPEND descriptor whose `tell()` is the
  size written so far and whose `seek()` raises. zipfile therefore treats it as unseekable:
  every entry gets bit 3 and a data descriptor after its data, and zipfile never goes back to
  patch a header. Entries are opened with force_zip64 (ZIP64 extra in the local header, 8-byte
  sizes in the descriptor), so any size works; the central directory uses ZIP64 records
  where an offset or size needs them. Every byte written is fed to one SHA-256 as it passes,
  so `finish` knows the zip's hash without reading it back.
- zipfile writes a central directory when a ZipFile is closed or collected. Here that
  happens in `finish` only: `close()` detaches the file from the ZipFile first and the
  ZipFile subclass's `__del__` does nothing, so an unfinished zip ends exactly at its last
  entry (plus, after a crash, a torn entry that reopen cuts off).
- Journal (`live-zip.jsonl`), one JSON object per line, each line one write() then fsync:
      {"name", "headerOffset", "crc", "compressSize", "fileSize", "compressType", "dateTime",
       "committed", "cursor"}                       one per entry, in zip order
      {"final": {"size", "sha256", "crc32"}, "committed", "cursor"}   the last line, after finish
  An entry's line is written only after the zip is fsynced with that entry in it, so a
  journal line never points past durable zip bytes. on_commit(committed) follows every
  line, the final one too (committed = the whole zip's size then).
- Reading the journal: a last line that does not parse (no newline, or garbage from a crash
  while it was written) was never written: it is ignored, and reopen cuts it off. Anything
  else that does not parse or does not add up (entries not back to back, a name twice, a
  `committed` past the zip's end, a local header or data descriptor in the zip that does
  not match its line, a finished zip of another size) raises CorruptFile before anything
  is cut: the caller then falls back to a format-1 export. A missing journal is CorruptFile
  too (`exists` tells first); a missing zip under a journal without entries is an empty one.
- `create` refuses when the journal or the zip exists (an exported zip is never truncated);
  an entry name used twice is refused before anything is written (ValueError), so is any
  write after `finish` or `close`.
- An entry that fails while it is written (disk full, the caller's data iterable raising)
  is rolled back: the zip is truncated to `committed` and the hash restored from its copy
  at that point, so the LiveZip can go on. If even that fails, it refuses further writes;
  close and reopen it.
- zipfile internals (`ZipFile.filelist`/`NameToInfo`, to put the committed entries back
  after a reopen or a rollback) are used in this module only; tests/unit/test_livezip.py
  pins them (a resumed zip is byte-identical to one written without interruption).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from traycap.errors import CorruptFile, DiskFull, StorageError
from traycap.osutil import files

CommitFn = Callable[[int], None]

CHUNK = 1 << 20  # add_file reads its source this much at a time
_BUFFER = 64 << 10  # small writes (headers, deflate output) are gathered up to this size

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # 30 bytes: signature ... name length, extra length
_LOCAL_SIG = b"PK\x03\x04"
_DESCRIPTOR = struct.Struct("<4sLQQ")  # ZIP64 data descriptor: signature, CRC, compressed, uncompressed
_DESCRIPTOR_SIG = b"PK\x07\x08"
_ZIP64_VERSION = 45  # "version needed" for ZIP64 (CPython 3.10 writes 20 in a streamed entry's header)
_DATA_DESCRIPTOR_FLAG = 0x08
_UNIX = 3
_MODE = 0o600 << 16  # zipfile's default for entries written through open(): rw-------
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class Final:
    size: int
    sha256: str  # hex, of the whole zip
    crc32: str | None = None  # hex, of the whole zip (absent in journals written before it was kept)


class Digests:
    """SHA-256 and CRC32 of every byte written, in one pass: the zip's identity, and what an upload
    checks its parts against (upload/s3/sources.py) without hashing the zip again."""

    def __init__(self, sha: Any = None, crc: int = 0) -> None:
        self.sha = sha if sha is not None else hashlib.sha256()
        self.crc = crc

    def update(self, data: Any) -> None:
        self.sha.update(data)
        self.crc = zlib.crc32(data, self.crc)

    def copy(self) -> Digests:
        return Digests(self.sha.copy(), self.crc)

    def hexdigest(self) -> str:
        return str(self.sha.hexdigest())

    def crc32(self) -> str:
        return f"{self.crc:08x}"


def _entry_time() -> tuple[int, int, int, int, int, int]:
    """The entries' timestamp (local time, as zipfile stamps them); tests pin it to compare zips byte for byte."""
    t = time.localtime()
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _io_error(exc: OSError, path: Path, doing: str) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFull(f"The disk is full: could not {doing} {path}")
    return StorageError(f"Could not {doing} {path}: {exc.strerror or exc}")


class _AppendOnlyFile:
    """What zipfile writes the live zip to: appends only, knows its size, hashes every byte."""

    def __init__(self, fd: int, size: int, digest: Any) -> None:
        self._fd: int | None = fd
        self._size = size
        self.digest = digest
        self._buffer = bytearray()

    def tell(self) -> int:
        return self._size

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0) -> int:
        # Raising here is what makes zipfile write data descriptors instead of seeking back.
        raise OSError(errno.ESPIPE, "the live zip is append-only")

    def write(self, data: bytes) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        if len(self._buffer) + len(view) <= _BUFFER:
            self._buffer += view
        else:
            self.flush()
            self._write_all(view)
        self._size += len(view)
        return len(view)

    def flush(self) -> None:
        if self._buffer:
            with memoryview(self._buffer) as view:
                self._write_all(view)
            self._buffer.clear()

    def sync(self) -> None:
        self.flush()
        os.fsync(self._open_fd())

    def reset(self, size: int, digest: Any) -> None:
        """Back to `size` bytes (what was written after them is cut off), hashing on from `digest`."""
        self._buffer.clear()
        os.ftruncate(self._open_fd(), size)
        self._size = size
        self.digest = digest

    def close(self) -> None:
        """Unflushed bytes are dropped: they were never committed."""
        self._buffer.clear()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()

    def _open_fd(self) -> int:
        if self._fd is None:
            raise ValueError("the live zip file is closed")
        return self._fd

    def _write_all(self, view: memoryview) -> None:
        fd = self._open_fd()
        while view:
            view = view[os.write(fd, view):]


class _JournalFile:
    """The journal, appended to one fsynced line at a time; a line that fails is cut off again."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._size = size

    def append(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            raise ValueError(f"the journal {self.path} is closed")
        line = json.dumps(record, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            if os.write(self._fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write")
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


class _LiveZipFile(zipfile.ZipFile):
    """A ZipFile that never writes a central directory behind our back (ZipFile.__del__ closes)."""

    def __del__(self) -> None:
        pass


@dataclass(frozen=True)
class _Entry:
    name: str
    header_offset: int
    crc: int
    compress_size: int
    file_size: int
    compress_type: int
    date_time: tuple[int, int, int, int, int, int]
    committed: int
    cursor: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "headerOffset": self.header_offset, "crc": self.crc,
                "compressSize": self.compress_size, "fileSize": self.file_size,
                "compressType": self.compress_type, "dateTime": list(self.date_time),
                "committed": self.committed, "cursor": self.cursor}

    def info(self, version: int) -> zipfile.ZipInfo:
        """The ZipInfo zipfile itself had for this entry once it was written; `version` is the
        "version needed" of its local header (zipfile puts the same in both version fields)."""
        zi = _new_info(self.name, self.compress_type, self.date_time)
        zi.flag_bits = _DATA_DESCRIPTOR_FLAG
        zi.extract_version = zi.create_version = version
        zi.header_offset = self.header_offset
        zi.CRC = self.crc
        zi.compress_size = self.compress_size
        zi.file_size = self.file_size
        return zi


def _new_info(name: str, compress_type: int, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=date_time)
    zi.compress_type = compress_type
    zi.create_system = _UNIX  # the same on every OS, so a zip resumed elsewhere is the same zip
    zi.external_attr = _MODE
    return zi


@dataclass(frozen=True)
class _Journal:
    entries: list[_Entry]
    final: Final | None
    final_cursor: dict[str, Any] | None
    good_size: int  # bytes of the journal up to the end of its last good line


def _read_journal(journal: Path) -> _Journal:
    try:
        raw = journal.read_bytes()
    except FileNotFoundError:
        raise CorruptFile(str(journal), "the live zip's journal is missing") from None
    except OSError as exc:
        raise CorruptFile(str(journal), f"the live zip's journal cannot be read ({exc.strerror or exc})") from exc
    lines = raw.split(b"\n")
    lines.pop()  # what follows the last newline: nothing, or a line torn by a crash
    entries: list[_Entry] = []
    final: Final | None = None
    final_cursor: dict[str, Any] | None = None
    good_size = 0
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            if number == len(lines):
                break  # the line being written when the process died: never committed
            raise CorruptFile(str(journal), f"line {number} is not JSON") from None
        if final is not None:
            raise CorruptFile(str(journal), f"line {number} follows the line that finished the zip")
        try:
            if isinstance(record, dict) and "final" in record:
                final, final_cursor = _parse_final(record, entries)
            else:
                entries.append(_parse_entry(record, entries))
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptFile(str(journal), f"line {number} is not a valid entry ({exc})") from None
        good_size += len(line) + 1
    return _Journal(entries, final, final_cursor, good_size)


def _int(record: dict[str, Any], key: str, upper: int = 1 << 64) -> int:
    value = record[key]
    if type(value) is not int or not 0 <= value < upper:
        raise ValueError(f"{key} = {value!r}")
    return value


def _parse_entry(record: Any, before: list[_Entry]) -> _Entry:
    if not isinstance(record, dict):
        raise TypeError("not an object")
    name, cursor, date_time = record["name"], record["cursor"], record["dateTime"]
    if not isinstance(name, str) or not name or not isinstance(cursor, dict):
        raise TypeError("name or cursor")
    if not (isinstance(date_time, list) and len(date_time) == 6 and all(type(x) is int for x in date_time)):
        raise TypeError("dateTime")
    entry = _Entry(name=name, header_offset=_int(record, "headerOffset"), crc=_int(record, "crc", 1 << 32),
                   compress_size=_int(record, "compressSize"), file_size=_int(record, "fileSize"),
                   compress_type=_int(record, "compressType"),
                   date_time=cast("tuple[int, int, int, int, int, int]", tuple(date_time)),
                   committed=_int(record, "committed"), cursor=cursor)
    expected_offset = before[-1].committed if before else 0
    if entry.header_offset != expected_offset:
        raise ValueError(f"headerOffset {entry.header_offset}, the previous entry ends at {expected_offset}")
    if entry.committed <= entry.header_offset + entry.compress_size:
        raise ValueError(f"committed {entry.committed}")
    if entry.compress_type not in _METHODS:
        raise ValueError(f"compressType {entry.compress_type}")
    if any(e.name == name for e in before):
        raise ValueError(f"{name} twice")
    return entry


def _parse_final(record: dict[str, Any], entries: list[_Entry]) -> tuple[Final, dict[str, Any]]:
    final, cursor = record["final"], record.get("cursor", {})
    if not isinstance(final, dict) or not isinstance(cursor, dict):
        raise TypeError("final or cursor")
    sha = final["sha256"]
    if not isinstance(sha, str) or len(sha) != 64:
        raise ValueError(f"sha256 = {sha!r}")
    crc = final.get("crc32")
    if crc is not None and not (isinstance(crc, str) and len(crc) == 8 and all(c in "0123456789abcdef" for c in crc)):
        raise ValueError(f"crc32 = {crc!r}")
    size = _int(final, "size")
    if size < (entries[-1].committed if entries else 0):
        raise ValueError(f"size {size} is before the last entry's end")
    return Final(size=size, sha256=sha, crc32=crc), cursor


def _file_range(src: Path, start: int, end: int) -> Iterator[bytes]:
    """Bytes [start, end) of `src`, CHUNK at a time; StorageError if it cannot be read or is shorter."""
    try:
        with open(src, "rb") as fh:
            fh.seek(start)
            for done in range(start, end, CHUNK):
                want = min(CHUNK, end - done)
                chunk = fh.read(want)
                if len(chunk) != want:
                    raise StorageError(f"{src} ends at byte {done + len(chunk)}, before byte {end}")
                yield chunk
    except OSError as exc:
        raise StorageError(f"Could not read {src}: {exc.strerror or exc}") from exc


def _encoded_name(name: str) -> bytes:
    """The name as zipfile puts it in a header: ASCII when it can, else UTF-8 (with flag bit 11)."""
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        return name.encode("utf-8")


def _check_entries(path: Path, fh: io.FileIO, entries: list[_Entry]) -> list[int]:
    """Each journaled entry's local header and data descriptor are in the zip where the journal says;
    the "version needed" of each local header."""
    def read(offset: int, n: int) -> bytes:
        fh.seek(offset)
        return fh.read(n)

    versions = []
    for e in entries:
        head = read(e.header_offset, _LOCAL_HEADER.size)
        desc = read(e.committed - _DESCRIPTOR.size, _DESCRIPTOR.size)
        ok = len(head) == _LOCAL_HEADER.size and len(desc) == _DESCRIPTOR.size
        if ok:
            fields = _LOCAL_HEADER.unpack(head)
            name_len, extra_len = fields[-2], fields[-1]
            ok = (fields[0] == _LOCAL_SIG
                  and read(e.header_offset + _LOCAL_HEADER.size, name_len) == _encoded_name(e.name)
                  and e.committed == (e.header_offset + _LOCAL_HEADER.size + name_len + extra_len
                                      + e.compress_size + _DESCRIPTOR.size)
                  and _DESCRIPTOR.unpack(desc) == (_DESCRIPTOR_SIG, e.crc, e.compress_size, e.file_size))
        if not ok:
            raise CorruptFile(str(path), f"the zip does not match its journal at entry {e.name}")
        versions.append(fields[1])
    return versions


def _hash_prefix(fh: io.FileIO, size: int) -> Any:
    """SHA-256 and CRC32 of the first `size` bytes, read once in CHUNK pieces."""
    digest = Digests()
    buffer = bytearray(CHUNK)
    fh.seek(0)
    done = 0
    with memoryview(buffer) as view:
        while done < size:
            n = fh.readinto(view[: min(CHUNK, size - done)])
            if not n:
                raise OSError(errno.EIO, f"the zip ended at byte {done} while reading {size}")
            digest.update(view[:n])
            done += n
    return digest


class LiveZip:
    """One writer thread; not thread-safe."""

    path: Path
    journal: Path

    def __init__(self, path: Path, journal: Path, *, entries: list[_Entry], versions: list[int] | None,
                 cursor: dict[str, Any],
                 committed: int, on_commit: CommitFn | None, final: Final | None = None,
                 file: _AppendOnlyFile | None = None, journal_file: _JournalFile | None = None) -> None:
        """Use create() or reopen()."""
        self.path = path
        self.journal = journal
        self._on_commit = on_commit
        if versions is None:  # a finished zip: its entries are never written again
            versions = [_ZIP64_VERSION] * len(entries)
        self._infos = [e.info(v) for e, v in zip(entries, versions, strict=True)]
        self._cursor = cursor
        self._committed = committed
        self._final = final
        self._file = file
        self._journal = journal_file
        self._committed_digest = file.digest.copy() if file is not None else None
        self._broken: str | None = None
        self._zf: zipfile.ZipFile | None = self._new_zipfile() if file is not None else None

    # --- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> LiveZip:
        """A new, empty live zip (refuses to overwrite an existing journal)."""
        if journal.exists() or path.exists():
            raise StorageError(f"Cannot start a live zip at {path}: "
                               f"{journal if journal.exists() else path} already exists (reopen it, or delete it)")
        try:
            journal_fd = os.open(journal, files.APPEND_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise _io_error(exc, journal, "create") from exc
        journal_file = _JournalFile(journal, journal_fd, 0)
        try:
            fd = os.open(path, files.APPEND_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            journal_file.close()
            with contextlib.suppress(OSError):
                journal.unlink()
            raise _io_error(exc, path, "create") from exc
        files.fsync_dir(path.parent)
        if journal.parent != path.parent:
            files.fsync_dir(journal.parent)
        return cls(path, journal, entries=[], versions=[], cursor={}, committed=0, on_commit=on_commit,
                   file=_AppendOnlyFile(fd, 0, Digests()), journal_file=journal_file)

    @classmethod
    def reopen(cls, path: Path, journal: Path, *, on_commit: CommitFn | None = None) -> LiveZip:
        """After a crash or in another process: back to the last committed entry (see module doc)."""
        state = _read_journal(journal)
        entries = state.entries
        cursor = entries[-1].cursor if entries else {}
        committed = entries[-1].committed if entries else 0
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0  # killed between creating the journal and the zip, or the zip is gone
        except OSError as exc:
            raise _io_error(exc, path, "read") from exc
        if state.final is not None:
            if size != state.final.size:
                raise CorruptFile(str(path), f"the journal says the finished zip has {state.final.size} bytes, "
                                             f"it has {size}")
            return cls(path, journal, entries=entries, versions=None, cursor=state.final_cursor or cursor,
                       committed=state.final.size, on_commit=on_commit, final=state.final)
        if size < committed:
            raise CorruptFile(str(journal), f"the journal refers to {committed} bytes of {path}, "
                                            f"which has {size}")
        try:
            digest = Digests()
            versions = []
            if committed:
                with open(path, "rb", buffering=0) as fh:
                    versions = _check_entries(path, fh, entries)  # before anything is cut
                    digest = _hash_prefix(fh, committed)
            fd = os.open(path, files.APPEND_FLAGS | os.O_CREAT, 0o600)
        except OSError as exc:
            raise _io_error(exc, path, "resume") from exc
        file = _AppendOnlyFile(fd, committed, digest)
        try:
            os.ftruncate(fd, committed)  # what follows the last commit was never committed
            os.fsync(fd)
            journal_fd = os.open(journal, files.APPEND_FLAGS)
            journal_file = _JournalFile(journal, journal_fd, state.good_size)
            if journal.stat().st_size != state.good_size:
                os.ftruncate(journal_fd, state.good_size)  # the torn line, so the next one starts clean
                os.fsync(journal_fd)
        except OSError as exc:
            file.close()
            raise _io_error(exc, path, "resume") from exc
        return cls(path, journal, entries=entries, versions=versions, cursor=cursor, committed=committed,
                   on_commit=on_commit, file=file, journal_file=journal_file)

    @staticmethod
    def exists(journal: Path) -> bool:
        """A live zip was started here (finished or not): its journal is there."""
        return journal.exists()

    @staticmethod
    def read_final(journal: Path) -> Final | None:
        """The finished zip's size and SHA-256, or None while it is not finished (or has no journal).

        CorruptFile if the journal cannot be read as a journal."""
        if not journal.exists():
            return None
        return _read_journal(journal).final

    # --- state -------------------------------------------------------------------------

    @property
    def committed(self) -> int:
        return self._committed

    @property
    def cursor(self) -> dict[str, Any]:
        """The cursor given with the last committed entry ({} for a new zip)."""
        return dict(self._cursor)

    @property
    def names(self) -> list[str]:
        return [zi.filename for zi in self._infos]

    def sizes(self) -> dict[str, int]:
        """Each committed entry's uncompressed size, by name."""
        return {zi.filename: zi.file_size for zi in self._infos}

    @property
    def final(self) -> Final | None:
        return self._final

    # --- writing -----------------------------------------------------------------------

    def add(self, name: str, data: bytes | Iterable[bytes], *, compress: bool, cursor: dict[str, Any]) -> int:
        """Append one whole entry; the new committed size."""
        chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        return self._append(name, zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED, chunks, cursor)

    def add_file(self, name: str, src: Path, start: int, end: int, *, cursor: dict[str, Any]) -> int:
        """Append bytes [start, end) of `src` as one stored entry, streamed; the new committed size."""
        if not 0 <= start <= end:
            raise ValueError(f"bad byte range [{start}, {end}) of {src}")

        return self._append(name, zipfile.ZIP_STORED, _file_range(src, start, end), cursor)

    def finish(self, *, cursor: dict[str, Any] | None = None) -> Final:
        """Write the central directory, fsync, journal `final`; the zip is then a complete zip."""
        zf, file, journal = self._writable()
        cursor = dict(self._cursor if cursor is None else cursor)
        json.dumps(cursor)  # not JSON: TypeError now, before anything is written
        try:
            zf.close()  # the central directory; the file stays open (zipfile does not close a file it was given)
            file.sync()
            final = Final(size=file.tell(), sha256=file.digest.hexdigest(), crc32=file.digest.crc32())
            journal.append({"final": {"size": final.size, "sha256": final.sha256, "crc32": final.crc32},
                            "committed": final.size, "cursor": cursor})
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, OSError):
                raise _io_error(exc, self.path, "finish") from exc
            raise
        self._final = final
        self._committed = final.size
        self._cursor = cursor
        self._release()
        if self._on_commit is not None:
            self._on_commit(final.size)
        return final

    def close(self) -> None:
        """Close the files without finishing (the zip stays resumable with reopen)."""
        self._release()

    # --- inside ------------------------------------------------------------------------

    def _writable(self) -> tuple[zipfile.ZipFile, _AppendOnlyFile, _JournalFile]:
        if self._final is not None:
            raise ValueError(f"{self.path} is finished: nothing more can be written to it")
        if self._broken is not None:
            raise StorageError(f"{self.path} could not be brought back to its last committed entry "
                               f"({self._broken}): close it and reopen it")
        if self._zf is None or self._file is None or self._journal is None:
            raise ValueError(f"{self.path} is closed: reopen it to go on")
        return self._zf, self._file, self._journal

    def _append(self, name: str, method: int, chunks: Iterable[bytes | bytearray | memoryview],
                cursor: dict[str, Any]) -> int:
        zf, file, journal = self._writable()
        cursor = dict(cursor)
        json.dumps(cursor)  # not JSON: TypeError now, before anything is written
        info = _new_info(name, method, _entry_time())
        if info.filename in zf.NameToInfo:
            raise ValueError(f"{self.path} already has an entry {info.filename}")
        try:
            with zf.open(info, "w", force_zip64=True) as out:
                for chunk in chunks:
                    out.write(chunk)
            file.sync()
            entry = _Entry(name=info.filename, header_offset=info.header_offset, crc=info.CRC,
                           compress_size=info.compress_size, file_size=info.file_size,
                           compress_type=info.compress_type, date_time=info.date_time,
                           committed=file.tell(), cursor=cursor)
            journal.append(entry.record())
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, OSError):
                raise _io_error(exc, self.path, f"write {name} to") from exc
            raise
        self._infos.append(info)
        self._committed = entry.committed
        self._committed_digest = file.digest.copy()
        self._cursor = cursor
        if self._on_commit is not None:
            self._on_commit(entry.committed)
        return entry.committed

    def _new_zipfile(self) -> zipfile.ZipFile:
        """A ZipFile appending at the committed end that knows the committed entries (zipfile internals)."""
        assert self._file is not None
        zf = _LiveZipFile(cast("IO[bytes]", self._file), "w", allowZip64=True)
        zf.filelist = list(self._infos)
        zf.NameToInfo = {zi.filename: zi for zi in self._infos}
        return zf

    def _rollback(self) -> None:
        """After a failed write: the zip back to `committed`, the hash and the ZipFile with it."""
        if self._zf is not None:
            self._zf.fp = None  # whatever state it is in, it writes nothing more
        try:
            assert self._file is not None and self._committed_digest is not None
            self._file.reset(self._committed, self._committed_digest.copy())
        except OSError as exc:
            self._broken = exc.strerror or str(exc)
            self._zf = None
            return
        self._zf = self._new_zipfile()

    def _release(self) -> None:
        if self._zf is not None:
            self._zf.fp = None  # ZipFile.close() would write a central directory at the end
            self._zf = None
        for f in (self._file, self._journal):
            if f is not None:
                f.close()
        self._file = None
        self._journal = None

