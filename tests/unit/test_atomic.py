"""Atomic JSON files: tolerant reads, clean writes, leftover temp files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.platforms import WINDOWS, posix_only
from traycap.errors import CorruptFile, StorageError
from traycap.storage.atomic import (
    TMP_PREFIX,
    quarantine,
    read_json,
    remove_stale_temp_files,
    write_bytes_atomic,
    write_json_atomic,
)

HOUR_MS = 3600 * 1000


def test_write_then_read(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "x.json"
    write_json_atomic(target, {"a": 1, "ü": "ß"})
    assert read_json(target) == {"a": 1, "ü": "ß"}
    assert read_json(str(target)) == {"a": 1, "ü": "ß"}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # no temp file left


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert read_json(tmp_path / "nope.json") is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"  \n\t", "the file is empty"),
        (b'{"sessionId": "abc", "crea', "invalid JSON at line 1"),
        (b"{\n  \"a\": 1,\n}", "invalid JSON at line "),  # 3.13 points at the comma
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b"\x00" * 20, "invalid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"1" * 5000, "invalid JSON"),  # more digits than int() converts
        (b"null", "holds null"),  # must not pass for a missing file
    ],
)
def test_unreadable_content_is_corrupt_file(tmp_path: Path, content: bytes, reason: str) -> None:
    target = tmp_path / "upload-state.json"
    target.write_bytes(content)
    with pytest.raises(CorruptFile) as info:
        read_json(target)
    err = info.value
    assert err.path == str(target)
    assert reason in err.reason
    assert str(target) in err.user_text() and reason in err.user_text()


def test_directory_and_fifo_in_place_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(CorruptFile, match="directory"):
        read_json(tmp_path / "d.json")
    if WINDOWS:
        return  # Windows has no FIFOs
    os.mkfifo(tmp_path / "f.json")
    with pytest.raises(CorruptFile, match="empty"):  # and, above all, no hang
        read_json(tmp_path / "f.json")


@posix_only
def test_mode_is_set_before_content(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_text("{}")
    os.chmod(target, 0o644)
    write_json_atomic(target, {"k": "v"}, mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_write_failure_is_storage_error_and_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json_atomic(target, {"v": 1})
    with pytest.raises(StorageError, match="Could not write"):  # its parent is a file, not a dir
        write_bytes_atomic(target / "child.json", b"{}")
    target.with_name("y.json").mkdir()
    with pytest.raises(StorageError, match="Could not write"):  # os.replace onto a directory
        write_json_atomic(target.with_name("y.json"), {"v": 2})
    assert read_json(target) == {"v": 1}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX)]


@posix_only  # symlinks: Windows needs a privilege for them, Wine shows them as plain files
def test_stale_temp_files_removed_young_ones_kept(tmp_path: Path) -> None:
    now_ms = 1_800_000_000_000
    old = tmp_path / f"{TMP_PREFIX}upload-state.json.abc"
    young = tmp_path / f"{TMP_PREFIX}upload-state.json.def"
    data = tmp_path / "upload-state.json"
    lookalike = tmp_path / "tmp-not-ours.json"
    target_dir = tmp_path / "elsewhere"
    target_dir.mkdir()
    linked = tmp_path / f"{TMP_PREFIX}link"
    for p in (old, young, data, lookalike, target_dir / "t"):
        p.write_text("{}")
    linked.symlink_to(target_dir / "t")
    tmp_dir = tmp_path / f"{TMP_PREFIX}dir"
    tmp_dir.mkdir()
    for p in (old, data, lookalike, tmp_dir):
        os.utime(p, ns=((now_ms - 2 * HOUR_MS) * 10**6,) * 2)
    os.utime(linked, ns=((now_ms - 2 * HOUR_MS) * 10**6,) * 2, follow_symlinks=False)
    os.utime(young, ns=((now_ms - 10 * 60 * 1000) * 10**6,) * 2)

    removed = remove_stale_temp_files(tmp_path, now_ms, HOUR_MS)

    assert removed == [old]
    assert not old.exists()
    for kept in (young, data, lookalike, linked, tmp_dir, target_dir / "t"):
        assert kept.exists() or kept.is_symlink(), kept


def test_quarantine_moves_aside(tmp_path: Path) -> None:
    target = tmp_path / "upload-state.json"
    target.write_text("{broken")
    moved = quarantine(target, 123)
    assert moved == tmp_path / "upload-state.json.corrupt-123"
    assert moved.read_text() == "{broken"
    assert not target.exists()
    assert read_json(target) is None
