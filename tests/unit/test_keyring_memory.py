"""How long a keyring that did not answer is remembered, on the fake clock (issue 24: not asked again at every
start; a day, or until the settings are saved)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.platforms import WINDOWS
from traycap.clock import FakeClock
from traycap.storage.keyring_memory import REMEMBER_MS, KeyringMemory, Unanswered

REASON = "the keyring did not answer within 5 s (locked, or waiting for an unlock prompt?)"


@pytest.fixture
def memory(tmp_path: Path, clock: FakeClock) -> KeyringMemory:
    return KeyringMemory(tmp_path / "keyring-unanswered.json", clock)


def test_nothing_is_remembered_until_the_keyring_did_not_answer(memory: KeyringMemory) -> None:
    assert memory.recall() is None
    assert memory.forget() is False


def test_an_unanswered_keyring_is_remembered_for_a_day_then_asked_again(memory: KeyringMemory,
                                                                        clock: FakeClock) -> None:
    t0 = clock.now_ms()
    assert memory.remember(REASON) == Unanswered(REASON, t0)
    clock.advance(REMEMBER_MS / 1000 - 0.001)
    assert memory.recall() == Unanswered(REASON, t0)
    clock.advance(0.001)
    assert memory.recall() is None  # a day later: the next start asks it


def test_the_user_saving_settings_forgets_it_at_once(memory: KeyringMemory, clock: FakeClock) -> None:
    memory.remember(REASON)
    clock.advance(60)
    assert memory.forget() is True
    assert memory.recall() is None
    assert memory.forget() is False


def test_a_clock_set_back_before_the_entry_does_not_keep_the_keyring_unasked(memory: KeyringMemory,
                                                                             clock: FakeClock, tmp_path: Path) -> None:
    memory.remember(REASON)
    set_back = KeyringMemory(tmp_path / "keyring-unanswered.json", FakeClock(clock.now_ms() - 3_600_000))
    assert set_back.recall() is None


def test_the_file_is_private_json_with_both_times(memory: KeyringMemory, clock: FakeClock, tmp_path: Path) -> None:
    memory.remember(REASON)
    path = tmp_path / "keyring-unanswered.json"
    assert json.loads(path.read_text()) == {"reason": REASON, "atMs": clock.now_ms(),
                                            "untilMs": clock.now_ms() + REMEMBER_MS}
    assert WINDOWS or stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temp file left


@pytest.mark.parametrize("content", [b"{not json", b'{"reason": "x"}', b'{"reason": 3, "atMs": 1}', b"[1, 2]",
                                     b'{"reason": "x", "atMs": true}'])
def test_an_unreadable_file_is_moved_aside_and_the_keyring_asked(memory: KeyringMemory, tmp_path: Path,
                                                                 content: bytes) -> None:
    path = tmp_path / "keyring-unanswered.json"
    path.write_bytes(content)
    assert memory.recall() is None
    assert not path.exists()
    assert [p.read_bytes() for p in tmp_path.glob("keyring-unanswered.json.corrupt-*")] == [content]


def test_the_text_says_why_since_when_and_until_when(memory: KeyringMemory, clock: FakeClock) -> None:
    text = memory.remember(REASON).text()
    assert text.startswith(REASON + " at ")
    assert "asks it again at" in text and "traycap config set" in text and "Save" in text
