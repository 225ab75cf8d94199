"""The keyring adapter over fake backends (Windows Credential Manager, macOS Keychain, none, locked, hanging).

The real Secret Service is exercised in tests/integration/test_secrets_keyring.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from traycap.errors import SecretStoreError
from traycap.storage.keyring_store import KeyringStore, NeedsPerson, secret_service_access


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


# --- quiet: a start nobody watches (issue 24) -------------------------------------------------
class _Quiet:
    """The Secret Service's quiet questions, scripted: locked or not; an entry read without `Unlock`."""

    def __init__(self, *, locked: bool = False, entries: dict[str, str] | None = None) -> None:
        self.locked = locked
        self.entries = entries or {}
        self.asked: list[str] = []

    def problem(self) -> str | None:
        self.asked.append("problem")
        return "the OS keyring is locked" if self.locked else None

    def get(self, account: str) -> str | None:
        self.asked.append(f"get {account}")
        if self.locked:
            raise NeedsPerson("the OS keyring is locked")
        return self.entries.get(account)


class _Prompting(_Backend):
    """keyring's own calls: on a locked collection each of them would open an unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(f"get {username}")
        return super().get_password(service, username)


def _quiet_store(quiet: _Quiet, backend: _Backend | None = None) -> KeyringStore:
    chosen = backend or _named("keyring.backends.SecretService", "Keyring")
    return KeyringStore(backend_factory=lambda: chosen, quiet=True, quiet_access=lambda b: quiet)


def test_quietly_a_locked_keyring_is_unavailable_without_any_call_that_prompts() -> None:
    backend, quiet = _Prompting(), _Quiet(locked=True)
    store = _quiet_store(quiet, backend)
    reason = store.unavailable_reason()
    assert reason is not None and "locked" in reason
    with pytest.raises(SecretStoreError) as caught:
        store.get("secretAccessKey@/data")
    assert "locked" in caught.value.message
    assert backend.calls == []  # keyring's get_password (which unlocks) was never called


def test_quietly_locked_is_asked_again_at_the_next_use_and_read_once_unlocked() -> None:
    quiet = _Quiet(locked=True, entries={"secretAccessKey@/data": "s3cr3t"})
    store = _quiet_store(quiet)
    assert store.unavailable_reason() is not None
    quiet.locked = False  # someone unlocked the keyring (a login, another program's prompt)
    assert store.unavailable_reason() is None
    assert store.get("secretAccessKey@/data") == "s3cr3t"
    assert store.get("sessionToken@/data") is None


def test_quietly_the_keyring_is_never_written() -> None:
    """A write may create a collection (a "create keyring" dialog): only a person's Save does it."""
    backend = _named("keyring.backends.SecretService", "Keyring")
    store = _quiet_store(_Quiet(), backend)
    assert store.unavailable_reason() is None
    for call in (lambda: store.set("a", "v"), lambda: store.delete("a")):
        with pytest.raises(SecretStoreError) as caught:
            call()
        assert "saving the settings" in caught.value.message
    assert backend.data == {}


def test_quietly_a_keyring_that_hangs_is_stuck_for_the_process_until_asked_again() -> None:
    release = threading.Event()
    calls: list[str] = []

    class Hanging(_Quiet):
        def problem(self) -> str | None:
            calls.append("problem")
            release.wait(30)
            return None

    store = KeyringStore(backend_factory=lambda: _named("keyring.backends.SecretService", "Keyring"),
                         timeout_s=0.2, quiet=True, quiet_access=lambda b: Hanging())
    try:
        reason = store.unavailable_reason()
        assert reason is not None and "did not answer within 0.2 s" in reason
        assert store.stuck_reason == reason and store.unavailable_reason() == reason and calls == ["problem"]
        store.ask_again()
        assert store.stuck_reason is None
        assert store.unavailable_reason() == reason and calls == ["problem", "problem"]  # asked, and stuck again
    finally:
        release.set()


def test_quietly_other_keyrings_are_asked_as_usual() -> None:
    """Credential Manager never prompts; KWallet and the Keychain offer no quiet question (docs/privacy.md)."""
    backend = _named("keyring.backends.Windows", "WinVaultKeyring")
    backend.data[("traycap", "a")] = "v"
    store = KeyringStore(backend_factory=lambda: backend, quiet=True, quiet_access=lambda b: None)
    assert store.unavailable_reason() is None and store.get("a") == "v"


@pytest.mark.parametrize("names,quiet", [
    (["keyring.backends.SecretService"], True),
    (["keyring.backends.libsecret"], True),
    (["keyring.backends.chainer", "keyring.backends.SecretService", "keyring.backends.libsecret"], True),
    (["keyring.backends.chainer", "keyring.backends.SecretService", "keyring.backends.kwallet"], False),
    (["keyring.backends.kwallet"], False),
    (["keyring.backends.macOS"], False),
    (["keyring.backends.Windows"], False),
])
def test_the_secret_service_is_asked_quietly_only_when_every_backend_in_use_is_one(names: list[str],
                                                                                   quiet: bool) -> None:
    backend = _named(names[0], "Keyring")
    if len(names) > 1:
        backend.backends = [_named(n, "Keyring") for n in names[1:]]
    assert (secret_service_access(backend) is not None) is quiet
