"""A Windows desktop for the installed traycap: a fresh Wine prefix shown as a virtual desktop on Xvfb.

The prefix is a copy of the Windows bench's pristine one (user "Zoë Smith"), so every run starts
from a new Windows user. Wine draws one 1280x800 desktop window with its taskbar, Start button
and notification area (Explorer's "EnableShell"); every click on the X screen lands on it, so
xdotool drives Windows programs as a mouse would, and a screenshot of the X root is a screenshot
of the Windows desktop. One wineserver serves the whole module (`wineserver -p`).

Unlike the bench, nothing here runs the Windows CPython from the source tree: the programs are
the installed traycap.exe / traycapw.exe and the NSIS setup and uninstaller. The only Wine-only
setting is the WMI module turned off (`_wmi.pyd=d`, below): Wine 8 aborts a process that asks
WMI for the Windows version, which botocore does for its user agent; Python then reads the
version from the registry, as on a Windows without WMI. The built app itself is unchanged.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from tests.support.display import XDisplay
from tests.support.waiting import wait_until
from tests.support.wine import BENCH_SCRIPT, USER_NAME, Run, drain, start_wineserver, stop_wine

WIDTH, HEIGHT = 1280, 800
TASKBAR_TOP = HEIGHT - 20  # Wine's taskbar is 20 px high at the bottom
LOCAL_APPDATA = f"C:\\users\\{USER_NAME}\\AppData\\Local"
PROGRAM_DIR = LOCAL_APPDATA + "\\Programs\\traycap"
RUN_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
UNINSTALL_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\traycap"
# Piped output is in the ANSI code page (Python programs) or the OEM one (reg.exe), as on Windows;
# for LANG=C.UTF-8 Wine uses those of US English.
ANSI, OEM = "cp1252", "cp437"

_DESKTOP_REG = f"""REGEDIT4

[HKEY_CURRENT_USER\\Software\\Wine\\Explorer]
"Desktop"="Default"

[HKEY_CURRENT_USER\\Software\\Wine\\Explorer\\Desktops]
"Default"="{WIDTH}x{HEIGHT}"
"EnableShell"=dword:00000001
"""


def pristine_prefix() -> Path:
    """The cached Wine prefix as `wineboot` left it (scripts/windows-bench.sh prepares it)."""
    out = subprocess.run(["bash", str(BENCH_SCRIPT), "pristine"], check=True, stdout=subprocess.PIPE, timeout=1800)
    return Path(out.stdout.decode().strip().splitlines()[-1])


@dataclass
class WineDesktop:
    prefix: Path
    display: XDisplay
    log: list[Run] = field(default_factory=list)
    _server: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, workdir: Path, display: XDisplay) -> WineDesktop:
        prefix = workdir / "prefix"
        subprocess.run(["cp", "-a", str(pristine_prefix()), str(prefix)], check=True, timeout=300)
        desk = cls(prefix, display)
        reg = workdir / "desktop.reg"
        reg.write_text(_DESKTOP_REG, encoding="ascii")
        done = desk.run(["regedit", "/S", str(reg)])
        assert done.returncode == 0, done.describe()
        # Explorer read its settings before regedit wrote them: start Wine again, now as a desktop.
        stop_wine(desk.env(), None)
        subprocess.run(["wineserver", "-w"], env=desk.env(), check=False, timeout=60)
        desk._server = start_wineserver(desk.env())
        return desk

    @property
    def user_home(self) -> Path:
        return self.prefix / "drive_c" / "users" / USER_NAME

    @property
    def program_dir(self) -> Path:
        """%LOCALAPPDATA%\\Programs\\traycap, seen from Linux."""
        return self.user_home / "AppData" / "Local" / "Programs" / "traycap"

    @property
    def data_dir(self) -> Path:
        """%LOCALAPPDATA%\\traycap, seen from Linux."""
        return self.user_home / "AppData" / "Local" / "traycap"

    @property
    def start_menu(self) -> Path:
        return self.user_home / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in self.display.env.items() if not k.startswith(("TRAYCAP_", "PYTHON", "WINE"))}
        env.update(
            WINEPREFIX=str(self.prefix), WINEARCH="win64", WINEDEBUG="-all",
            WINEDLLOVERRIDES="mscoree,mshtml=;_wmi.pyd=d",
            USER=USER_NAME, LOGNAME=USER_NAME, LANG="C.UTF-8",
        )
        env.update(extra or {})
        return env

    def stop(self) -> None:
        stop_wine(self.env(), self._server)
        self._server = None

    # --- programs ---------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, stdin: bytes | None = None, timeout: float = 180,
            encoding: str = ANSI) -> Run:
        """`wine ARGV...` with pipes (Python under Wine 8 cannot take a regular file as a standard stream)."""
        start = time.monotonic()
        proc = subprocess.Popen(
            ["wine", *argv], env=self.env(), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        out, err = drain(proc, start + timeout)
        run = Run(argv=tuple(argv), returncode=proc.returncode,
                  stdout=out.decode(encoding, "replace").replace("\r\n", "\n"),
                  stderr=err.decode(encoding, "replace").replace("\r\n", "\n"),
                  seconds=time.monotonic() - start)
        self.log.append(run)
        return run

    def traycap(self, *args: str, stdin: bytes | None = None, timeout: float = 180) -> Run:
        """The installed command-line program."""
        return self.run([PROGRAM_DIR + "\\traycap.exe", *args], stdin=stdin, timeout=timeout)

    def spawn(self, argv: Sequence[str]) -> Running:
        """A long-running program (the tray, a recording), its output read as it comes."""
        proc = subprocess.Popen(["wine", *argv], env=self.env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return Running(proc)

    def reg_value(self, key: str, name: str) -> str | None:
        """A registry value as `reg query` prints it (None when absent). Read through Wine: user.reg
        on disk is written lazily."""
        done = self.run(["reg", "query", key, "/v", name], encoding=OEM)
        for line in done.stdout.splitlines():
            parts = re.split(r"\s{4}", line.strip(), maxsplit=2)
            if len(parts) == 3 and parts[0] == name:
                return parts[2]
        return None

    # --- the screen -------------------------------------------------------------------------
    def screenshot(self, path: Path) -> Image.Image:
        self.display.screenshot(str(path))
        with Image.open(path) as img:
            return img.convert("RGB")

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.display.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def tray_icons(self, shot: Image.Image) -> list[tuple[int, int, int, int]]:
        """Boxes (left, top, right, bottom) of the icons in the notification area (right end of the
        taskbar): runs of columns, right of the taskbar's middle, that hold non-background pixels."""
        bar = np.asarray(shot.crop((WIDTH // 2, TASKBAR_TOP + 2, WIDTH, HEIGHT - 1)), dtype=np.int32)
        background = bar[0, bar.shape[1] // 2]
        columns = (np.abs(bar - background).sum(axis=2) > 60).any(axis=0)
        boxes, start = [], None
        for x, filled in enumerate([*columns.tolist(), False]):
            if filled and start is None:
                start = x
            elif not filled and start is not None:
                boxes.append((WIDTH // 2 + start, TASKBAR_TOP, WIDTH // 2 + x, HEIGHT))
                start = None
        return boxes


class Running:
    """A program started with `spawn`: its output is collected by two reader threads, so a test can
    wait for a line while it runs. The readers are daemons: a Wine helper may inherit the pipes and
    hold them open after the program has exited (see tests/support/wine.py)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._chunks: dict[str, list[bytes]] = {"out": [], "err": []}
        for name, pipe in (("out", proc.stdout), ("err", proc.stderr)):
            threading.Thread(target=self._read, args=(name, pipe), daemon=True).start()

    def _read(self, name: str, pipe: IO[bytes] | None) -> None:
        assert pipe is not None
        for line in iter(pipe.readline, b""):
            self._chunks[name].append(line)

    def output(self) -> str:
        return b"".join(self._chunks["out"] + self._chunks["err"]).decode(ANSI, "replace")

    def wait_for_output(self, text: str, timeout: float) -> None:
        wait_until(f"{text!r} in the output of {self.proc.args}",
                   lambda: text in self.output() or self.proc.poll() is not None, timeout=timeout)
        assert text in self.output(), f"exited with {self.proc.returncode} before printing {text!r}:\n{self.output()}"

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)


def dark_pixels(shot: Image.Image, box: tuple[int, int, int, int]) -> int:
    return int((np.asarray(shot.crop(box).convert("L")) < 70).sum())


def light_box(shot: Image.Image, area: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """The bounding box of near-white pixels in `area` of the (blue) desktop: a menu, a balloon or a
    window drawn there. None when there are fewer than 2000 of them."""
    light = np.asarray(shot.crop(area).convert("L")) > 225
    if light.sum() < 2000:
        return None
    rows, cols = np.nonzero(light.any(axis=1))[0], np.nonzero(light.any(axis=0))[0]
    return (area[0] + int(cols[0]), area[1] + int(rows[0]), area[0] + int(cols[-1]) + 1, area[1] + int(rows[-1]) + 1)


@dataclass(frozen=True)
class Word:
    text: str
    x: int  # centre, in screen pixels
    y: int


def ocr(shot: Image.Image, box: tuple[int, int, int, int], workdir: Path) -> list[Word]:
    """The words tesseract reads in `box` (scaled 3x: menu fonts are small), with their centres."""
    scale = 3
    crop = shot.crop(box)
    crop = crop.resize((crop.width * scale, crop.height * scale), Image.Resampling.LANCZOS)
    png = workdir / f"ocr-{box[0]}-{box[1]}.png"
    crop.save(png)
    tesseract = shutil.which("tesseract")
    assert tesseract, "tesseract is missing: scripts/setup.sh test installs tesseract-ocr"
    tsv = subprocess.run([tesseract, str(png), "-", "--psm", "6", "tsv"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    words = []
    for line in tsv.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) == 12 and cols[11].strip():
            left, top, width, height = (int(c) for c in cols[6:10])
            words.append(Word(cols[11].strip(), box[0] + (left + width // 2) // scale,
                              box[1] + (top + height // 2) // scale))
    return words


def text_of(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words)


def wait_for_light_box(desk: WineDesktop, area: tuple[int, int, int, int], shot_path: Path,
                       what: str, timeout: float = 30) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Take screenshots until something light (a menu, a balloon, a window) is drawn in `area`."""
    def seen() -> tuple[Image.Image, tuple[int, int, int, int]] | None:
        shot = desk.screenshot(shot_path)
        box = light_box(shot, area)
        return (shot, box) if box is not None else None

    return wait_until(what, seen, timeout=timeout, interval=0.3)
