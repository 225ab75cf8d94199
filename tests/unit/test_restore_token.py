"""RestoreTokenStore (traycap/portal/restore_token.py): the token that spares the picker, kept safely."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.support.platforms import posix_only
from traycap.portal.restore_token import FILE_NAME, RestoreTokenStore


def test_a_saved_token_comes_back_from_a_private_file(tmp_path: Path) -> None:
    store = RestoreTokenStore.in_dir(tmp_path)
    assert store.load() is None
    store.save("abc")
    assert RestoreTokenStore.in_dir(tmp_path).load() == "abc"
    store.save("def")  # it can change: the newest replaces it
    assert store.load() == "def"
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp file left behind


@posix_only  # the token exists only on Wayland desktops; Windows keeps files private by ACL (osutil/winacl)
def test_the_token_file_is_read_and_written_by_its_user_only(tmp_path: Path) -> None:
    RestoreTokenStore.in_dir(tmp_path).save("abc")
    assert stat.S_IMODE((tmp_path / FILE_NAME).stat().st_mode) == 0o600


def test_forgetting_removes_it(tmp_path: Path) -> None:
    store = RestoreTokenStore.in_dir(tmp_path)
    store.save("abc")
    store.save(None)
    store.save(None)
    assert store.load() is None and not (tmp_path / FILE_NAME).exists()


def test_an_unreadable_file_means_the_picker_shows_again(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("{not json")
    assert RestoreTokenStore.in_dir(tmp_path).load() is None
    (tmp_path / FILE_NAME).write_text('{"restoreToken": 7}')
    assert RestoreTokenStore.in_dir(tmp_path).load() is None


def test_a_token_given_for_other_source_types_is_not_sent(tmp_path: Path) -> None:
    """A token restores a screen, or a window: asked for the other, the picker shows (once) again."""
    store = RestoreTokenStore.in_dir(tmp_path)
    store.save("screen", 1)
    assert store.load(1) == "screen" and store.load(2) is None
    assert store.load() == "screen"
    (tmp_path / FILE_NAME).write_text('{"restoreToken": "older"}')  # saved without its types: any
    assert store.load(2) == "older"
