"""The keyring adapter over fake backends (Windows Credential Manager, macOS Keychain, none, locked, hanging).

The real Secret Service is exercised in tests/integration/test_secrets_keyring.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from traycap.errors import SecretStoreError
from traycap.storage.keyring_store import KeyringStore


class _Backend:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.data[(service, username)]


def _named(module: str, name: str) -> Any:
    kind = type(name, (_Backend,), {"__module__": module})
    return kind()


@pytest.mark.parametrize("module,name", [("keyring.backends.Windows", "WinVaultKeyring"),
                                         ("keyring.backends.macOS", "Keyring"),
                                         ("keyring.backends.SecretService", "Keyring")])
def test_os_keyrings_store_read_and_delete(module: str, name: str) -> None:
    backend = _named(module, name)
    store = KeyringStore(backend_factory=lambda: backend)
    assert store.unavailable_reason() is None
    store.set("secretAccessKey@/data", "v")
    assert backend.data == {("traycap", "secretAccessKey@/data"): "v"}
    assert store.get("secretAccessKey@/data") == "v"
    store.delete("secretAccessKey@/data")
    store.delete("secretAccessKey@/data")  # absent: no error
    assert store.get("secretAccessKey@/data") is None


@pytest.mark.parametrize("module", ["keyring.backends.fail", "keyring.backends.null", "keyrings.alt.file"])
def test_no_keyring_or_a_plaintext_one_is_not_used(module: str) -> None:
    store = KeyringStore(backend_factory=lambda: _named(module, "Keyring"))
    reason = store.unavailable_reason()
    assert reason is not None and "no OS keyring" in reason and module in reason
    with pytest.raises(SecretStoreError):
        store.set("a", "b")


def test_a_backend_that_fails_to_open_is_unavailable_with_its_reason() -> None:
    class Locked(_Backend):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("Failed to unlock the collection!")

    store = KeyringStore(backend_factory=Locked)
    reason = store.unavailable_reason()
    assert reason is not None and "Failed to unlock the collection" in reason


def test_a_backend_that_hangs_is_given_up_on_in_time_and_not_asked_again() -> None:
    """A locked collection waits for a person at an unlock prompt: the CLI and the worker must not."""
    release = threading.Event()
    calls: list[str] = []

    class Prompting(_Backend):
        def get_password(self, service: str, username: str) -> str | None:
            calls.append(username)
            release.wait(30)
            return None

    store = KeyringStore(backend_factory=Prompting, timeout_s=0.3)
    started = time.monotonic()
    reason = store.unavailable_reason()
    elapsed = time.monotonic() - started
    release.set()
    assert reason is not None and "did not answer within 0.3 s" in reason
    assert elapsed < 5
    assert store.unavailable_reason() == reason and len(calls) == 1  # probed once per process


def test_a_call_that_hangs_after_a_good_probe_makes_the_store_unavailable() -> None:
    release = threading.Event()

    class HangsOnWrite(_Backend):
        def set_password(self, service: str, username: str, password: str) -> None:
            release.wait(30)

    store = KeyringStore(backend_factory=HangsOnWrite, timeout_s=0.3)
    assert store.unavailable_reason() is None
    with pytest.raises(SecretStoreError) as caught:
        store.set("a", "secret-value")
    release.set()
    assert "did not answer" in caught.value.message and "secret-value" not in caught.value.user_text()
    assert store.unavailable_reason() is not None


def test_the_backend_is_not_opened_until_needed() -> None:
    opened: list[int] = []
    KeyringStore(backend_factory=lambda: opened.append(1) or _Backend())
    assert opened == []
