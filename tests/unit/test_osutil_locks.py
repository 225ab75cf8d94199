"""traycap.osutil.locks on this OS (the Windows branch runs in the Windows bench)."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

import pytest

from traycap.osutil import locks


def test_a_second_descriptor_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "queue.lock"
    first, second = locks.open_lock_file(path), locks.open_lock_file(path)
    try:
        assert locks.try_lock(first)
        assert not locks.try_lock(second)
        os.close(first)
        assert locks.try_lock(second)
    finally:
        os.close(second)


def test_unlock_frees_the_lock_without_closing(tmp_path: Path) -> None:
    path = tmp_path / "queue.lock"
    first, second = locks.open_lock_file(path), locks.open_lock_file(path)
    try:
        assert locks.try_lock(first)
        locks.unlock(first)
        assert locks.try_lock(second)
    finally:
        os.close(first)
        os.close(second)


def test_lock_waits_for_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "state.lock"
    holder, waiter = locks.open_lock_file(path), locks.open_lock_file(path)
    got = threading.Event()

    def take() -> None:
        locks.lock(waiter)
        got.set()

    try:
        assert locks.try_lock(holder)
        thread = threading.Thread(target=take)
        thread.start()
        assert not got.wait(0.2)  # still held: the waiter is blocked
        locks.unlock(holder)
        assert got.wait(10)
        thread.join(10)
    finally:
        os.close(holder)
        os.close(waiter)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows files have no modes; the data dir's ACL covers them")
def test_lock_file_is_user_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fd = locks.open_lock_file(tmp_path / "queue.lock")
    finally:
        os.umask(old)
    os.close(fd)
    assert stat.S_IMODE(os.stat(tmp_path / "queue.lock").st_mode) == 0o600


def test_lock_file_is_not_inherited(tmp_path: Path) -> None:
    fd = locks.open_lock_file(tmp_path / "queue.lock")
    try:
        assert not os.get_inheritable(fd)
    finally:
        os.close(fd)
