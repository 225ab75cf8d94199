"""A real Secret Service for tests: gnome-keyring-daemon on its own `dbus-run-session` bus.

The daemon creates (or opens) a "login" keyring under a private HOME and
unlocks it with a test password read from its standard input, as PAM does
at a desktop login. `env` is what a process needs to talk to it. Closing
our end of the session's stdin ends the session (bus and daemon with it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.tray_host import TrayHost
from tests.support.waiting import close_stdin_and_wait, wait_until

TEST_PASSWORD = "traycap-test-password"

_SESSION = r"""
printf '%s' "$TRAYCAP_TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
  || exit 3
printf '%s' "$DBUS_SESSION_BUS_ADDRESS" > "$1.tmp" && mv "$1.tmp" "$1"
exec cat >/dev/null
"""


def available() -> str | None:
    """None when the tools are installed, else what is missing."""
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon", "secret-tool") if not shutil.which(tool)]
    return f"not installed: {', '.join(missing)} (scripts/setup.sh test)" if missing else None


@dataclass(frozen=True)
class SecretService:
    env: dict[str, str]  # DBUS_SESSION_BUS_ADDRESS, HOME, XDG_* of the session

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), env={**os.environ, **self.env}, capture_output=True, text=True,
                              timeout=30, check=False)

    def lookup(self, account: str, service: str = "traycap") -> str | None:
        """What the keyring holds for `account` (keyring's Secret Service attributes), via libsecret."""
        done = self.run("secret-tool", "lookup", "service", service, "username", account)
        return done.stdout if done.returncode == 0 else None

    def daemon_pid(self) -> int:
        """The process that owns org.freedesktop.secrets (gnome-keyring-daemon, started by this session)."""
        done = self.run("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                        "/org/freedesktop/DBus", "org.freedesktop.DBus.GetConnectionUnixProcessID",
                        "string:org.freedesktop.secrets")
        assert done.returncode == 0, done.stderr
        return int(done.stdout.split()[-1])

    def lock(self) -> None:
        """Lock the login collection, as a screen locker or a timeout does (Secret Service `Lock`)."""
        done = self.run("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.secrets",
                        "/org/freedesktop/secrets", "org.freedesktop.Secret.Service.Lock",
                        "array:objpath:/org/freedesktop/secrets/collection/login")
        assert done.returncode == 0, done.stderr


MARK_INTERFACE = "org.traycap.TestMark"  # a signal the tests send so the monitor's log is known to be current


def monitor_caught_up(host: TrayHost, monitor: Path) -> str:
    """The monitor's log once every message sent before this call is in it: a marker signal is sent on the
    same bus and waited for (the bus delivers in order; dbus-monitor's output can lag on a busy machine)."""
    mark = uuid.uuid4().hex
    sent = host.run("dbus-send", "--session", "--type=signal", "/org/traycap/TestMark", f"{MARK_INTERFACE}.Mark",
                    f"string:{mark}")
    assert sent.returncode == 0, sent.stderr

    def current() -> str | None:
        text = monitor.read_text(errors="replace")
        return text if mark in text else None

    return wait_until("dbus-monitor to catch up", current, 30)


def watch_secret_service(host: TrayHost) -> Path:
    """A dbus-monitor on the host's session bus (the Secret Service's) of every message sent to the Secret
    Service and every Prompt message (an unlock or "create keyring" dialog); returns its log, once attached."""
    monitor = host.tmp / "secret-service.log"
    host.spawn(["dbus-monitor", "--session", "destination='org.freedesktop.secrets'",
                "interface='org.freedesktop.Secret.Prompt'", f"interface='{MARK_INTERFACE}'"], host.tmp, monitor.name)
    wait_until("dbus-monitor to attach", lambda: "NameAcquired" in monitor.read_text(errors="replace"), 15)
    return monitor


@contextmanager
def secret_service(home: Path) -> Iterator[SecretService]:
    home.mkdir(parents=True, exist_ok=True)
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_RUNTIME_DIR": str(runtime),
           "XDG_CONFIG_HOME": str(home / "config"), "TRAYCAP_TEST_KEYRING_PASSWORD": TEST_PASSWORD}
    address_file = home / "bus-address"
    # No DISPLAY: an unlock prompt (gcr-prompter) can then not open and is dismissed at once.
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
    proc = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", _SESSION, "sh", str(address_file)],
        env={**base, **env}, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_until("the Secret Service to start", lambda: address_file.exists() or proc.poll() is not None, 30)
        if proc.poll() is not None:
            raise AssertionError(f"the Secret Service did not start: {proc.stderr.read() if proc.stderr else b''!r}")
        env.pop("TRAYCAP_TEST_KEYRING_PASSWORD")
        yield SecretService(env={**env, "DBUS_SESSION_BUS_ADDRESS": address_file.read_text()})
    finally:
        close_stdin_and_wait(proc)
        if proc.stderr is not None:
            proc.stderr.close()
