"""A headless Wayland desktop for tests: sway, PipeWire, WirePlumber and the real ScreenCast portal.

    with wayland_desktop(tmp) as desk:
        desk.spawn("foot", ["foot", "sh", "-c", "..."])     # a client on the desktop
        result = desk.python("wayland_probe.py", "record", "--seconds", "3")
        desk.grim(path)                                      # a screenshot, as the user
        desk.restart_portal_backend(chooser="false")         # the picker that always cancels
        desk.traycap(home, "record", "--duration", "2")      # traycap itself, in its venv (below)

Everything runs as an unprivileged user the harness creates (`traycap-wayland`): sway refuses
to run as root. When the tests do not run as root, the stack runs as the current user.

- Its workspace is a fresh directory under /tmp owned by that user: a 0700 XDG_RUNTIME_DIR, a
  HOME, the configs, and `py/`, a copy of this checkout's `traycap` package (the checkout, like
  root's venv, may sit in root's 0700 home); PYTHONPATH points at `py/`. The probe runs with the
  system python3 (python3-gi, python3-numpy: Gio, Gst, frames); traycap itself (`desk.traycap`)
  with a venv of Debian's python3 holding its dependencies, in a folder every user can read
  (scripts/wayland-venv.sh, made once and cached).
- A private bus from dbus-run-session with its own configuration: no service directories, so
  nothing is D-Bus-activated behind the harness's back; every service is started here.
- sway with WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 and Xwayland off;
  one output, HEADLESS-1, 1280x720, and swaybar with its tray (a StatusNotifierWatcher on the bus,
  where traycap's tray icon registers).
- pipewire, wireplumber (without it a cast starts and no frame ever comes), xdg-permission-store
  (where xdg-desktop-portal keeps restore tokens), xdg-desktop-portal-wlr rebuilt to cast without a
  GPU (scripts/build-xdpw.sh, cached), xdg-desktop-portal.

Readiness is waited for, never slept for: the Wayland socket (which may be wayland-1) and sway's
IPC answering with the output; PipeWire's socket; WirePlumber's clients in PipeWire;
each bus name (`gdbus wait`). Every process is ended by its PID, in reverse order, at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.tray_host import session_bus
from tests.support.waiting import stop_process, wait_until

REPO = Path(__file__).resolve().parents[2]
USER = "traycap-wayland"
OUTPUT = "HEADLESS-1"
SIZE = (1280, 720)
SYSTEM_PYTHON = "/usr/bin/python3"
PORTAL = "org.freedesktop.portal.Desktop"
BACKEND = "org.freedesktop.impl.portal.desktop.wlr"
PERMISSION_STORE = "org.freedesktop.impl.portal.PermissionStore"
TRAY_WATCHER = "org.kde.StatusNotifierWatcher"
TOOLS = ("sway", "swaymsg", "pipewire", "wireplumber", "pw-dump", "grim", "foot", "dbus-run-session", "gdbus",
         "/usr/libexec/xdg-desktop-portal", "/usr/libexec/xdg-permission-store", SYSTEM_PYTHON)
START_TIMEOUT_S = 30.0

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={runtime}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
SWAY_CONFIG = f"""xwayland disable
output {OUTPUT} resolution {SIZE[0]}x{SIZE[1]} position 0,0 bg #203040 solid_color
default_border pixel 2
bar {{
    position top
    tray_output *
}}
"""
XDPW_CONFIG = {
    "none": f"[screencast]\nchooser_type=none\noutput_name={OUTPUT}\nmax_fps=30\n",
    # A picker that always cancels: a request without a restore token is refused, one with it starts.
    "false": f"[screencast]\nchooser_type=simple\nchooser_cmd=false\noutput_name={OUTPUT}\nmax_fps=30\n",
}
WLR_PORTAL_FILE = f"""[portal]
DBusName={BACKEND}
Interfaces=org.freedesktop.impl.portal.Screenshot;org.freedesktop.impl.portal.ScreenCast;
UseIn=wlroots;sway;
"""


@dataclass(frozen=True)
class TestUser:
    name: str
    uid: int
    gid: int


def ensure_test_user() -> TestUser | None:
    """The user the desktop runs as: created once (as root); None when we are not root (we are the user)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                               "--shell", "/usr/sbin/nologin", "--user-group", USER],
                              capture_output=True, text=True, check=False)
        try:  # another test run may have made it at the same moment: the user is what counts
            entry = pwd.getpwnam(USER)
        except KeyError:
            raise AssertionError(f"could not create the test user {USER}: {made.stderr.strip()}") from None
    return TestUser(USER, entry.pw_uid, entry.pw_gid)


def venv_python() -> str:
    """The Python traycap runs with as the desktop's user: Debian's python3 in a venv holding traycap's
    dependencies, readable by that user (scripts/wayland-venv.sh: cached; made on a cache miss)."""
    done = subprocess.run(["bash", str(REPO / "scripts" / "wayland-venv.sh")], capture_output=True, text=True,
                          timeout=900, check=False)
    if done.returncode != 0:
        raise AssertionError(f"scripts/wayland-venv.sh failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def xdpw_binary() -> Path:
    """The rebuilt xdg-desktop-portal-wlr (scripts/build-xdpw.sh: cached; builds on a cache miss)."""
    done = subprocess.run(["bash", str(REPO / "scripts" / "build-xdpw.sh")], capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode != 0:
        raise AssertionError(f"scripts/build-xdpw.sh failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@dataclass
class WaylandDesktop:
    root: Path
    env: dict[str, str]
    user: TestUser | None
    sway_socket: Path | None = None
    _procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)
    _backend: subprocess.Popen[bytes] | None = None
    backend_chooser: str = "none"
    traycap_python: str | None = None  # the venv's python (venv_python()), made on first use

    @property
    def runtime(self) -> Path:
        return self.root / "run"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def python_path(self) -> Path:
        return self.root / "py"

    # --- running things as the desktop's user -----------------------------------------
    def argv(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return list(argv)
        # setpriv execs the command: the PID we get is the program's own, so it is ended by its PID.
        return ["setpriv", f"--reuid={self.user.uid}", f"--regid={self.user.gid}", "--clear-groups", *argv]

    def run(self, *argv: str, check: bool = True, timeout: float = 60,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.argv(list(argv)), env={**self.env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=timeout, check=False, cwd=self.home)
        if check and done.returncode != 0:
            raise AssertionError(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    def spawn(self, name: str, argv: list[str], *, extra_env: dict[str, str] | None = None,
              stdout: int | None = None) -> subprocess.Popen[bytes]:
        """A process of the desktop, logged to logs/NAME.log (or piped), ended by its PID at the end."""
        log = (self.root / "logs" / f"{name}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(self.argv(argv), env={**self.env, **(extra_env or {})}, cwd=self.home,
                                stdin=subprocess.DEVNULL, stdout=stdout if stdout is not None else log, stderr=log)
        self._procs.append((name, proc))
        return proc

    def end(self, proc: subprocess.Popen[bytes]) -> None:
        stop_process(proc)
        self._procs = [(n, p) for n, p in self._procs if p is not proc]

    def python(self, *args: str, timeout: float = 120, check: bool = True) -> dict[str, Any]:
        """Run tests/support/wayland_probe.py as the user; its JSON answer (the last line it prints)."""
        done = self.run(SYSTEM_PYTHON, str(self.python_path / "wayland_probe.py"), *args, check=False,
                        timeout=timeout)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if (check and done.returncode != 0) or not lines:
            raise AssertionError(f"wayland_probe {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        answer: dict[str, Any] = json.loads(lines[-1])
        return answer

    # --- traycap itself, as a person on this desktop runs it ----------------------------------------
    def traycap_home(self, name: str) -> Path:
        """A fresh data dir for traycap (TRAYCAP_HOME), the user's."""
        return self.shared_dir(name)

    def traycap_argv(self, *args: str) -> list[str]:
        if self.traycap_python is None:
            self.traycap_python = venv_python()
        return [self.traycap_python, "-m", "traycap", *args]

    def traycap(self, home: Path, *args: str, timeout: float = 120,
                extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`traycap ARGS` run to its end as the desktop's user on data dir `home`."""
        return self.run(*self.traycap_argv(*args), check=False, timeout=timeout,
                        extra_env={"TRAYCAP_HOME": str(home), **(extra_env or {})})

    def spawn_traycap(self, name: str, home: Path, *args: str, stderr_pipe: bool = False) -> subprocess.Popen[str]:
        """`traycap ARGS` running, its stderr readable line by line (when piped) or in logs/NAME.log."""
        log = (self.root / "logs" / f"{name}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(self.argv(self.traycap_argv(*args)), env={**self.env, "TRAYCAP_HOME": str(home)},
                                cwd=self.home, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE if stderr_pipe else log, text=True)
        self._procs.append((name, proc))  # type: ignore[arg-type]
        return proc

    def give(self, path: Path) -> None:
        """Make `path` (and what is under it) the desktop user's: files the test writes for traycap."""
        for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
            self._give(item)

    def probe(self, *args: str) -> subprocess.Popen[bytes]:
        """wayland_probe.py as a running process whose JSON lines the test reads as they come."""
        return self.spawn("probe", [SYSTEM_PYTHON, "-u", str(self.python_path / "wayland_probe.py"), *args],
                          stdout=subprocess.PIPE)

    def shared_dir(self, name: str) -> Path:
        """A directory the user can write and the test can read."""
        path = self.root / "shared" / name
        path.mkdir(parents=True, exist_ok=True)
        self._give(path)
        return path

    # --- looking at the desktop ------------------------------------------------------------
    def swaymsg(self, *args: str) -> Any:
        done = self.run("swaymsg", "-s", str(self.sway_socket), "-r", *args)
        return json.loads(done.stdout)

    def damage(self) -> None:
        """Change something on the screen (the background colour): wlroots sends a cast's frames on change only,
        so a cast started on a screen that was cast before and is unchanged since gets its first frame then."""
        self._bg = not getattr(self, "_bg", False)
        self.swaymsg("output", OUTPUT, "bg", "#203040" if self._bg else "#213041", "solid_color")

    def grim(self, path: Path) -> None:
        """A PPM screenshot of the whole output, taken by grim as the user (screencopy, like the portal)."""
        self.run("grim", "-t", "ppm", str(path))

    def pid_of_backend(self) -> int:
        assert self._backend is not None
        return self._backend.pid

    # --- the portal backend ------------------------------------------------------------------
    def restart_portal_backend(self, chooser: str = "none") -> None:
        """(Re)start xdg-desktop-portal-wlr with the "none" picker or the one that always cancels ("false")."""
        if self._backend is not None:
            self.end(self._backend)
            self._backend = None
            wait_until("the old portal backend to leave the bus", lambda: not self.has_name(BACKEND), 10)
        config = self.root / "config" / "xdg-desktop-portal-wlr" / f"config-{chooser}"
        self._backend = self.spawn(f"xdpw-{chooser}", [str(self.root / "bin" / "xdg-desktop-portal-wlr"),
                                                       "-c", str(config)])
        self.backend_chooser = chooser
        self.wait_for_name(BACKEND)

    def kill_portal_backend(self) -> None:
        """SIGKILL xdg-desktop-portal-wlr, as a crash would: its streams end with it."""
        assert self._backend is not None
        self._backend.kill()
        self._backend.wait()
        self._procs = [(n, p) for n, p in self._procs if p is not self._backend]
        self._backend = None

    def ensure_backend(self, chooser: str = "none") -> None:
        if self._backend is None or self._backend.poll() is not None or self.backend_chooser != chooser:
            self.restart_portal_backend(chooser)

    # --- bus names -----------------------------------------------------------------------------
    def has_name(self, name: str) -> bool:
        done = self.run("gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path",
                        "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.NameHasOwner", name, check=False)
        return "true" in done.stdout

    def wait_for_name(self, name: str, timeout: float = START_TIMEOUT_S) -> None:
        done = self.run("gdbus", "wait", "--session", "--timeout", str(round(timeout)), name, check=False,
                        timeout=timeout + 10)
        if done.returncode != 0:
            raise AssertionError(f"{name} did not appear on the bus: {done.stderr.strip()}\n{self.log_tails()}")

    # --- ending ----------------------------------------------------------------------------------
    def stop_all(self) -> None:
        for _name, proc in reversed(self._procs):
            stop_process(proc)
        self._procs.clear()
        for log in self._logs:
            log.close()

    def log_tails(self) -> str:
        out = []
        for path in sorted((self.root / "logs").glob("*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}")
        return "\n".join(out)

    def _give(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.uid, self.user.gid)


def read_ppm(path: Path) -> Any:
    """grim's binary PPM (P6, 8 bits) as an RGB array."""
    import numpy as np

    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(data, dtype=np.uint8, offset=pos + 1, count=width * height * 3).reshape(height, width, 3)


def spawn_foot(desk: WaylandDesktop, script: str, size: int) -> subprocess.Popen[bytes]:
    """foot running `script` (a counter) in font `size`, once its window is on the output."""
    proc = desk.spawn("foot", ["foot", "-o", f"font=monospace:size={size}", "sh", "-c", script])

    def mapped() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"foot exited: {desk.log_tails()}")
        stack = [desk.swaymsg("-t", "get_tree")]
        while stack:
            node = stack.pop()
            if node.get("app_id") == "foot" and node.get("visible"):
                return True
            stack += node.get("nodes", []) + node.get("floating_nodes", [])
        return False

    wait_until("foot's window on the output", mapped, 20)
    return proc


def check_tools() -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None and not os.access(t, os.X_OK)]
    if missing:
        raise AssertionError(f"the Wayland tests need {', '.join(missing)}: run `bash scripts/setup.sh test`")


def _prepare(root: Path, user: TestUser | None) -> None:
    for sub in ("run", "home", "config/sway", "config/xdg-desktop-portal-wlr", "portals", "bin", "logs", "py",
                "shared", "home/.cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "config" / "sway" / "config").write_text(SWAY_CONFIG)
    for chooser, text in XDPW_CONFIG.items():
        (root / "config" / "xdg-desktop-portal-wlr" / f"config-{chooser}").write_text(text)
    (root / "portals" / "wlr.portal").write_text(WLR_PORTAL_FILE)
    (root / "dbus.conf").write_text(DBUS_CONFIG.format(runtime=root / "run"))
    shutil.copy2(xdpw_binary(), root / "bin" / "xdg-desktop-portal-wlr")
    shutil.copytree(REPO / "traycap", root / "py" / "traycap",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(REPO / "tests" / "support" / "wayland_probe.py", root / "py" / "wayland_probe.py")
    os.chmod(root, 0o755)  # noqa: S103 - the desktop's user (another uid) must enter it
    os.chmod(root / "run", 0o700)
    if user is not None:
        for path in [root, *root.rglob("*")]:
            os.chown(path, user.uid, user.gid, follow_symlinks=False)


def _base_env(root: Path, user: TestUser | None) -> dict[str, str]:
    name = user.name if user is not None else pwd.getpwuid(os.geteuid()).pw_name
    return {
        "HOME": str(root / "home"), "USER": name, "LOGNAME": name, "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8", "XDG_RUNTIME_DIR": str(root / "run"), "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "home" / ".local" / "share"), "XDG_CACHE_HOME": str(root / "home" / ".cache"),
        "XDG_STATE_HOME": str(root / "home" / ".local" / "state"), "XDG_CURRENT_DESKTOP": "sway",
        "XDG_SESSION_TYPE": "wayland", "XDG_DESKTOP_PORTAL_DIR": str(root / "portals"),
        "WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman", "WLR_LIBINPUT_NO_DEVICES": "1",
        "PYTHONPATH": str(root / "py"), "PYTHONDONTWRITEBYTECODE": "1", "NO_AT_BRIDGE": "1",
        "TRAYCAP_KEYRING": "off",
    }


def _wayland_socket(runtime: Path) -> str | None:
    sockets = [p.name for p in runtime.glob("wayland-*") if not p.name.endswith(".lock")]
    return sorted(sockets)[0] if sockets else None


def _start_sway(desk: WaylandDesktop) -> None:
    sway = desk.spawn("sway", ["sway", "-c", str(desk.root / "config" / "sway" / "config")])
    uid = desk.user.uid if desk.user is not None else os.geteuid()
    ipc = desk.runtime / f"sway-ipc.{uid}.{sway.pid}.sock"

    def up() -> str | None:
        if sway.poll() is not None:
            raise AssertionError(f"sway exited ({sway.returncode})\n{desk.log_tails()}")
        socket = _wayland_socket(desk.runtime)
        return socket if socket and ipc.exists() else None

    socket = wait_until("sway's Wayland and IPC sockets", up, START_TIMEOUT_S)
    desk.sway_socket = ipc
    desk.env["WAYLAND_DISPLAY"] = socket
    desk.env["SWAYSOCK"] = str(ipc)
    wait_until(f"sway's output {OUTPUT}",
               lambda: any(o.get("name") == OUTPUT and o.get("active") for o in desk.swaymsg("-t", "get_outputs")),
               START_TIMEOUT_S)


def _wireplumber_ready(desk: WaylandDesktop) -> bool:
    """WirePlumber is connected to PipeWire and has exported its objects (its second client appears then)."""
    done = desk.run("pw-dump", check=False, timeout=20)
    if done.returncode != 0:
        return False
    try:
        objects = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False
    names = {((o.get("info") or {}).get("props") or {}).get("application.name") for o in objects
             if o.get("type") == "PipeWire:Interface:Client"}
    return {"WirePlumber", "WirePlumber [export]"} <= names


def run_unprivileged(tmp: Path, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`code` run by the system python3 as the unprivileged test user (as us when we are not root), with a
    readable copy of traycap on its path."""
    user = ensure_test_user()
    py = tmp / "py"
    shutil.copytree(REPO / "traycap", py / "traycap", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for path in [tmp, *tmp.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)  # the other user reads the copy
    argv = [SYSTEM_PYTHON, "-c", code]
    if user is not None:
        argv = ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--clear-groups", *argv]
    return subprocess.run(argv, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(py), "LANG": "C.UTF-8"},
                          cwd=tmp, capture_output=True, text=True, timeout=timeout, check=False)


@contextmanager
def bus_without_activation(tmp: Path) -> Iterator[str]:
    """A private session bus (ours) on which nothing is D-Bus-activated: only what a test starts answers."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "dbus.conf"
    config.write_text(DBUS_CONFIG.format(runtime=tmp))
    with session_bus(config) as address:
        yield address


@contextmanager
def wayland_desktop(tmp_parent: Path | None = None) -> Iterator[WaylandDesktop]:
    check_tools()
    user = ensure_test_user()
    root = Path(tempfile.mkdtemp(prefix="traycap-wayland-", dir=tmp_parent))
    try:
        with ExitStack() as stack:
            _prepare(root, user)
            desk = WaylandDesktop(root=root, env=_base_env(root, user), user=user)
            desk.env["DBUS_SESSION_BUS_ADDRESS"] = stack.enter_context(
                session_bus(root / "dbus.conf", as_user=desk.argv([]), python=SYSTEM_PYTHON, env=desk.env))
            stack.callback(desk.stop_all)
            pipewire = desk.spawn("pipewire", ["pipewire"])
            _start_sway(desk)
            wait_until("PipeWire's socket",
                       lambda: (desk.runtime / "pipewire-0").exists() or pipewire.poll() is not None, START_TIMEOUT_S)
            desk.spawn("wireplumber", ["wireplumber"])
            desk.spawn("permission-store", ["/usr/libexec/xdg-permission-store", "--replace"])
            wait_until("WirePlumber connected to PipeWire", lambda: _wireplumber_ready(desk), START_TIMEOUT_S)
            desk.restart_portal_backend("none")
            desk.wait_for_name(PERMISSION_STORE)
            desk.spawn("xdg-desktop-portal", ["/usr/libexec/xdg-desktop-portal"])
            desk.wait_for_name(PORTAL)
            desk.wait_for_name(TRAY_WATCHER)  # swaybar's tray: where traycap's icon registers
            yield desk
    finally:
        shutil.rmtree(root, ignore_errors=True)
