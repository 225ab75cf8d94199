"""traycap.osutil.private and winacl's pure SDDL check: recordings are readable by their owner alone."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from traycap.osutil import private
from traycap.osutil.winacl import sddl_is_user_only, user_only_sddl

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; Windows uses the ACL (Windows bench)")
SID = "S-1-5-21-1-2-3-1001"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@posix_only
def test_private_dirs_are_0700_whatever_the_umask(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "a" / "b" / "traycap"
    private.make_private_dir(target)
    assert mode(target) == 0o700
    private.make_private_dir(target)  # exists: nothing changes, nothing raised
    assert mode(target) == 0o700


@posix_only
def test_tighten_tree_closes_dirs_and_files_and_reports_them(tmp_path: Path, umask_022: None) -> None:
    root = tmp_path / "traycap"
    (root / "sessions" / "s1").mkdir(parents=True)
    (root / "sessions" / "s1" / "actions.jsonl").write_text("{}\n")
    (root / "upload-config.json").write_text("{}")
    os.chmod(root / "upload-config.json", 0o600)  # already private: not reported
    (root / "sessions" / "s1" / "tool.sh").write_text("")
    os.chmod(root / "sessions" / "s1" / "tool.sh", 0o755)  # noqa: S103 - an open file to tighten
    outside = tmp_path / "outside.txt"
    outside.write_text("")
    (root / "link").symlink_to(outside)
    assert not private.is_private(root)

    changed = private.tighten_tree(root)

    assert sorted(p.relative_to(root).as_posix() for p in changed) == [
        ".", "sessions", "sessions/s1", "sessions/s1/actions.jsonl", "sessions/s1/tool.sh",
    ]
    assert mode(root) == mode(root / "sessions") == mode(root / "sessions" / "s1") == 0o700
    assert mode(root / "sessions" / "s1" / "actions.jsonl") == 0o600
    assert mode(root / "sessions" / "s1" / "tool.sh") == 0o600
    assert mode(outside) == 0o644  # a symlink's target is not ours to change
    assert private.is_private(root)
    assert private.tighten_tree(root) == []


def test_user_only_sddl_is_recognised() -> None:
    assert sddl_is_user_only(user_only_sddl(SID), SID)


@pytest.mark.parametrize(
    "sddl",
    [
        f"D:(A;OICI;FA;;;{SID})",  # not protected: Users and Administrators are inherited
        f"D:P(A;OICI;FA;;;{SID})(A;OICI;0x1200a9;;;WD)",  # Everyone may read
        f"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;{SID})",  # SYSTEM too
        "D:P",  # no one at all: not what we set
        "O:BAG:SY",  # no DACL in the string
    ],
)
def test_wider_or_odd_acls_are_not_user_only(sddl: str) -> None:
    assert not sddl_is_user_only(sddl, SID)


@posix_only
def test_the_users_umask_is_kept_for_the_programs_we_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private, "_user_umask", -1)
    old = os.umask(0o022)
    try:
        assert private.user_umask() == -1  # nothing replaced yet: children inherit ours
        private.set_private_umask()
        private.set_private_umask()  # twice: the user's umask is still the first one
        assert os.umask(0o077) == private.PRIVATE_UMASK
        assert private.user_umask() == 0o022
    finally:
        os.umask(old)
