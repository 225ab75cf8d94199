"""The OS keyring adapter: the only module that imports `keyring`.

Secret Service on Linux (GNOME Keyring, KWallet), Credential Manager on
Windows, Keychain on macOS. Every call runs on a helper thread and is
time-bound: a locked collection answers by opening an unlock prompt and
waiting for a person, and a Secret Service activated on a bus with no one
to answer may never reply; the CLI and the worker must not hang on either.
After one timeout the store is treated as unavailable for the rest of the
process (the stuck call is left on its daemon thread) and the config file
is used instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from traycap.errors import SecretStoreError

log = logging.getLogger(__name__)

SERVICE = "traycap"  # the keyring entries' service name (config_store.secret_account names each entry)

CALL_TIMEOUT_S = 5.0
PROBE_ACCOUNT = "availability-probe"
# Backends that are no keyring at all, or one no safer than traycap's own 0600 file.
_NOT_A_KEYRING = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

T = TypeVar("T")


def _default_backend() -> Any:
    import keyring

    return keyring.get_keyring()


def backend_name(backend: Any) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


class KeyringStore:
    """SecretStore over the `keyring` package. `backend_factory` replaces the OS backend in tests."""

    def __init__(self, *, backend_factory: Callable[[], Any] | None = None,
                 timeout_s: float = CALL_TIMEOUT_S) -> None:
        self._backend_factory = backend_factory or _default_backend
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._backend: Any = None
        self._checked = False
        self._reason: str | None = None

    def unavailable_reason(self) -> str | None:
        with self._lock:
            if not self._checked:
                self._checked = True
                self._reason = self._probe()
            return self._reason

    def get(self, account: str) -> str | None:
        backend = self._usable()
        value = self._checked_call("read", lambda: backend.get_password(SERVICE, account))
        return value if isinstance(value, str) else None

    def set(self, account: str, value: str) -> None:
        backend = self._usable()
        self._checked_call("write", lambda: backend.set_password(SERVICE, account, value))

    def delete(self, account: str) -> None:
        backend = self._usable()

        def remove() -> None:
            if backend.get_password(SERVICE, account) is not None:
                backend.delete_password(SERVICE, account)

        self._checked_call("delete", remove)

    # --- internals ---------------------------------------------------------------
    def _probe(self) -> str | None:
        try:
            backend = self._call("open", self._backend_factory)
            name = backend_name(backend)
            if name.startswith(_NOT_A_KEYRING):
                return f"no OS keyring was found ({name})"
            # A read opens (and, if locked, tries to unlock) the collection: the real test of "usable".
            self._call("read", lambda: backend.get_password(SERVICE, PROBE_ACCOUNT))
        except _CallFailed as exc:
            return exc.reason
        self._backend = backend
        log.debug("OS keyring: %s", name)
        return None

    def _usable(self) -> Any:
        reason = self.unavailable_reason()
        if reason is not None:
            raise SecretStoreError(f"The OS keyring cannot be used: {reason}")
        return self._backend

    def _checked_call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return self._call(what, fn)
        except _CallFailed as exc:
            if exc.timed_out:
                with self._lock:
                    self._reason = exc.reason  # a stuck keyring is not asked again by this process
            raise SecretStoreError(f"The OS keyring cannot be used: {exc.reason}") from exc.__cause__

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        result: list[T] = []
        error: list[BaseException] = []
        done = threading.Event()

        def run() -> None:
            try:
                result.append(fn())
            except BaseException as exc:  # reported to the caller below
                error.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name=f"keyring-{what}", daemon=True).start()
        if not done.wait(self._timeout_s):
            raise _CallFailed(f"the keyring did not answer within {self._timeout_s:g} s "
                              "(locked, or waiting for an unlock prompt?)", timed_out=True)
        if error:
            raise _CallFailed(f"{what} failed: {_first_line(error[0])}") from error[0]
        return result[0]


class _CallFailed(Exception):
    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
