"""An in-memory SecretStore (the keyring's stand-in for config-store tests), with failures on demand."""

from __future__ import annotations

from traycap.errors import SecretStoreError


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

    def _check(self) -> None:
        if self.reason is not None:
            raise SecretStoreError(f"The OS keyring cannot be used: {self.reason}")
