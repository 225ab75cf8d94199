"""The OS keyring adapter: the only module that imports `keyring` (and `secretstorage`, keyring's own
Secret Service client, for the quiet questions keyring cannot ask).

Secret Service on Linux (GNOME Keyring, KWallet), Credential Manager on
Windows, Keychain on macOS. Every call runs on a helper thread and is
time-bound: a locked collection answers by opening an unlock prompt and
waiting for a person, and a Secret Service activated on a bus with no one
to answer may never reply; the CLI and the worker must not hang on either.
After one timeout the store is treated as unavailable for the rest of the
process (the stuck call is left on its daemon thread; `ask_again` lifts that)
and the config file is used instead.

`quiet=True` is for a start nobody watches (the tray at login, `record`,
`worker`): the keyring is only asked what it can answer without a person. On
a Secret Service that means: is the collection there and unlocked, and the
item read without `Unlock` (which is what opens the unlock prompt) and without
creating a collection (the "create keyring" dialog); a locked keyring is then
"locked now", asked again at the next use, never prompted. Windows'
Credential Manager never prompts; for the others (KWallet, macOS Keychain)
keyring offers no way to ask without possibly prompting, so they are asked as
usual.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import closing
from typing import Any, Protocol, TypeVar

from traycap.errors import SecretStoreError

log = logging.getLogger(__name__)

SERVICE = "traycap"  # the keyring entries' service name (config_store.secret_account names each entry)

CALL_TIMEOUT_S = 5.0
PROBE_ACCOUNT = "availability-probe"
# Backends that are no keyring at all, or one no safer than traycap's own 0600 file.
_NOT_A_KEYRING = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
# Backends that talk to a Secret Service (org.freedesktop.secrets): the quiet questions work for them.
_SECRET_SERVICE = ("keyring.backends.SecretService.", "keyring.backends.libsecret.")
_CHAINER = "keyring.backends.chainer."
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"

T = TypeVar("T")


class QuietAccess(Protocol):
    """What a start nobody watches may ask a keyring: nothing here ever waits for a person."""

    def problem(self) -> str | None:
        """None when an entry can be read now without a prompt; otherwise why not (locked, no keyring yet)."""
        ...

    def get(self, account: str) -> str | None:
        """The entry, or None; raises NeedsPerson when reading it would take a prompt."""
        ...


class NeedsPerson(Exception):
    """Answering would take a prompt (an unlock or "create keyring" dialog)."""


def _default_backend() -> Any:
    import keyring

    return keyring.get_keyring()


def backend_name(backend: Any) -> str:
    kind = type(backend)
    return f"{kind.__module__}.{kind.__qualname__}"


class KeyringStore:
    """SecretStore over the `keyring` package. `backend_factory` replaces the OS backend and `quiet_access`
    the Secret Service's quiet questions in tests."""

    def __init__(self, *, backend_factory: Callable[[], Any] | None = None,
                 timeout_s: float = CALL_TIMEOUT_S, quiet: bool = False,
                 quiet_access: Callable[[Any], QuietAccess | None] | None = None) -> None:
        self._backend_factory = backend_factory or _default_backend
        self._timeout_s = timeout_s
        self._quiet = quiet
        self._quiet_access = quiet_access or secret_service_access
        self._lock = threading.RLock()
        self._opened = False
        self._backend: Any = None
        self._access: QuietAccess | None = None
        self._open_problem: str | None = None  # no keyring here: it does not change while the process runs
        self._checked = False
        self._reason: str | None = None
        self._stuck: str | None = None  # a call timed out: not asked again by this process

    @property
    def stuck_reason(self) -> str | None:
        """Why this process no longer asks the keyring (a call that did not answer in time), or None."""
        with self._lock:
            return self._stuck

    def ask_again(self) -> None:
        """Forget that a call timed out (the user asked for it): the next use asks the keyring again."""
        with self._lock:
            self._stuck = None
            self._checked = False

    def settled(self, timeout_s: float) -> bool:
        return True  # every answer is given by the call that asks (time-bound)

    def unavailable_reason(self) -> str | None:
        with self._lock:
            if self._stuck is not None:
                return self._stuck
            # Quietly, "locked" is asked again at every use: it ends when someone unlocks the keyring.
            if not self._checked or (self._quiet and self._access is not None):
                self._checked = True
                self._reason = self._probe()
            return self._stuck or self._reason

    def get(self, account: str) -> str | None:
        backend = self._usable()
        access = self._access if self._quiet else None
        if access is not None:
            value = self._checked_call("read", lambda: access.get(account))
        else:
            value = self._checked_call("read", lambda: backend.get_password(SERVICE, account))
        return value if isinstance(value, str) else None

    def set(self, account: str, value: str) -> None:
        backend = self._usable()
        self._refuse_when_quiet("write")
        self._checked_call("write", lambda: backend.set_password(SERVICE, account, value))

    def delete(self, account: str) -> None:
        backend = self._usable()
        self._refuse_when_quiet("delete")

        def remove() -> None:
            if backend.get_password(SERVICE, account) is not None:
                backend.delete_password(SERVICE, account)

        self._checked_call("delete", remove)

    # --- internals ---------------------------------------------------------------
    def _probe(self) -> str | None:
        try:
            backend = self._open()
            if backend is None:
                return self._open_problem
            access = self._access if self._quiet else None
            if access is not None:
                return self._call("ask", access.problem)
            # A read opens (and, if locked, tries to unlock) the collection: the real test of "usable".
            self._call("read", lambda: backend.get_password(SERVICE, PROBE_ACCOUNT))
        except _CallFailed as exc:
            return exc.reason
        return None

    def _open(self) -> Any:
        """The backend (opened once), or None with `_open_problem` set. _CallFailed when it does not answer."""
        if not self._opened:
            backend = self._call("open", self._backend_factory)
            self._opened = True
            name = backend_name(backend)
            if name.startswith(_NOT_A_KEYRING):
                self._open_problem = f"no OS keyring was found ({name})"
                return None
            self._backend = backend
            self._access = self._quiet_access(backend) if self._quiet else None
            log.debug("OS keyring: %s%s", name, " (asked quietly)" if self._access is not None else "")
        return self._backend

    def _usable(self) -> Any:
        reason = self.unavailable_reason()
        if reason is not None:
            raise SecretStoreError(f"The OS keyring cannot be used: {reason}")
        return self._backend

    def _refuse_when_quiet(self, what: str) -> None:
        # Writing may create a collection (a "create keyring" dialog): only when a person saves settings.
        if self._quiet:
            raise SecretStoreError(f"The OS keyring is not given a {what} by a start nobody watches; "
                                   "saving the settings (`traycap config set`, Save) does it")

    def _checked_call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return self._call(what, fn)
        except _CallFailed as exc:
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
            reason = (f"the keyring did not answer within {self._timeout_s:g} s "
                      "(locked, or waiting for an unlock prompt?)")
            with self._lock:
                self._stuck = reason  # a stuck keyring is not asked again by this process
            raise _CallFailed(reason)
        if error:
            if isinstance(error[0], NeedsPerson):
                raise _CallFailed(str(error[0])) from error[0]
            raise _CallFailed(f"{what} failed: {_first_line(error[0])}") from error[0]
        return result[0]


# --- the Secret Service, asked quietly ---------------------------------------------------------
def secret_service_access(backend: Any) -> QuietAccess | None:
    """Quiet questions for a backend that talks to a Secret Service (or a chain of only such);
    None for any other (asked as usual)."""
    members = list(getattr(backend, "backends", ())) if backend_name(backend).startswith(_CHAINER) else [backend]
    if not members or not all(backend_name(m).startswith(_SECRET_SERVICE) for m in members):
        return None
    first = members[0]
    scheme = getattr(first, "schemes", {}).get(getattr(first, "scheme", "default")) or {}
    return _SecretServiceQuiet(
        collection=str(getattr(first, "preferred_collection", DEFAULT_COLLECTION)),
        username_key=str(scheme.get("username", "username")), service_key=str(scheme.get("service", "service")),
    )


class _SecretServiceQuiet:
    """Reads as keyring's Secret Service backend does (same collection, same attributes), minus `Unlock`."""

    def __init__(self, *, collection: str, username_key: str, service_key: str) -> None:
        self._path = collection
        self._keys = (username_key, service_key)

    def problem(self) -> str | None:
        import secretstorage

        with closing(secretstorage.dbus_init()) as connection:
            try:
                collection = secretstorage.Collection(connection, self._path)
            except secretstorage.exceptions.ItemNotFoundException:
                return "the OS keyring has no default keyring yet (traycap does not create one by itself)"
            return "the OS keyring is locked" if collection.is_locked() else None

    def get(self, account: str) -> str | None:
        import secretstorage

        with closing(secretstorage.dbus_init()) as connection:
            try:
                collection = secretstorage.Collection(connection, self._path)
            except secretstorage.exceptions.ItemNotFoundException:
                return None
            if collection.is_locked():
                raise NeedsPerson("the OS keyring is locked")
            username_key, service_key = self._keys
            for item in collection.search_items({username_key: account, service_key: SERVICE}):
                if item.is_locked():
                    raise NeedsPerson("the OS keyring's entry is locked")
                return item.get_secret().decode("utf-8")
        return None


class _CallFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
