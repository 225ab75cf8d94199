"""Session ids: the only names a path is ever built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.platforms import posix_only
from traycap.errors import InvalidSessionId
from traycap.paths import Paths, check_session_id, default_paths, is_valid_session_id, new_session_id

INVALID = [
    "",
    "../x",
    "..",
    ".",
    "a/b",
    "a\\b",
    "x" * 65,
    "-leading-dash",
    "_leading-underscore",
    "ünïcode",
    "abc\u0661",  # an Arabic-Indic digit: \w and str.isdigit() would accept it
    "has space",
    "tab\t",
    "trailing-newline\n",
    ".hidden",
    ".tmp-session-meta.json.abc",
    "nul\x00byte",
]


@pytest.mark.parametrize("name", INVALID)
def test_invalid_ids_are_rejected(name: str) -> None:
    assert not is_valid_session_id(name)
    with pytest.raises(InvalidSessionId) as info:
        check_session_id(name)
    assert "not a valid session id" in info.value.user_text()
    with pytest.raises(InvalidSessionId):
        Paths(root=Path("/nonexistent"), logs=Path("/nonexistent/logs")).session_dir(name)


@pytest.mark.parametrize("name", ["a", "0", "x" * 64, "20240101-120000-abcdef", "A_b-C", "9-_"])
def test_valid_ids(name: str) -> None:
    assert check_session_id(name) == name


def test_new_session_id_format_is_utc_and_valid() -> None:
    sid = new_session_id(1_700_000_000_000)  # 2023-11-14 22:13:20 UTC
    assert sid.startswith("20231114-221320-")
    assert len(sid) == len("20231114-221320-") + 6
    assert is_valid_session_id(sid)
    assert new_session_id(1_700_000_000_000) != sid  # random suffix


def test_traycap_home_overrides_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRAYCAP_HOME", str(tmp_path / "h"))
    paths = default_paths()
    assert paths.root == tmp_path / "h"
    assert paths.config == tmp_path / "h" / "upload-config.json"
    assert paths.sessions == tmp_path / "h" / "sessions"


@posix_only  # XDG; the Windows data dir is checked by the Windows bench
def test_platform_data_dir_without_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRAYCAP_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    paths = default_paths()
    assert paths.root == tmp_path / "data" / "traycap"
