"""An in-memory SecretStore (the keyring's stand-in for config-store tests), with failures on demand; one
that answers a process's start-up thread only when told, and a SettlingStore that shows who waits on it."""

from __future__ import annotations

import threading

from traycap.errors import SecretStoreError
from traycap.storage.secrets import SettlingStore


class MemorySecretStore:
    def __init__(self, *, reason: str | None = None) -> None:
        self.entries: dict[str, str] = {}
        self.reason = reason  # not None: unavailable, for this reason
        self.fail_set = False  # set() raises, as a keyring that refuses the write
        self.lose_writes = False  # set() "succeeds" but stores nothing: the read-back must catch it
        self.calls: list[str] = []

    def unavailable_reason(self) -> str | None:
        return self.reason

    def get(self, account: str) -> str | None:
        self.calls.append(f"get {account}")
        self._check()
        return self.entries.get(account)

    def set(self, account: str, value: str) -> None:
        self.calls.append(f"set {account}")
        self._check()
        if self.fail_set:
            raise SecretStoreError("The OS keyring refused the write")
        if not self.lose_writes:
            self.entries[account] = value

    def delete(self, account: str) -> None:
        self.calls.append(f"delete {account}")
        self._check()
        self.entries.pop(account, None)

    def settled(self, timeout_s: float) -> bool:
        return True

    def _check(self) -> None:
        if self.reason is not None:
            raise SecretStoreError(f"The OS keyring cannot be used: {self.reason}")


class AnsweringSecretStore(MemorySecretStore):
    """A keyring whose first question (the start-up thread's) is answered only once `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.release.set()

    def unavailable_reason(self) -> str | None:
        self.release.wait(30)
        return super().unavailable_reason()


class WatchedSettling(SettlingStore):
    """Records each wait for the keyring's answer, and lets the keyring answer during the first real one: a
    decision that does not wait finds it unanswered."""

    def __init__(self, inner: AnsweringSecretStore) -> None:
        super().__init__(inner)
        self.inner = inner
        self.waits: list[float] = []

    def settled(self, timeout_s: float) -> bool:
        self.waits.append(timeout_s)
        if timeout_s > 0:  # a real wait: the keyring answers during it
            self.inner.release.set()
        return super().settled(timeout_s)
