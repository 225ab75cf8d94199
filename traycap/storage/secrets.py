"""Where the upload secrets (secret key, session token) are kept: the OS keyring, else the 0600 config file.

`SecretStore` is the one small interface; the OS keyring adapter
(keyring_store.py) is the only real one, `NoSecretStore` stands for
"no keyring here" (turned off, or tests). `choose_secret_store` picks once,
from TRAYCAP_KEYRING: `auto` (default: the OS keyring when it is usable) or
`off` (always the file).

Two wrappers serve a start nobody watches (the tray at login, `record`, `worker`):
- `UnattendedStore`: the keyring asked quietly (never a prompt), and not at all
  for a day after it did not answer (storage/keyring_memory.py);
- `SettlingStore`: asked the first time on a background thread (`settle`); until
  then it says "not known yet" at once, so the icon, the hotkey and the first
  frame never wait for a keyring.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from traycap.errors import SecretStoreError, StorageError

if TYPE_CHECKING:
    from traycap.storage.keyring_memory import KeyringMemory
    from traycap.storage.keyring_store import KeyringStore

log = logging.getLogger(__name__)

KEYRING_ENV = "TRAYCAP_KEYRING"
NOT_SETTLED = "traycap has only just started and is still asking the OS keyring"


class SecretLocation(str, enum.Enum):
    KEYRING = "keyring"
    FILE = "file"

    @property
    def label(self) -> str:
        """As `config show` and the log say it."""
        return "keyring" if self is SecretLocation.KEYRING else "file (0600)"


class SecretStore(Protocol):
    """A place for secrets outside the config file. Every method may raise SecretStoreError."""

    def unavailable_reason(self) -> str | None:
        """None when the store can be used now; otherwise why not, in words. Never blocks for long."""
        ...

    def get(self, account: str) -> str | None: ...

    def set(self, account: str, value: str) -> None: ...

    def delete(self, account: str) -> None:
        """Remove the entry; no error when there is none."""
        ...

    def settled(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` until the store knows whether it can be used; True when it does (only a
        store asked in the background can say False)."""
        ...


class NoSecretStore:
    """No keyring: secrets stay in the 0600 config file."""

    def __init__(self, reason: str = f"the OS keyring is turned off ({KEYRING_ENV}=off)") -> None:
        self._reason = reason

    def unavailable_reason(self) -> str | None:
        return self._reason

    def get(self, account: str) -> str | None:
        return None

    def set(self, account: str, value: str) -> None:
        raise SecretStoreError(f"Cannot store a secret in the OS keyring: {self._reason}")

    def delete(self, account: str) -> None:
        return None

    def settled(self, timeout_s: float) -> bool:
        return True


class UnattendedStore:
    """The OS keyring for a start nobody watches: asked quietly, and not at all while `memory` holds that
    it did not answer. A call that times out here is remembered (once: after `traycap config set` or a
    Save forgot it, this process asks again instead of writing it back)."""

    def __init__(self, keyring: KeyringStore, memory: KeyringMemory) -> None:
        self._keyring = keyring
        self._memory = memory
        self._lock = threading.Lock()
        self._noted: str | None = None  # the timeout this process wrote to the memory

    def unavailable_reason(self) -> str | None:
        remembered = self._remembered()
        if remembered is not None:
            return remembered
        try:
            return self._keyring.unavailable_reason()
        finally:
            self._note_timeout()

    def get(self, account: str) -> str | None:
        self._raise_if_remembered()
        try:
            return self._keyring.get(account)
        finally:
            self._note_timeout()

    def set(self, account: str, value: str) -> None:
        self._raise_if_remembered()
        self._keyring.set(account, value)

    def delete(self, account: str) -> None:
        self._raise_if_remembered()
        self._keyring.delete(account)

    def settled(self, timeout_s: float) -> bool:
        return True

    def _remembered(self) -> str | None:
        remembered = self._memory.recall()
        if remembered is not None:
            return remembered.text()
        with self._lock:
            if self._noted is not None:  # forgotten since (or run out): the user wants it asked again
                self._noted = None
                self._keyring.ask_again()
        return None

    def _raise_if_remembered(self) -> None:
        remembered = self._remembered()
        if remembered is not None:
            raise SecretStoreError(f"The OS keyring cannot be used: {remembered}")

    def _note_timeout(self) -> None:
        stuck = self._keyring.stuck_reason
        with self._lock:
            if stuck is None or self._noted is not None:
                return
            self._noted = stuck
        try:
            self._memory.remember(stuck)
        except (OSError, StorageError) as exc:  # not remembered: the next start asks again, in the background
            log.warning("could not note that the OS keyring did not answer: %s", exc)


class SettlingStore:
    """A store asked for the first time on a background thread: until `settle()` has returned, every
    call answers "not known yet" at once instead of waiting for the keyring."""

    def __init__(self, inner: SecretStore) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._done = threading.Event()

    def settle(self) -> str | None:
        """Ask the inner store whether it can be used (blocks: run it off the UI's way); from then on
        every call goes to it. Returns why it cannot be used, or None."""
        with self._lock:
            try:
                return self._inner.unavailable_reason()
            finally:
                self._done.set()

    def settled(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)

    def unavailable_reason(self) -> str | None:
        return self._inner.unavailable_reason() if self._done.is_set() else NOT_SETTLED

    def get(self, account: str) -> str | None:
        self._raise_if_not_settled()
        return self._inner.get(account)

    def set(self, account: str, value: str) -> None:
        self._raise_if_not_settled()
        self._inner.set(account, value)

    def delete(self, account: str) -> None:
        self._raise_if_not_settled()
        self._inner.delete(account)

    def _raise_if_not_settled(self) -> None:
        if not self._done.is_set():
            raise SecretStoreError(f"The OS keyring cannot be used yet: {NOT_SETTLED}")


def choose_secret_store(env: Mapping[str, str] | None = None, *,
                        unattended: KeyringMemory | None = None) -> SecretStore:
    """The store this process uses, chosen once. The keyring is not touched until first used.
    `unattended`: this process starts without a person at it; the keyring is asked quietly and a
    keyring that did not answer is remembered there."""
    mode = (env if env is not None else os.environ).get(KEYRING_ENV, "auto").strip().lower()
    if mode in ("off", "0", "no", "false", "file"):
        return NoSecretStore()
    from traycap.storage.keyring_store import KeyringStore

    if unattended is not None:
        return UnattendedStore(KeyringStore(quiet=True), unattended)
    return KeyringStore()
