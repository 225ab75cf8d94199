"""Where the upload secrets (secret key, session token) are kept: the OS keyring, else the 0600 config file.

`SecretStore` is the one small interface; the OS keyring adapter
(keyring_store.py) is the only real one, `NoSecretStore` stands for
"no keyring here" (turned off, or tests). `choose_secret_store` picks once,
from TRAYCAP_KEYRING: `auto` (default: the OS keyring when it is usable) or
`off` (always the file).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from typing import Protocol

KEYRING_ENV = "TRAYCAP_KEYRING"


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


class NoSecretStore:
    """No keyring: secrets stay in the 0600 config file."""

    def __init__(self, reason: str = f"the OS keyring is turned off ({KEYRING_ENV}=off)") -> None:
        self._reason = reason

    def unavailable_reason(self) -> str | None:
        return self._reason

    def get(self, account: str) -> str | None:
        return None

    def set(self, account: str, value: str) -> None:
        from traycap.errors import SecretStoreError

        raise SecretStoreError(f"Cannot store a secret in the OS keyring: {self._reason}")

    def delete(self, account: str) -> None:
        return None


def choose_secret_store(env: Mapping[str, str] | None = None) -> SecretStore:
    """The store this process uses, chosen once. The keyring is not touched until first used."""
    mode = (env if env is not None else os.environ).get(KEYRING_ENV, "auto").strip().lower()
    if mode in ("off", "0", "no", "false", "file"):
        return NoSecretStore()
    from traycap.storage.keyring_store import KeyringStore

    return KeyringStore()
