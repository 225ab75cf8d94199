"""traycap.osutil.files: the replace and remove retries (Windows sharing violations) with an injected sleep."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from traycap.osutil import files


def _flaky_replace(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[str]:
    calls: list[str] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        calls.append(str(dst))
        if len(calls) <= failures:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        real(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    return calls


def test_windows_retries_a_sharing_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new").write_text("new")
    calls = _flaky_replace(monkeypatch, failures=2)
    slept: list[float] = []
    files.replace(tmp_path / "new", tmp_path / "dst", sleep=slept.append, windows=True)
    assert (tmp_path / "dst").read_text() == "new"
    assert len(calls) == 3
    assert slept == [files.REPLACE_WAIT_S] * 2


def test_windows_gives_up_after_about_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new").write_text("new")
    _flaky_replace(monkeypatch, failures=99)
    slept: list[float] = []
    with pytest.raises(PermissionError):
        files.replace(tmp_path / "new", tmp_path / "dst", sleep=slept.append, windows=True)
    assert sum(slept) == pytest.approx(1.0)
    assert (tmp_path / "new").exists()  # nothing lost: the new bytes are still there


def test_posix_does_not_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "new").write_text("new")
    calls = _flaky_replace(monkeypatch, failures=1)
    with pytest.raises(PermissionError):
        files.replace(tmp_path / "new", tmp_path / "dst", sleep=pytest.fail, windows=False)
    assert len(calls) == 1


def _flaky_unlink(monkeypatch: pytest.MonkeyPatch, failures: int) -> list[str]:
    calls: list[str] = []
    real = os.unlink

    def unlink(path: str) -> None:
        calls.append(str(path))
        if len(calls) <= failures:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        real(path)

    monkeypatch.setattr(files.os, "unlink", unlink)
    return calls


def test_remove_retries_on_windows_and_a_missing_file_is_fine(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zip").write_text("z")
    calls = _flaky_unlink(monkeypatch, failures=2)
    slept: list[float] = []
    files.remove(tmp_path / "zip", sleep=slept.append, windows=True)
    assert not (tmp_path / "zip").exists() and len(calls) == 3 and slept == [files.REPLACE_WAIT_S] * 2
    files.remove(tmp_path / "zip", sleep=pytest.fail, windows=True)  # gone already: nothing to do


def test_remove_gives_up_after_about_a_second_and_posix_does_not_retry(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "zip").write_text("z")
    _flaky_unlink(monkeypatch, failures=99)
    slept: list[float] = []
    with pytest.raises(PermissionError):
        files.remove(tmp_path / "zip", sleep=slept.append, windows=True)
    assert sum(slept) == pytest.approx(1.0)
    with pytest.raises(PermissionError):
        files.remove(tmp_path / "zip", sleep=pytest.fail, windows=False)
    assert (tmp_path / "zip").exists()


def test_remove_waits_for_a_reader_to_close_the_file(tmp_path: Path) -> None:
    """For real: a reader holds the file for a moment (on Windows that makes os.unlink fail)."""
    path = tmp_path / "held.zip"
    path.write_bytes(b"z" * 100)
    held = open(path, "rb")  # noqa: SIM115 - closed by the timer below
    timer = threading.Timer(0.3, held.close)
    timer.start()
    try:
        files.remove(path)
    finally:
        timer.join()
        held.close()
    assert not path.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="Windows files have no modes; the data dir's ACL covers them")
def test_set_mode_sets_posix_modes(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        files.set_mode(fd, 0o600)
    finally:
        os.close(fd)
    assert os.stat(path).st_mode & 0o777 == 0o600
