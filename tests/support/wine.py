"""The Windows bench harness: run the real Windows CPython (prepared by scripts/windows-bench.sh) under Wine.

Windows Python sees this repository as Z:\\... and imports traycap from it; the
dependencies' Windows wheels are unpacked in build/windows-bench/deps. One
wineserver is kept alive for the bench (`wineserver -p`) so each process start
costs about a second instead of booting Wine again; `stop()` ends it.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_SCRIPT = REPO / "scripts" / "windows-bench.sh"
USER_NAME = "Zoë Smith"
WINDOWS_HOME = f"C:\\users\\{USER_NAME}"
DATA_DIR = f"{WINDOWS_HOME}\\AppData\\Local\\traycap"


# The unit tests run under Windows Python on every test run: those whose subject touches the
# operating system, found by what they name (a platform branch, processes, signals, the registry,
# file modes, replacing files), plus the modules below, whose subjects replace, remove or hold files
# in ways Windows treats differently (each of those broke there once: git log --grep=Windows). The
# rest of the unit suite is pure Python that runs the same on every OS; scripts/windows-bench.sh
# runs all of it under Windows Python on demand.
OS_TOUCHING = re.compile(
    r"sys\.platform|posix_only|subprocess|os\.kill|signal\.|winreg|msvcrt|zip_test_errors|os\.replace|chmod|st_mode"
)
ALSO_EVERY_RUN = ("test_recorder_recover.py", "test_recorder_controller.py", "test_one_copy_live.py",
                  "test_prune.py", "test_keyring_store.py", "test_live_share.py")


def os_touching_unit_tests(repo: Path = REPO) -> list[str]:
    """tests/unit modules that run under Windows Python on every test run (see OS_TOUCHING)."""
    missing = [name for name in ALSO_EVERY_RUN if not (repo / "tests" / "unit" / name).is_file()]
    assert not missing, f"renamed or gone, update ALSO_EVERY_RUN in tests/support/wine.py: {missing}"
    found = []
    for path in sorted((repo / "tests" / "unit").glob("test_*.py")):
        if path.name in ALSO_EVERY_RUN or OS_TOUCHING.search(path.read_text(encoding="utf-8")):
            found.append(path.relative_to(repo).as_posix())
    return found


def windows_path(path: Path) -> str:
    """The Z: path Wine gives a Linux path."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return f"{' '.join(self.argv)} -> rc={self.returncode} in {self.seconds:.1f}s\n{self.stdout}\n{self.stderr}"


class WineBench:
    def __init__(self, bench_dir: Path) -> None:
        self.dir = bench_dir
        self.python = bench_dir / "py" / "cp313" / "python.exe"
        self.prefix = bench_dir / "prefix"
        self.log: list[Run] = []
        self.extra_env: dict[str, str] = {}  # e.g. DISPLAY, for every process of the bench
        self._server: subprocess.Popen[bytes] | None = None

    @classmethod
    def prepare(cls) -> WineBench:
        out = subprocess.run(
            ["bash", str(BENCH_SCRIPT), "prepare"], check=True, stdout=subprocess.PIPE, timeout=1800
        )
        return cls(Path(out.stdout.decode().strip().splitlines()[-1]))

    @property
    def user_home(self) -> Path:
        """C:\\users\\Zoë Smith, seen from Linux."""
        return self.prefix / "drive_c" / "users" / USER_NAME

    @property
    def data_dir(self) -> Path:
        """%LOCALAPPDATA%\\traycap, seen from Linux."""
        return self.user_home / "AppData" / "Local" / "traycap"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAYCAP_", "PYTHON", "WINE"))}
        env.update(
            WINEPREFIX=str(self.prefix),
            WINEARCH="win64",
            WINEDEBUG="-all",
            WINEDLLOVERRIDES="mscoree,mshtml=",
            USER=USER_NAME,
            LOGNAME=USER_NAME,
            # Output is parsed here; the console code page would otherwise decide its encoding.
            PYTHONIOENCODING="utf-8",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONPATH=f"{windows_path(self.dir / 'deps')};{windows_path(REPO)}",
        )
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def start_server(self) -> None:
        """Keep one wineserver for the whole bench."""
        self._server = start_wineserver(self.env())

    def stop(self) -> None:
        """End every Wine process of this prefix (all started by the bench), then the server we started."""
        stop_wine(self.env(), self._server)
        self._server = None

    def argv(self, args: Sequence[str]) -> list[str]:
        return ["wine", str(self.python), *args]

    def python_run(
        self, args: Sequence[str], *, timeout: float = 180, env: Mapping[str, str] | None = None
    ) -> Run:
        """Run Windows python.exe with `args` and collect its output.

        Pipes, not files: Python 3.13 under Wine 8 cannot use a redirected regular file as a
        standard stream ("Invalid handle"). Wine's own helpers (explorer.exe for the desktop and
        tray, services) may inherit the pipes and keep them open after python.exe exits, so the
        output is read until the process has exited and the pipes are drained, not until EOF.
        """
        start = time.monotonic()
        proc = subprocess.Popen(
            self.argv(args), env=self.env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=REPO,
        )
        out = drain(proc, start + timeout)
        run = Run(
            argv=tuple(args), returncode=proc.returncode,
            stdout=out[0].decode("utf-8", "replace").replace("\r\n", "\n"),
            stderr=out[1].decode("utf-8", "replace").replace("\r\n", "\n"),
            seconds=time.monotonic() - start,
        )
        self.log.append(run)
        return run

    def traycap(self, *args: str, timeout: float = 180, env: Mapping[str, str] | None = None) -> Run:
        return self.python_run(["-m", "traycap", *args], timeout=timeout, env=env)

    def probe(self, *args: str, timeout: float = 180, env: Mapping[str, str] | None = None) -> Run:
        """tests/support/windows_probe.py: checks that must run inside one Windows process."""
        return self.python_run(["-m", "tests.support.windows_probe", *args], timeout=timeout, env=env)


def start_wineserver(env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """A persistent wineserver for env's prefix, so each program starts in about a second instead of
    booting Wine again (stdio detached: it would hold our pipes open)."""
    return subprocess.Popen(["wineserver", "-f", "-p"], env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_wine(env: Mapping[str, str], server: subprocess.Popen[bytes] | None) -> None:
    """End every Wine process of env's prefix (`wineserver -k`: all of them ours), then `server`."""
    subprocess.run(["wineserver", "-k"], env=dict(env), check=False, timeout=60)
    if server is not None:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def drain(proc: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes]:
    """stdout and stderr of `proc`, read until it has exited and nothing is left in the pipes."""
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        exited = False
        while sel.get_map():
            ready = sel.select(timeout=0.05)
            for key, _ in ready:
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    sel.unregister(key.fd)
            if exited and not ready:
                break  # exited and drained; a Wine helper may hold the pipes open forever
            if not exited and proc.poll() is not None:
                exited = True  # one more pass reads what it wrote last
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise subprocess.TimeoutExpired(proc.args, 0, b"".join(chunks[out_fd]), b"".join(chunks[err_fd]))
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])
