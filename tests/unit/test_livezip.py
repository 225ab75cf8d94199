"""LiveZip: the append-only zip written while recording, its journal, and resume after a crash.

Real files in tmp_path; crashes are real SIGKILLs of a child process (TerminateProcess on Windows);
the finished zips are read by zipfile and by `unzip -t` (Info-ZIP; zipfile alone on Windows, which has no unzip).
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import json
import os
import random
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.support.platforms import KILL, KILLED_RETURNCODE, zip_test_errors
from traycap.bundle import livezip
from traycap.bundle.livezip import LiveZip
from traycap.errors import CorruptFile, DiskFull, StorageError

ROOT = Path(__file__).resolve().parents[2]
EOCD = b"PK\x05\x06"


def payload(i: int) -> tuple[bytes, bool]:
    """Entry i's bytes and whether it is deflated: the same in the test and in the child it kills."""
    rng = random.Random(i)
    size = rng.choice([700, 40_000, 300_000, 1_200_000])
    if i % 3 == 0:  # compressible, like the jsonl chunks
        return b"".join(b'{"t": %d, "k": "key%d"}\n' % (k, rng.randrange(50)) for k in range(size // 24)), True
    return rng.randbytes(size), False


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "s1.zip", tmp_path / "live-zip.jsonl"


def unzip_ok(path: Path) -> None:
    assert zip_test_errors(path) is None, zip_test_errors(path)


def check_finished(path: Path, final: livezip.Final, expected: dict[str, bytes]) -> None:
    """A complete zip: the given entries, in order, byte for byte; its SHA-256 is the one LiveZip reported."""
    data = path.read_bytes()
    assert final.size == len(data)
    assert final.sha256 == sha(data)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == list(expected)
        for info in zf.infolist():
            assert info.flag_bits & 0x08, f"{info.filename} has no data descriptor"
            assert zf.read(info) == expected[info.filename]
    unzip_ok(path)


# --- writing ---------------------------------------------------------------------------


def test_entries_are_readable_by_zipfile_and_unzip(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    src = tmp_path / "screen.mp4"
    src.write_bytes(random.Random(1).randbytes(3 * livezip.CHUNK + 12345))
    commits: list[int] = []
    lz = LiveZip.create(zip_path, journal, on_commit=commits.append)
    assert (lz.committed, lz.cursor, lz.names, lz.final) == (0, {}, [], None)
    expected: dict[str, bytes] = {}
    expected["actions/00000.jsonl"] = b'{"kind": "click"}\n' * 5000
    lz.add("actions/00000.jsonl", expected["actions/00000.jsonl"], compress=True, cursor={"actions": 1})
    expected["video/screen/00000.mp4"] = src.read_bytes()[:777]
    lz.add_file("video/screen/00000.mp4", src, 0, 777, cursor={"video": 777})
    expected["video/screen/00001.m4s"] = src.read_bytes()[777:]
    lz.add_file("video/screen/00001.m4s", src, 777, src.stat().st_size, cursor={"video": src.stat().st_size})
    expected["screenshots/ünïcode.png"] = b"\x89PNG" + bytes(1000)
    lz.add("screenshots/ünïcode.png", [b"\x89PNG", bytes(600), bytes(400)], compress=False, cursor={"shots": 1})
    expected["empty.txt"] = b""
    lz.add("empty.txt", b"", compress=True, cursor={"shots": 1, "empty": True})
    assert lz.names == list(expected)
    assert lz.cursor == {"shots": 1, "empty": True}
    assert commits[-1] == lz.committed == zip_path.stat().st_size
    assert EOCD not in zip_path.read_bytes()[-22:]  # no central directory before finish

    final = lz.finish(cursor={"done": True})
    assert lz.final == final == LiveZip.read_final(journal)
    assert commits[-1] == final.size == lz.committed  # on_commit follows the final journal line too
    assert len(commits) == len(expected) + 1 and commits == sorted(commits)
    check_finished(zip_path, final, expected)
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.getinfo("actions/00000.jsonl").compress_type == zipfile.ZIP_DEFLATED
        assert zf.getinfo("video/screen/00001.m4s").compress_type == zipfile.ZIP_STORED


def test_journal_has_one_line_per_entry_and_a_final_line(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"aaaa" * 100, compress=True, cursor={"n": 1})
    lz.add("b", b"bb", compress=False, cursor={"n": 2})
    final = lz.finish()
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
    for line, info in zip(lines, infos, strict=False):
        assert (line["name"], line["headerOffset"], line["crc"], line["compressSize"], line["fileSize"],
                line["compressType"]) == (info.filename, info.header_offset, info.CRC, info.compress_size,
                                          info.file_size, info.compress_type)
    assert [line["committed"] for line in lines[:2]] == [infos[1].header_offset, lines[1]["committed"]]
    assert final.sha256 == hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert final.crc32 == f"{zlib.crc32(zip_path.read_bytes()):08x}"  # what the upload checks its parts against
    assert lines[2] == {"final": {"size": final.size, "sha256": final.sha256, "crc32": final.crc32},
                        "committed": final.size,
                        "cursor": {"n": 2}}  # finish without a cursor keeps the last one
    assert len(lines) == 3


def test_committed_prefixes_never_change(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    prefixes: dict[int, str] = {}

    def on_commit(size: int) -> None:
        with open(zip_path, "rb") as fh:
            prefixes[size] = sha(fh.read(size))

    lz = LiveZip.create(zip_path, journal, on_commit=on_commit)
    for i in range(8):
        data, compress = payload(i)
        lz.add(f"e/{i:05d}", data, compress=compress, cursor={"i": i})
        if i == 4:  # a close and a reopen in between change nothing either
            lz.close()
            lz = LiveZip.reopen(zip_path, journal, on_commit=on_commit)
    lz.finish()
    data = zip_path.read_bytes()
    assert len(prefixes) == 9
    for size, digest in prefixes.items():
        assert sha(data[:size]) == digest, f"the first {size} bytes changed after they were committed"


def test_entries_are_zip64_with_data_descriptors(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("x.bin", b"x" * 1000, compress=False, cursor={})
    raw = zip_path.read_bytes()
    (sig, version, flags, method, _t, _d, crc, csize, usize, name_len, extra_len) = struct.unpack(
        "<4sHHHHHLLLHH", raw[:30])
    assert (sig, flags & 0x08, method) == (b"PK\x03\x04", 0x08, 0)
    # The sizes are in the descriptor. CPython since gh-103861 (3.11.7, 3.12, 3.13 here) also marks them
    # ZIP64 in the header (0xFFFFFFFF, version 45); 3.10 writes 0 and version 20. Both read fine.
    assert crc == 0
    assert (version, csize, usize) in ((45, 0xFFFFFFFF, 0xFFFFFFFF), (20, 0, 0))
    assert raw[30:30 + name_len] == b"x.bin"
    extra = raw[30 + name_len:30 + name_len + extra_len]
    assert struct.unpack("<HH", extra[:4]) == (1, 16)  # the ZIP64 extended information field
    descriptor = raw[-24:]
    assert struct.unpack("<4sLQQ", descriptor) == (b"PK\x07\x08", zipfile.crc32(b"x" * 1000), 1000, 1000)
    assert len(raw) == 30 + name_len + extra_len + 1000 + 24
    lz.close()


def test_zip64_central_directory_is_read_by_zipfile_and_unzip(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Offsets and sizes past zipfile's ZIP64 limit (lowered here, so that a few KB stand for > 4 GiB)
    go into ZIP64 extras and end records; stock readers read them."""
    zip_path, journal = paths(tmp_path)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    lz = LiveZip.create(zip_path, journal)
    expected = {f"e/{i}": bytes([i]) * 1500 for i in range(4)}
    for name, data in expected.items():
        lz.add(name, data, compress=False, cursor={})
    final = lz.finish()
    monkeypatch.undo()
    raw = zip_path.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # ZIP64 end of central directory record and locator
    central = raw[raw.index(b"PK\x01\x02"):]
    offsets = [struct.unpack("<L", central[k + 42:k + 46])[0] for k in range(len(central))
               if central.startswith(b"PK\x01\x02", k)]
    assert offsets == [0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF]  # the real offsets are in ZIP64 extras
    check_finished(zip_path, final, expected)


# --- close, finish, misuse -------------------------------------------------------------


def test_close_and_garbage_collection_write_no_central_directory(tmp_path: Path) -> None:
    """ZipFile.close() and ZipFile.__del__ write a central directory at the end: a live zip
    that is closed, or merely dropped, must end at its last committed entry."""
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    committed = lz.add("a", b"a" * 5000, compress=True, cursor={})
    lz.close()
    lz.close()  # twice: nothing
    assert zip_path.stat().st_size == committed
    with pytest.raises(ValueError, match="closed"):
        lz.add("b", b"b", compress=False, cursor={})

    lz = LiveZip.reopen(zip_path, journal)
    committed = lz.add("b", b"b" * 5000, compress=False, cursor={})
    del lz
    gc.collect()
    assert zip_path.stat().st_size == committed
    assert EOCD not in zip_path.read_bytes()


def test_writing_after_finish_is_refused(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    src = tmp_path / "src"
    src.write_bytes(b"s" * 10)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a", compress=False, cursor={"n": 1})
    final = lz.finish()
    for again in (lambda: lz.add("b", b"b", compress=False, cursor={}),
                  lambda: lz.add_file("c", src, 0, 10, cursor={}),
                  lambda: lz.finish()):
        with pytest.raises(ValueError, match="finished"):
            again()
    lz.close()
    assert zip_path.stat().st_size == final.size


def test_reopen_of_a_finished_zip_returns_it_finished_and_untouched(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a" * 100, compress=True, cursor={"n": 1})
    final = lz.finish(cursor={"n": 2})
    before = zip_path.read_bytes()
    again = LiveZip.reopen(zip_path, journal)
    assert (again.final, again.committed, again.names, again.cursor) == (final, final.size, ["a"], {"n": 2})
    with pytest.raises(ValueError, match="finished"):
        again.add("b", b"b", compress=False, cursor={})
    again.close()
    assert zip_path.read_bytes() == before


def test_create_refuses_an_existing_journal_or_zip(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    LiveZip.create(zip_path, journal).close()
    assert LiveZip.exists(journal)
    with pytest.raises(StorageError, match="already exists"):
        LiveZip.create(zip_path, journal)
    journal.unlink()
    assert not LiveZip.exists(journal)
    assert LiveZip.read_final(journal) is None
    with pytest.raises(StorageError, match="already exists"):
        LiveZip.create(zip_path, journal)  # an exported zip is never truncated


def test_bad_calls_write_nothing(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    committed = lz.add("a", b"a", compress=False, cursor={})
    with pytest.raises(ValueError, match="already has an entry a"):
        lz.add("a", b"again", compress=False, cursor={})
    with pytest.raises(TypeError):
        lz.add("b", b"b", compress=False, cursor={"not json": object()})
    with pytest.raises(ValueError, match="bad byte range"):
        lz.add_file("c", zip_path, 5, 2, cursor={})
    assert zip_path.stat().st_size == committed == lz.committed
    assert lz.names == ["a"]
    lz.close()


def test_an_entry_that_fails_midway_is_rolled_back(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    commits: list[int] = []
    lz = LiveZip.create(zip_path, journal, on_commit=commits.append)
    lz.add("a", b"a" * 100, compress=True, cursor={"n": 1})

    def source() -> Any:
        yield b"x" * 200_000
        raise RuntimeError("the source went away")

    with pytest.raises(RuntimeError, match="went away"):
        lz.add("b", source(), compress=False, cursor={"n": 2})
    short = tmp_path / "short"
    short.write_bytes(b"s" * 100)
    with pytest.raises(StorageError, match="ends at byte 100"):
        lz.add_file("c", short, 0, 3 * livezip.CHUNK, cursor={"n": 3})
    with pytest.raises(StorageError, match="Could not read"):
        lz.add_file("c", tmp_path / "missing", 0, 10, cursor={"n": 3})
    assert zip_path.stat().st_size == lz.committed == commits[-1]
    assert (lz.names, lz.cursor, len(commits)) == (["a"], {"n": 1}, 1)
    lz.add("b", b"b" * 100, compress=False, cursor={"n": 2})  # the name is free again
    final = lz.finish()
    check_finished(zip_path, final, {"a": b"a" * 100, "b": b"b" * 100})
    assert len(journal.read_text().splitlines()) == 3


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_disk_full_mid_entry_is_rolled_back_and_writing_goes_on(tmp_path: Path) -> None:
    """A real write error: the child's file size limit (RLIMIT_FSIZE, EFBIG) stands in for a full disk."""
    zip_path, journal = paths(tmp_path)
    code = textwrap.dedent(f"""
        import json, resource, signal, sys
        from pathlib import Path
        from traycap.bundle.livezip import LiveZip
        from traycap.errors import DiskFull
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))
        lz = LiveZip.create(Path({str(zip_path)!r}), Path({str(journal)!r}))
        lz.add("a", b"a" * 300_000, compress=False, cursor={{"n": 1}})
        try:
            lz.add("big", [b"b" * 400_000] * 2, compress=False, cursor={{"n": 2}})
        except DiskFull as exc:
            print(json.dumps({{"error": str(exc), "size": Path({str(zip_path)!r}).stat().st_size,
                              "committed": lz.committed}}))
        lz.add("c", b"c" * 300_000, compress=False, cursor={{"n": 3}})
        final = lz.finish()
        print(json.dumps({{"size": final.size, "sha256": final.sha256}}))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    failed, done = (json.loads(line) for line in run.stdout.splitlines())
    assert "disk is full" in failed["error"]
    assert failed["size"] == failed["committed"]
    check_finished(zip_path, livezip.Final(done["size"], done["sha256"]), {"a": b"a" * 300_000, "c": b"c" * 300_000})
    assert issubclass(DiskFull, StorageError)


# --- reopen ----------------------------------------------------------------------------


def test_a_resumed_zip_is_byte_identical_to_one_written_at_once(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the zipfile internals reopen relies on (ZipFile.filelist/NameToInfo and the ZipInfo
    fields zipfile sets while writing): after a crash mid-entry and a reopen, the central
    directory is the one an uninterrupted writer makes."""
    monkeypatch.setattr(livezip, "_entry_time", lambda: (2026, 12, 2, 10, 30, 0))
    entries = [payload(i) for i in range(6)] + [("ünï".encode() * 50, True)]
    names = [f"e/{i:05d}" for i in range(6)] + ["ünï.txt"]

    once = tmp_path / "once"
    once.mkdir()
    lz = LiveZip.create(*paths(once))
    for name, (data, compress) in zip(names, entries, strict=True):
        lz.add(name, data, compress=compress, cursor={"name": name})
    final_once = lz.finish()

    resumed = tmp_path / "resumed"
    resumed.mkdir()
    zip_path, journal = paths(resumed)
    for k, (name, (data, compress)) in enumerate(zip(names, entries, strict=True)):
        lz = LiveZip.create(zip_path, journal) if k == 0 else LiveZip.reopen(zip_path, journal)
        assert lz.names == names[:k]
        lz.add(name, data, compress=compress, cursor={"name": name})
        lz.close()
        with open(zip_path, "ab") as fh:  # a torn entry, as a crash would leave it
            fh.write(b"PK\x03\x04torn" + bytes(1000))
    final = LiveZip.reopen(zip_path, journal).finish()
    assert final == final_once
    assert zip_path.read_bytes() == paths(once)[0].read_bytes()


def test_reopen_cuts_a_torn_journal_line_and_goes_on(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a" * 1000, compress=False, cursor={"n": 1})
    lz.add("b", b"b" * 1000, compress=True, cursor={"n": 2})
    lz.close()
    good_journal = journal.read_bytes()
    lines = good_journal.splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:1]) + lines[1][: len(lines[1]) // 2])  # the crash tore "b"'s line
    lz = LiveZip.reopen(zip_path, journal)
    assert (lz.names, lz.cursor) == (["a"], {"n": 1})
    assert zip_path.stat().st_size == lz.committed  # "b"'s bytes were cut with its line
    assert journal.read_bytes() == lines[0]
    lz.add("c", b"c" * 10, compress=False, cursor={"n": 3})
    final = lz.finish()
    check_finished(zip_path, final, {"a": b"a" * 1000, "c": b"c" * 10})
    assert [json.loads(line).get("name") for line in journal.read_text().splitlines()] == ["a", "c", None]


def test_a_crash_while_finishing_leaves_an_unfinished_zip_that_finishes_the_same(tmp_path: Path) -> None:
    """Killed after the central directory was written but before the final journal line was
    durable: the zip is not finished, reopen cuts the central directory, and finishing again
    gives the same bytes."""
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a" * 3000, compress=True, cursor={"n": 1})
    committed = lz.add("b", b"b" * 3000, compress=False, cursor={"n": 2})
    final = lz.finish()
    finished = zip_path.read_bytes()
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:2]) + lines[2][:-9])
    assert LiveZip.read_final(journal) is None
    lz = LiveZip.reopen(zip_path, journal)
    assert (lz.final, lz.committed, lz.names) == (None, committed, ["a", "b"])
    assert zip_path.stat().st_size == committed
    assert lz.finish() == final
    assert zip_path.read_bytes() == finished


def test_a_last_line_of_garbage_counts_as_not_written(tmp_path: Path) -> None:
    """After a power loss a file can end in zeros where the last write was: that line was never fsynced."""
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a", compress=False, cursor={})
    lz.close()
    with open(journal, "ab") as fh:
        fh.write(bytes(37) + b"\n")
    lz = LiveZip.reopen(zip_path, journal)
    assert lz.names == ["a"]
    check_finished(zip_path, lz.finish(), {"a": b"a"})


def test_reopen_of_an_empty_journal_starts_from_scratch(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    LiveZip.create(zip_path, journal).close()
    zip_path.unlink()  # killed between creating the journal and the zip
    lz = LiveZip.reopen(zip_path, journal)
    assert (lz.committed, lz.names, lz.cursor) == (0, [], {})
    lz.add("a", b"a", compress=False, cursor={})
    check_finished(zip_path, lz.finish(), {"a": b"a"})


def corrupt_case(tmp_path: Path, how: str) -> tuple[Path, Path]:
    zip_path, journal = paths(tmp_path)
    lz = LiveZip.create(zip_path, journal)
    lz.add("a", b"a" * 1000, compress=False, cursor={})
    lz.add("b", b"b" * 1000, compress=False, cursor={})
    if how == "final with another size":
        lz.finish()
        with open(zip_path, "ab") as fh:
            fh.write(b"more")
        return zip_path, journal
    lz.close()
    lines = journal.read_bytes().splitlines(keepends=True)
    if how == "garbage":
        journal.write_bytes(b"\x00\x17 this is not a journal\n" + bytes(300) + b"\n{}\n")
    elif how == "middle line torn":
        journal.write_bytes(lines[0][:20] + b"\n" + lines[1])
    elif how == "beyond the zip":
        os.truncate(zip_path, zip_path.stat().st_size - 10)
    elif how == "zip replaced":
        zip_path.write_bytes(os.urandom(zip_path.stat().st_size + 100))
    elif how == "entries not back to back":
        second = json.loads(lines[1])
        second["headerOffset"] += 1
        journal.write_bytes(lines[0] + json.dumps(second).encode() + b"\n")
    elif how == "a name twice":
        second = json.loads(lines[1])
        second["name"] = "a"
        journal.write_bytes(lines[0] + json.dumps(second).encode() + b"\n")
    elif how == "missing":
        journal.unlink()
    return zip_path, journal


@pytest.mark.parametrize("how", ["garbage", "middle line torn", "beyond the zip", "zip replaced",
                                 "entries not back to back", "a name twice", "final with another size",
                                 "missing"])
def test_a_journal_that_cannot_be_trusted_raises_corrupt_file(tmp_path: Path, how: str) -> None:
    zip_path, journal = corrupt_case(tmp_path, how)
    before = zip_path.read_bytes()
    with pytest.raises(CorruptFile) as caught:
        LiveZip.reopen(zip_path, journal)
    assert caught.value.path in (str(zip_path), str(journal))
    assert caught.value.reason
    assert zip_path.read_bytes() == before  # nothing is cut on a journal that cannot be trusted
    if how in ("garbage", "middle line torn", "a name twice"):
        with pytest.raises(CorruptFile):
            LiveZip.read_final(journal)


# --- SIGKILL ---------------------------------------------------------------------------

# The child appends entries e/00000, e/00001, ... (payload(i)) for ever, printing each one it has
# committed; with STALL=n, entry n is large and the child stops in the middle of writing it.
CHILD = inspect.getsource(payload) + textwrap.dedent("""
    import random, sys
    from pathlib import Path
    from traycap.bundle.livezip import LiveZip

    zip_path, journal, stall = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    lz = LiveZip.reopen(zip_path, journal) if LiveZip.exists(journal) else LiveZip.create(zip_path, journal)
    print("ready", lz.committed, flush=True)

    def stalled(data):
        for k in range(0, len(data), 1 << 20):
            if k == 3 << 20:
                print("mid", flush=True)
                sys.stdin.readline()  # blocks: the parent kills us here
            yield data[k:k + (1 << 20)]

    i = len(lz.names)
    while True:
        data, compress = payload(i)
        if i == stall:
            data = random.Random(-i).randbytes(6 << 20)
        committed = lz.add(f"e/{i:05d}", stalled(data) if i == stall else data, compress=compress,
                           cursor={"i": i})
        print("C", i, committed, flush=True)
        i += 1
""")


def run_child_and_kill(zip_path: Path, journal: Path, rng: random.Random, *, stall: int = -1) -> dict[int, str]:
    """Start the child, SIGKILL it at a random moment (or mid-entry `stall`); the committed prefixes
    it reported before the kill, hashed while the child was still writing."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(zip_path), str(journal), str(stall)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    prefixes: dict[int, str] = {}
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("ready")
        for _ in range(rng.randint(1, 6) if stall < 0 else 10_000):
            line = child.stdout.readline().split()
            if line == ["mid"]:
                break
            assert line[0] == "C", line
            committed = int(line[2])
            with open(zip_path, "rb") as fh:
                prefixes[committed] = sha(fh.read(committed))
        if stall < 0:
            time.sleep(rng.uniform(0, 0.05))  # a random moment to kill at: that is the point of the test
    finally:
        os.kill(child.pid, KILL)  # also when an assertion above failed: never leave it writing
        child.communicate(timeout=30)
    assert child.returncode == KILLED_RETURNCODE
    return prefixes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_moments_then_resume(tmp_path: Path, seed: int) -> None:
    zip_path, journal = paths(tmp_path)
    rng = random.Random(seed)
    prefixes: dict[int, str] = {}
    for _ in range(2):  # killed, resumed by a second child, killed again
        prefixes |= run_child_and_kill(zip_path, journal, rng)
    resume_and_check(zip_path, journal, prefixes, stall=-1)


def test_sigkill_in_the_middle_of_an_entry_then_resume(tmp_path: Path) -> None:
    zip_path, journal = paths(tmp_path)
    prefixes = run_child_and_kill(zip_path, journal, random.Random(0), stall=4)
    last_committed = max(prefixes)
    assert zip_path.stat().st_size > last_committed + (3 << 20) - 10  # the child died 3 MiB into entry 4
    resume_and_check(zip_path, journal, prefixes, stall=4)


def resume_and_check(zip_path: Path, journal: Path, prefixes: dict[int, str], *, stall: int) -> None:
    lz = LiveZip.reopen(zip_path, journal)
    n = len(lz.names)
    assert lz.committed >= max(prefixes)  # everything reported before the kill is kept
    assert lz.names == [f"e/{i:05d}" for i in range(n)]
    assert lz.cursor == {"i": n - 1}
    for i in (n, n + 1):
        data, compress = payload(i)
        lz.add(f"e/{i:05d}", data, compress=compress, cursor={"i": i})
    final = lz.finish()
    assert LiveZip.read_final(journal) == final
    assert stall < 0 or n == stall  # the stalled entry was never committed
    check_finished(zip_path, final, {f"e/{i:05d}": payload(i)[0] for i in range(n + 2)})
    data = zip_path.read_bytes()
    for size, digest in prefixes.items():
        assert sha(data[:size]) == digest, f"the first {size} bytes changed after they were committed"


def test_zipfile_internals_are_used_by_livezip_only() -> None:
    """Resume puts entries into ZipFile.filelist/NameToInfo, which is not public API: one module
    does it, so a Python release that changes them breaks one module (and the byte-identical test)."""
    package = ROOT / "traycap"
    users = sorted(p.relative_to(package).as_posix() for p in package.rglob("*.py")
                   if any(word in p.read_text(encoding="utf-8") for word in ("NameToInfo", ".filelist", "_didModify")))
    assert users == ["bundle/livezip.py"]
