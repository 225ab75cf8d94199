"""The stores of a start nobody watches (issue 24): `UnattendedStore` (asked quietly; a keyring that did not
answer is not asked again for a day) and `SettlingStore` (asked the first time in the background)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.secret_stores import MemorySecretStore
from traycap.clock import FakeClock
from traycap.errors import SecretStoreError
from traycap.storage.keyring_memory import REMEMBER_MS, KeyringMemory
from traycap.storage.keyring_store import KeyringStore
from traycap.storage.secrets import NOT_SETTLED, SettlingStore, UnattendedStore, choose_secret_store


class _HangingKeyring:
    """A Secret Service that does not answer (a hung daemon), until released; counts every question."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.opened = 0
        self.asked = 0

    def open(self) -> Any:
        self.opened += 1
        return type("Keyring", (), {"__module__": "keyring.backends.SecretService"})()

    def problem(self) -> str | None:
        self.asked += 1
        self.release.wait(30)
        return None

    def get(self, account: str) -> str | None:
        return None


@pytest.fixture
def hanging() -> Any:
    keyring = _HangingKeyring()
    yield keyring
    keyring.release.set()


def start(hanging: _HangingKeyring, memory: KeyringMemory) -> UnattendedStore:
    """What one process start builds: a quiet keyring store that remembers."""
    keyring = KeyringStore(backend_factory=hanging.open, timeout_s=0.1, quiet=True, quiet_access=lambda b: hanging)
    return UnattendedStore(keyring, memory)


def test_a_keyring_that_did_not_answer_is_not_asked_by_the_next_start_for_a_day(
        hanging: _HangingKeyring, tmp_path: Path, clock: FakeClock) -> None:
    memory = KeyringMemory(tmp_path / "keyring-unanswered.json", clock)
    first = start(hanging, memory).unavailable_reason()
    assert first is not None and "did not answer within 0.1 s" in first
    assert memory.recall() is not None and (hanging.opened, hanging.asked) == (1, 1)

    clock.advance(3600)
    again = start(hanging, memory)  # the next login, an hour later
    reason = again.unavailable_reason()
    assert reason is not None and reason.startswith(first) and "asks it again at" in reason
    with pytest.raises(SecretStoreError):
        again.get("secretAccessKey@/data")
    assert (hanging.opened, hanging.asked) == (1, 1)  # not even opened: no D-Bus, no 5 s

    clock.advance(REMEMBER_MS / 1000)
    assert start(hanging, memory).unavailable_reason() is not None
    assert (hanging.opened, hanging.asked) == (2, 2)  # a day later it is asked again (and remembered again)
    assert memory.recall() is not None


def test_forgetting_it_makes_a_running_process_ask_again_instead_of_writing_it_back(
        hanging: _HangingKeyring, tmp_path: Path, clock: FakeClock) -> None:
    memory = KeyringMemory(tmp_path / "keyring-unanswered.json", clock)
    store = start(hanging, memory)
    assert store.unavailable_reason() is not None and hanging.asked == 1
    assert store.unavailable_reason() is not None and hanging.asked == 1  # stuck: this process does not ask again
    memory.forget()  # `traycap config set`, or Save in the settings dialog
    hanging.release.set()  # the keyring answers again
    assert store.unavailable_reason() is None and hanging.asked == 2
    assert memory.recall() is None


def test_a_memory_that_cannot_be_written_is_only_logged(hanging: _HangingKeyring, tmp_path: Path,
                                                         clock: FakeClock) -> None:
    (tmp_path / "not-a-dir").write_text("")
    memory = KeyringMemory(tmp_path / "not-a-dir" / "keyring-unanswered.json", clock)
    assert start(hanging, memory).unavailable_reason() is not None
    assert memory.recall() is None


def test_a_settling_store_answers_not_known_yet_at_once_until_settled() -> None:
    inner = MemorySecretStore()
    inner.entries["a"] = "v"
    store = SettlingStore(inner)
    assert store.unavailable_reason() == NOT_SETTLED and not store.settled(0)
    with pytest.raises(SecretStoreError) as caught:
        store.get("a")
    assert NOT_SETTLED in caught.value.message and inner.calls == []
    with pytest.raises(SecretStoreError):
        store.set("a", "w")

    waited: list[bool] = []
    waiter = threading.Thread(target=lambda: waited.append(store.settled(30)))
    waiter.start()
    assert store.settle() is None
    waiter.join(30)
    assert waited == [True] and store.settled(0)
    assert store.unavailable_reason() is None and store.get("a") == "v"


def test_a_settling_store_reports_the_inner_reason_once_settled() -> None:
    store = SettlingStore(MemorySecretStore(reason="the OS keyring is locked"))
    assert store.settle() == "the OS keyring is locked"
    assert store.unavailable_reason() == "the OS keyring is locked"


def test_choose_secret_store_for_a_start_nobody_watches(tmp_path: Path, clock: FakeClock) -> None:
    memory = KeyringMemory(tmp_path / "keyring-unanswered.json", clock)
    assert isinstance(choose_secret_store({}, unattended=memory), UnattendedStore)
    assert not isinstance(choose_secret_store({"TRAYCAP_KEYRING": "off"}, unattended=memory), UnattendedStore)
