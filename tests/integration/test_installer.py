"""The Linux PyInstaller bundle, built once per test session, and the user install scripts.

Everything runs in a temporary HOME: the install, the autostart entry and the data dir
never touch the real ones.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundle import REPO, Bundle, build_bundle
from tests.support.display import xvfb
from tests.support.recording import RecordProcess
from tests.support.s3servers import moto_server
from tests.support.sessions import make_exported_session, write_config
from traycap.models import SessionMeta
from traycap.paths import Paths
from traycap.storage.session_store import SessionStore

INSTALL = REPO / "installer" / "linux" / "install.sh"
UNINSTALL = REPO / "installer" / "linux" / "uninstall.sh"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return build_bundle()


@pytest.fixture
def user_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A login of a fresh user: HOME and every XDG dir inside tmp_path, no TRAYCAP_HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("XDG_", "TRAYCAP_")) and k not in ("HOME", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env.update(HOME=str(home), XDG_CONFIG_DIRS=str(tmp_path / "etc-xdg"), LC_ALL="C.UTF-8")
    yield env


def _run(argv: list[str | Path], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def _validate_desktop_file(path: Path) -> dict[str, str]:
    tool = shutil.which("desktop-file-validate")
    assert tool, "desktop-file-validate is missing: install Debian's desktop-file-utils"
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


# --- the bundle itself ------------------------------------------------------------------------
def test_bundle_help(bundle: Bundle, user_env: dict[str, str]) -> None:
    proc = _ok(_run([bundle.exe, "--help"], user_env))
    assert proc.stdout.startswith("usage: traycap")
    for command in ("record", "sessions", "upload", "config", "autostart"):
        assert command in proc.stdout


def test_bundle_lists_sessions_as_json(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    paths = Paths(root=data, logs=data / "logs").ensure()
    meta = SessionMeta(sessionId="20261125-101500-abc123", createdAt=1_764_065_700_000, endedAt=1_764_065_760_000,
                       actionCount=7)
    paths.session_dir(meta.sessionId).mkdir()
    SessionStore(paths).save_meta(meta)

    proc = _ok(_run([bundle.exe, "sessions", "--json"], {**user_env, "TRAYCAP_HOME": str(data)}))
    items = json.loads(proc.stdout)
    assert [(i["sessionId"], i["actionCount"], i["endedAt"]) for i in items] == [
        ("20261125-101500-abc123", 7, 1_764_065_760_000)
    ]


def test_bundle_carries_botocore_s3_model(bundle: Bundle) -> None:
    """Trimmed botocore data: S3 (and STS/SSO for profiles) must be there, unrelated services not."""
    data = next(bundle.folder.rglob("botocore/data"))
    assert (data / "endpoints.json").exists() and (data / "sdk-default-configuration.json").exists()
    assert list((data / "s3").rglob("service-2.json*")), "botocore's S3 model is missing"
    assert list((data / "sts").rglob("service-2.json*"))
    assert not (data / "ec2").exists()


def test_bundle_carries_the_tray_assets(bundle: Bundle) -> None:
    source = sorted(p.name for p in (REPO / "traycap" / "assets").glob("*.png"))
    assert source, "traycap/assets has no PNG"
    bundled = sorted(p.name for p in next(bundle.folder.rglob("traycap/assets")).glob("*.png"))
    assert bundled == source


def test_bundle_carries_the_platform_backends(bundle: Bundle) -> None:
    """What is picked at run time by name travels too: both Linux tray backends (GTK StatusIcon and
    AppIndicator, with their typelibs), pynput's X backends and traycap's lazily imported commands."""
    from PyInstaller.archive.readers import CArchiveReader

    typelibs = {p.name for p in bundle.folder.rglob("*.typelib")}
    assert {"Gtk-3.0.typelib", "AyatanaAppIndicator3-0.1.typelib"} <= typelibs, sorted(typelibs)
    modules = set(CArchiveReader(str(bundle.exe)).open_embedded_archive("PYZ.pyz").toc)
    for module in ("pystray._gtk", "pystray._appindicator", "pystray._xorg", "pynput.keyboard._xorg",
                   "pynput.mouse._xorg", "mss.linux", "plyer.platforms.linux.notification",
                   "traycap.commands.autostart_cmd",
                   "traycap.commands.record_cmd", "traycap.ui.tray", "traycap.upload.s3"):
        assert module in modules, module
    assert not {m for m in modules if m.split(".")[0] in ("pytest", "moto", "awscrt", "cryptography")}


@pytest.mark.s3
def test_bundle_talks_to_s3(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    """The trimmed botocore data is enough: connection test and a two-part upload from the binary."""
    paths = Paths(root=tmp_path / "data", logs=tmp_path / "data" / "logs")
    env = {**user_env, "TRAYCAP_HOME": str(paths.root)}
    with moto_server() as s3:
        write_config(paths, s3.config())
        test = _ok(_run([bundle.exe, "config", "test"], env))
        assert test.stdout.startswith("OK: bucket")

        meta = make_exported_session(paths, "20261125-130000-0b0b0b", size=6 * 2**20 + 123)
        _ok(_run([bundle.exe, "upload", meta.sessionId, "--wait"], env, timeout=120))
        state = json.loads(paths.state(meta.sessionId).read_text())
        assert state["status"] == "done"
        zip_data = (paths.session_dir(meta.sessionId) / f"{meta.sessionId}.zip").read_bytes()
        assert s3.object_bytes(state["s3Key"]) == zip_data

        write_config(paths, s3.config(bucket="no-such-bucket"))
        missing = _run([bundle.exe, "config", "test"], env)
        assert missing.returncode == 1 and "Traceback" not in missing.stderr
        assert "no-such-bucket" in missing.stderr or "bucket" in missing.stderr.lower()


@pytest.mark.x11
def test_bundle_records_under_xvfb(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    with xvfb(width=640, height=480) as display:
        env = {**user_env, "DISPLAY": display.name, "TRAYCAP_HOME": str(data)}
        rec = _ok(_run([bundle.exe, "record", "--duration", "2"], env, timeout=120))
    listing = json.loads(_ok(_run([bundle.exe, "sessions", "--json"], env)).stdout)
    assert len(listing) == 1, listing
    item = listing[0]
    assert item["sessionId"] in rec.stdout
    assert item["isExported"] is True
    zip_path = Path(item["zipPath"]) if item.get("zipPath") else data / "sessions" / item["sessionId"] / (
        item["sessionId"] + ".zip")
    with zipfile.ZipFile(zip_path) as bundle_zip:
        assert bundle_zip.testzip() is None
        # The design's bundle layout: the screen video travels in video/.
        assert any(n.startswith("video/") for n in bundle_zip.namelist()), bundle_zip.namelist()


@pytest.mark.x11
def test_bundle_records_keyboard_input(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    """pynput's X backend works frozen: keys typed with xdotool end up in the session."""
    import time

    data = tmp_path / "data"
    with xvfb(width=640, height=480) as display:
        env = {**user_env, "DISPLAY": display.name, "TRAYCAP_HOME": str(data)}
        proc = subprocess.Popen([str(bundle.exe), "record"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        rec = RecordProcess.follow(proc, data)
        try:
            rec.wait_ready(60)
            session_dir = rec.session_dir

            def actions_size() -> int:
                return sum(p.stat().st_size for p in session_dir.glob("actions*") if p.is_file())

            before = actions_size()
            display.run("xdotool", "type", "--delay", "20", "traycap")
            deadline = time.monotonic() + 30
            while actions_size() <= before:  # the recorder writes actions as they come
                assert time.monotonic() < deadline, "no keyboard action was written within 30 s"
                time.sleep(0.05)
            proc.terminate()  # SIGTERM: stop, export, exit 0
            code, out, err = rec.finish(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert code == 0, err
        listing = json.loads(_ok(_run([bundle.exe, "sessions", "--json"], env)).stdout)
    assert [i["sessionId"] for i in listing] == [session_dir.name] and session_dir.name in out
    assert listing[0]["isExported"] is True
    assert listing[0]["actionCount"] >= len("traycap"), listing[0]


@pytest.mark.x11
def test_bundle_opens_the_tk_settings_dialog(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    """Tcl/Tk and its script library travel in the bundle: the dialog window maps, Escape closes it."""
    from tests.support.waiting import wait_until

    state = tmp_path / "settings-state.json"
    with xvfb(width=1024, height=768) as display:
        env = {**user_env, "DISPLAY": display.name, "TRAYCAP_HOME": str(tmp_path / "data"),
               "TRAYCAP_SETTINGS_STATE": str(state)}
        proc = subprocess.Popen([str(bundle.exe), "settings-dialog"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            wait_until("the dialog to report its state", state.exists, 60)
            found = wait_until(
                "the settings window",
                lambda: display.run("xdotool", "search", "--onlyvisible", "--name", "traycap: Upload settings",
                                    check=False).stdout.split(), 30)
            display.screenshot(str(tmp_path / "bundle-settings.png"))
            # No window manager on Xvfb: give the dialog the focus ourselves, then press Escape.
            display.run("xdotool", "windowfocus", "--sync", found[0])
            display.run("xdotool", "key", "Escape")
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    from traycap.ui.settings import CLOSED_WITHOUT_SAVING

    assert proc.returncode == CLOSED_WITHOUT_SAVING, out.decode(errors="replace")  # Escape = cancel
    assert not (tmp_path / "data" / "upload-config.json").exists()


# --- autostart from the bundle ------------------------------------------------------------------
def test_bundle_autostart_round_trip(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    env = {**user_env, "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "TRAYCAP_HOME": str(tmp_path / "d")}
    entry = tmp_path / "cfg" / "autostart" / "traycap.desktop"

    assert _ok(_run([bundle.exe, "autostart", "status"], env)).stdout.startswith("Autostart is off.")
    assert not entry.exists()

    on = _ok(_run([bundle.exe, "autostart", "on"], env))
    assert on.stdout.startswith("Autostart is on")
    keys = _validate_desktop_file(entry)
    # The frozen binary launches itself (not python), with the data dir it was given.
    assert keys["Exec"] == f"env TRAYCAP_HOME={tmp_path / 'd'} {bundle.exe} tray"

    status = _ok(_run([bundle.exe, "autostart", "status"], env)).stdout
    assert status.startswith("Autostart is on") and "note:" not in status

    assert _ok(_run([bundle.exe, "autostart", "off"], env)).stdout.startswith("Autostart is off.")
    assert not entry.exists()
    assert _ok(_run([bundle.exe, "autostart", "status"], env)).stdout.startswith("Autostart is off.")


def test_source_install_autostart_round_trip(user_env: dict[str, str]) -> None:
    """Not frozen: the entry runs this interpreter with -m traycap, in ~/.config/autostart by default."""
    import sys

    entry = Path(user_env["HOME"]) / ".config" / "autostart" / "traycap.desktop"
    cli = [sys.executable, "-m", "traycap", "autostart"]
    assert _ok(_run([*cli, "on"], user_env)).stdout.startswith("Autostart is on")
    assert _validate_desktop_file(entry)["Exec"] == f"{sys.executable} -m traycap tray"
    assert _ok(_run([*cli, "status"], user_env)).stdout.startswith("Autostart is on")
    assert _ok(_run([*cli, "off"], user_env)).stdout.startswith("Autostart is off.")
    assert not entry.exists()


# --- install.sh / uninstall.sh ------------------------------------------------------------------
def test_menu_entry_template_validates(tmp_path: Path) -> None:
    text = (REPO / "installer" / "linux" / "traycap.desktop").read_text()
    filled = tmp_path / "traycap.desktop"
    filled.write_text(text.replace("@EXEC@", "/home/u/.local/bin/traycap"))
    keys = _validate_desktop_file(filled)
    assert keys["Exec"] == "/home/u/.local/bin/traycap tray" and keys["Icon"] == "traycap"


def test_install_upgrade_uninstall_keeps_data(bundle: Bundle, user_env: dict[str, str]) -> None:
    home = Path(user_env["HOME"])
    opt_exe = home / ".local" / "opt" / "traycap" / "traycap"
    link = home / ".local" / "bin" / "traycap"
    menu = home / ".local" / "share" / "applications" / "traycap.desktop"
    icon = home / ".local" / "share" / "icons" / "hicolor" / "256x256" / "apps" / "traycap.png"
    autostart = home / ".config" / "autostart" / "traycap.desktop"
    data = home / ".local" / "share" / "traycap"  # platformdirs' default on Linux

    first = _ok(_run(["bash", INSTALL, "--bundle", bundle.folder, "--autostart"], user_env, timeout=300))
    assert "Installed traycap" in first.stdout
    assert opt_exe.is_file() and link.is_symlink() and link.resolve() == opt_exe.resolve()
    assert _ok(_run([link, "--version"], user_env)).stdout.startswith("traycap ")
    assert _validate_desktop_file(menu)["Exec"] == f"{opt_exe} tray"
    assert icon.read_bytes() == (REPO / "traycap" / "assets" / "traycap.png").read_bytes()
    assert _validate_desktop_file(autostart)["Exec"] == f"{opt_exe} tray"

    # The user records and configures; an upgrade must keep all of it byte for byte.
    sid = "20261125-120000-00beef"
    paths = Paths(root=data, logs=data / "logs").ensure()
    paths.session_dir(sid).mkdir()
    SessionStore(paths).save_meta(SessionMeta(sessionId=sid, createdAt=1_764_072_000_000))
    (paths.session_dir(sid) / f"{sid}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    paths.config.write_text('{"bucket": "b", "region": "r", "secretAccessKey": "kept"}')
    paths.config.chmod(0o600)
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}

    # Upgrade: a marker file in the old program folder must be gone (the folder is replaced),
    # and an autostart entry left by an older layout is pointed at the new program.
    (opt_exe.parent / "stale-file-from-old-version").write_text("x")
    autostart.write_text(autostart.read_text().replace(f"Exec={opt_exe} tray", "Exec=/old/place/traycap tray"))
    _ok(_run(["bash", INSTALL, "--bundle", bundle.folder], user_env, timeout=300))
    assert _validate_desktop_file(autostart)["Exec"] == f"{opt_exe} tray"
    assert not (opt_exe.parent / "stale-file-from-old-version").exists()
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
    assert oct(paths.config.stat().st_mode & 0o777) == oct(0o600)
    assert autostart.exists(), "an upgrade must keep autostart on"
    assert not list((home / ".local" / "opt").glob("*.old.*")) and not list((home / ".local" / "opt").glob(".*new*"))
    listing = json.loads(_ok(_run([link, "sessions", "--json"], user_env)).stdout)
    assert [i["sessionId"] for i in listing] == [sid]

    gone = _ok(_run(["bash", UNINSTALL], user_env))
    assert "Kept your sessions" in gone.stdout
    for path in (opt_exe.parent, link, menu, icon, autostart):
        assert not path.exists() and not path.is_symlink(), path
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before

    purged = _ok(_run(["bash", UNINSTALL, "--purge-data", "--yes"], user_env))
    assert "Deleted the sessions" in purged.stdout
    assert not data.exists()


def test_install_into_a_prefix_with_reserved_characters(bundle: Bundle, user_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    """install.sh's Exec quoting (bash) agrees with traycap's (Python) and with the spec."""
    from traycap.autostart import parse_exec

    prefix = tmp_path / "my $dir 100%" / ".local"
    env = {**user_env, "TRAYCAP_PREFIX": str(prefix)}
    _ok(_run(["bash", INSTALL, "--bundle", bundle.folder, "--autostart"], env, timeout=300))
    program = str(prefix / "opt" / "traycap" / "traycap")
    home = Path(user_env["HOME"])
    menu = _validate_desktop_file(home / ".local" / "share" / "applications" / "traycap.desktop")
    autostart = _validate_desktop_file(home / ".config" / "autostart" / "traycap.desktop")
    assert parse_exec(menu["Exec"]) == parse_exec(autostart["Exec"]) == (program, "tray")
    _ok(_run(["bash", UNINSTALL], env))
    assert not (prefix / "opt" / "traycap").exists() and not (prefix / "bin" / "traycap").is_symlink()


def test_uninstall_purge_leaves_foreign_files_in_traycap_home(user_env: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "shared-folder"
    (shared / "sessions" / "s1").mkdir(parents=True)
    (shared / "upload-config.json").write_text("{}")
    (shared / "my-notes.txt").write_text("not traycap's")
    proc = _ok(_run(["bash", UNINSTALL, "--purge-data", "--yes"], {**user_env, "TRAYCAP_HOME": str(shared)}))
    assert "Left" in proc.stdout
    assert sorted(p.name for p in shared.iterdir()) == ["my-notes.txt"]


def test_install_without_a_build_says_what_to_do(user_env: dict[str, str], tmp_path: Path) -> None:
    proc = _run(["bash", INSTALL, "--bundle", tmp_path / "nothing-here"], user_env)
    assert proc.returncode != 0
    assert "no such folder" in proc.stderr or "not an executable" in proc.stderr
    assert not (Path(user_env["HOME"]) / ".local" / "opt" / "traycap").exists()


@pytest.mark.gui
def test_bundle_tray_shows_icon_and_menu(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    """GTK, its typelibs and pixbuf loaders travel in the bundle: the tray comes up with its menu.
    And programs the tray starts (here xdg-open, from "Open sessions folder") get the user's
    environment, not the bundle's library path, or a system tool would load the bundle's libraries."""
    from tests.support.tray_host import tray_host
    from tests.support.waiting import wait_until

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    child_env = tmp_path / "xdg-open.env"
    (fake_bin / "xdg-open").write_text(f"#!/bin/sh\nenv > '{child_env}.tmp' && mv '{child_env}.tmp' '{child_env}'\n")
    (fake_bin / "xdg-open").chmod(0o755)
    with tray_host(tmp_path / "desktop") as host:
        proc = host.spawn([str(bundle.exe), "tray"], tmp_path / "data", "traycap.log",
                          extra_env={"HOME": user_env["HOME"], "PATH": f"{fake_bin}:{host.env['PATH']}",
                                     "LD_LIBRARY_PATH": "/opt/users-own-libs"})
        log = tmp_path / "desktop" / "traycap.log"
        icon = host.wait_for_icon("traycap", timeout=60)
        wait_until("the app to be ready", lambda: "traycap is ready" in log.read_text(errors="replace"), 60)
        host.click(icon.center, button=3)
        menu = host.wait_for_menu()
        shot = host.screenshot("bundle-tray-menu.png")
        assert proc.poll() is None, log.read_text(errors="replace")
        # The menu is drawn (text on a background), not an empty window.
        colours = host.crop(shot, menu).getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 10

        host.click((menu.x + menu.w // 2, menu.y + menu.h - 42))  # "Open sessions folder"
        wait_until("xdg-open to be started", child_env.exists, 30)

        # Its own child still gets what it needs: the Tk settings dialog is the bundle's binary again.
        host.click(icon.center, button=3)
        menu = host.wait_for_menu()
        host.click((menu.x + menu.w // 2, menu.y + menu.h - 68))  # "Upload settings…"

        def dialog() -> list[str]:
            found = host.run("xdotool", "search", "--onlyvisible", "--name", "traycap: Upload settings")
            return found.stdout.split()

        window = wait_until("the settings dialog started by the tray", dialog, 60)[0]
        host.run("xdotool", "windowfocus", "--sync", window)
        host.run("xdotool", "key", "Escape")
        wait_until("the settings dialog to close", lambda: not dialog(), 30)
        assert proc.poll() is None, log.read_text(errors="replace")
    env = dict(line.split("=", 1) for line in child_env.read_text().splitlines() if "=" in line)
    assert env.get("LD_LIBRARY_PATH") == "/opt/users-own-libs", env.get("LD_LIBRARY_PATH")
    assert "LD_LIBRARY_PATH_ORIG" not in env
    # (_PYI_* is the bootloader's own bookkeeping, which only a PyInstaller program reads.)
    leaked = {k: v for k, v in env.items() if str(bundle.folder) in v and not k.startswith("_PYI_")}
    assert not leaked, f"the bundle's own settings leak into programs it starts: {sorted(leaked)}"
    assert "TCL_LIBRARY" not in env and "GI_TYPELIB_PATH" not in env
    assert env.get("XDG_DATA_DIRS", "/usr/local/share/:/usr/share/") == user_env.get(
        "XDG_DATA_DIRS", "/usr/local/share/:/usr/share/")
    assert env["TRAYCAP_HOME"] == str(tmp_path / "data")  # the rest of the environment is passed on


def _lock_holder(lock: Path) -> int | None:
    """PID written in the tray's lock file while some process holds the lock; None when free."""
    import fcntl

    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        text = lock.read_text().strip()
        return int(text) if text.isdigit() else -1
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@pytest.mark.gui
def test_upgrade_restarts_a_running_tray(bundle: Bundle, user_env: dict[str, str], tmp_path: Path) -> None:
    """Replacing the program under a running tray would break its later imports: install.sh
    stops it gracefully, swaps the folder and starts the new one."""
    import signal

    from tests.support.tray_host import tray_host
    from tests.support.waiting import wait_until

    home = Path(user_env["HOME"])
    opt_exe = home / ".local" / "opt" / "traycap" / "traycap"
    data = tmp_path / "data"
    lock = data / "tray.lock"
    _ok(_run(["bash", INSTALL, "--bundle", bundle.folder], user_env, timeout=300))
    with tray_host(tmp_path / "desktop") as host:
        env = {**host.env, "HOME": str(home), "TRAYCAP_HOME": str(data)}
        old = host.spawn([str(opt_exe), "tray"], data, "old-tray.log", extra_env={"HOME": str(home)})
        ready_log = data / "logs" / "traycap.log"
        wait_until("the installed tray to be ready",
                   lambda: ready_log.exists() and "traycap is ready" in ready_log.read_text(errors="replace"), 60)
        assert _lock_holder(lock) == old.pid
        try:
            upgrade = _ok(_run(["bash", INSTALL, "--bundle", bundle.folder], env, timeout=300))
            assert f"Stopping the running traycap (process {old.pid})" in upgrade.stdout
            assert "restarted the tray app" in upgrade.stdout
            assert old.wait(timeout=30) == 0  # a graceful quit
            restarted: int = wait_until("the new tray to hold the lock",
                                   lambda: (pid := _lock_holder(lock)) not in (None, -1, old.pid) and pid, 60)
            assert Path(f"/proc/{restarted}/exe").resolve() == opt_exe.resolve()
            wait_until("the new tray to be ready",
                       lambda: ready_log.read_text(errors="replace").count("traycap is ready") >= 2, 60)
        finally:
            # End the tray install.sh started (not our child: found by the PID in its lock).
            holder = _lock_holder(lock)
            if holder is not None and holder > 0 and holder != old.pid:
                os.kill(holder, signal.SIGTERM)
                wait_until("the restarted tray to quit", lambda: _lock_holder(lock) is None, 60)
