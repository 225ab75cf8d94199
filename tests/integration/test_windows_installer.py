"""traycap for Windows as a user gets it: the setup built by scripts/build-windows.sh, installed, used and
removed under Wine on a Windows desktop drawn on Xvfb, through the installed programs only.

One user's life, in order (the fixtures are module-scoped and each test builds on the one before,
like the Windows bench): the previous version is installed silently and its tray started; the new
setup upgrades over it (asking that tray to quit first, starting it again after); the installed
traycap.exe is used (version, settings with the secret from a pipe, connection test, a recording
with clicks and keys on the screen, upload to `rclone serve s3` on 127.0.0.1, a share link); the
tray icon, its menu, the Upload settings window and an "Upload done" notification are looked at
on the screen (OCR); autostart is turned off and on in the registry; the program is uninstalled
keeping the recordings, installed again into a long folder name, and uninstalled with "also
remove my recordings and settings". The user is "Zoë Smith" (a space and a non-ASCII letter).

Screenshots of the tray, its menu, the settings window and the notification land in the test's
temporary folder (printed at the end; keep them with --basetemp=DIR); docs/img/ holds copies.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.support.display import xvfb
from tests.support.recording import count_video_frames, read_bundle
from tests.support.s3servers import S3Server
from tests.support.waiting import wait_until
from tests.support.wine import Run
from tests.support.wine_desktop import (
    HEIGHT,
    PROGRAM_DIR,
    RUN_KEY,
    TASKBAR_TOP,
    UNINSTALL_KEY,
    WIDTH,
    WineDesktop,
    dark_pixels,
    ocr,
    text_of,
    wait_for_light_box,
)
from traycap.bundle import layout
from traycap.models import UploadStatus
from traycap.paths import Paths
from traycap.storage.state_store import StateStore

pytestmark = [pytest.mark.windows, pytest.mark.s3, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "build-windows.sh"
PREVIOUS_MARKER = "left-by-the-previous-version.txt"  # installer/windows/traycap.nsi, PREVIOUS_MARKER
CREDENTIALS_KEY = r"HKCU\Software\Wine\Credential Manager"  # where Wine keeps Credential Manager entries
INSTALLER_MAX_MB, INSTALLED_MAX_MB = 100, 300
WAIT_S = 120.0
FPS = 10
CLICKS = [(320, 240), (640, 420), (900, 560)]
WARM_UP = (160, 120)


def _until_recorded(desk: WineDesktop, session_dir: Path, kind: str, act: Callable[[], object]) -> None:
    actions = session_dir / "actions.jsonl"

    def recorded() -> bool:
        act()
        lines = actions.read_text(encoding="utf-8").splitlines() if actions.exists() else []
        return any(json.loads(line).get("type") == kind for line in lines if line.endswith("}"))

    wait_until(f"a {kind} in {actions}", recorded, timeout=10, interval=0.4)


@dataclass(frozen=True)
class Builds:
    setup: Path
    previous: Path  # the same app as a setup of an older version (scripts/build-windows.sh)
    app: Path
    version: str


@dataclass(frozen=True)
class Upgrade:
    previous_install: Run
    upgrade: Run
    old_tray_exit: int | None
    log: str  # the tray's log after the upgrade


def _tray_log(desk: WineDesktop) -> str:
    log = desk.data_dir / "Logs" / "traycap.log"
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


@pytest.fixture(scope="module")
def builds() -> Builds:
    """The setup, built by `scripts/setup.sh test` before the suite (cached; built here if the sources changed)."""
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "paths"], check=True, stdout=subprocess.PIPE, timeout=3600)
    setup, previous, app = (Path(p) for p in out.stdout.decode().strip().splitlines()[-3:])
    version = re.search(r'^__version__ = "(.+)"$', (REPO / "traycap" / "__init__.py").read_text(encoding="utf-8"),
                        re.M).group(1)  # type: ignore[union-attr]
    return Builds(setup, previous, app, version)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("windows-screenshots")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[WineDesktop]:
    if shutil.which("wine") is None:
        pytest.fail("Wine is not installed: run scripts/setup.sh test (it installs wine and wine64)")
    work = tmp_path_factory.mktemp("wine-desktop")
    with xvfb(WIDTH, HEIGHT) as display:
        desktop = WineDesktop.start(work, display)
        try:
            yield desktop
        finally:
            desktop.stop()
            shutil.rmtree(desktop.prefix, ignore_errors=True)  # ~1 GB with the install
            report = "\n".join(f"  {r.seconds:6.1f}s rc={r.returncode} {' '.join(r.argv)[-150:]!r}"
                               for r in desktop.log)
            print(f"\nWindows installer under Wine, programs run:\n{report}\nscreenshots: {shots}")


@pytest.fixture(scope="module")
def upgraded(desk: WineDesktop, builds: Builds) -> Upgrade:
    """The previous version installed silently with its tray running, then the new setup run over it."""
    first = desk.run([str(builds.previous), "/S"])
    assert first.returncode == 0, first.describe()
    assert (desk.program_dir / "_internal" / PREVIOUS_MARKER).exists()
    old_tray = desk.spawn([PROGRAM_DIR + "\\traycapw.exe", "tray"])
    wait_until("the previous version's tray", lambda: "traycap is ready" in _tray_log(desk), timeout=WAIT_S)
    upgrade = desk.run([str(builds.setup), "/S"])
    old_exit = old_tray.wait(timeout=60)  # it quit before the files were replaced
    wait_until("the tray started again after the upgrade",
               lambda: _tray_log(desk).count("traycap is ready") == 2, timeout=WAIT_S)
    return Upgrade(first, upgrade, old_exit, _tray_log(desk))


def test_the_setup_is_a_release_artefact(builds: Builds) -> None:
    size_mb = builds.setup.stat().st_size / 1e6
    installed_mb = sum(p.stat().st_size for p in builds.app.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= INSTALLER_MAX_MB, f"the setup is {size_mb:.0f} MB"
    assert installed_mb <= INSTALLED_MAX_MB, f"the app is {installed_mb:.0f} MB"
    assert builds.setup.name == f"traycap-{builds.version}-setup.exe"
    digest = hashlib.sha256(builds.setup.read_bytes()).hexdigest()
    assert (builds.setup.parent / f"{builds.setup.name}.sha256").read_text() == f"{digest}  {builds.setup.name}\n"
    # Explorer's Properties > Details: the version resources of the setup and of both programs.
    for exe in (builds.setup, builds.app / "traycap.exe", builds.app / "traycapw.exe"):
        data = exe.read_bytes()
        for key, value in (("ProductName", "traycap"), ("ProductVersion", builds.version)):
            assert f"{key}\0".encode("utf-16-le") in data, f"{exe.name} has no {key}"
            assert f"{value}\0".encode("utf-16-le") in data, f"{exe.name}: {key} is not {value}"
    # What the size limits cut must still be there: the recorder's libraries (a recording below uses them).
    internal = builds.app / "_internal"
    assert list(internal.glob("av/*.pyd")) and (internal / "numpy").is_dir() and (internal / "PIL").is_dir()
    assert not (internal / "cv2").exists()  # traycap no longer uses OpenCV
    assert not list(internal.glob("avcodec*.dll"))  # delvewheel's DLLs once, in av.libs/, not twice


def test_upgrade_quits_the_running_tray_replaces_the_program_and_starts_it_again(
    desk: WineDesktop, builds: Builds, upgraded: Upgrade
) -> None:
    assert upgraded.upgrade.returncode == 0, upgraded.upgrade.describe()
    log = upgraded.log
    asked = log.index("asked to quit by another process")
    assert log.index("traycap stopped", asked) < log.rindex("traycap is ready")  # quit, then started again
    assert upgraded.old_tray_exit == 0  # a clean exit, not a kill
    assert not (desk.program_dir / "_internal" / PREVIOUS_MARKER).exists()  # the old program folder is gone
    assert desk.reg_value(UNINSTALL_KEY, "DisplayVersion") == builds.version
    assert desk.reg_value(UNINSTALL_KEY, "InstallLocation") == PROGRAM_DIR
    assert (desk.start_menu / "traycap.lnk").is_file()
    # A first install turns "Start traycap when I sign in" on; the upgrade kept it.
    assert desk.reg_value(RUN_KEY, "traycap") == f'"{PROGRAM_DIR}\\traycapw.exe" tray'
    version = desk.traycap("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"traycap {builds.version}")
    second = desk.traycap("tray")
    assert second.returncode == 0, second.describe()
    assert "traycap is already running (process " in second.stdout


def test_the_tray_icon_its_menu_and_the_settings_window(desk: WineDesktop, upgraded: Upgrade, shots: Path) -> None:
    def our_icon() -> tuple[int, int, int, int] | None:
        shot = desk.screenshot(shots / "taskbar.png")
        # traycap's idle icon is a dark ring; the balloon helper icons plyer adds are light.
        return next((box for box in desk.tray_icons(shot) if dark_pixels(shot, box) >= 30), None)

    icon = wait_until("traycap's icon in the notification area", our_icon, timeout=WAIT_S)
    corner = desk.screenshot(shots / "full.png").crop((WIDTH - 160, HEIGHT - 40, WIDTH, HEIGHT))
    corner.resize((corner.width * 3, corner.height * 3), Image.Resampling.NEAREST).save(shots / "windows-tray-icon.png")
    x, y = (icon[0] + icon[2]) // 2, (icon[1] + icon[3]) // 2
    desk.click(x, y, button=3)
    shot, box = wait_for_light_box(desk, (WIDTH - 600, HEIGHT - 420, WIDTH, TASKBAR_TOP), shots / "menu.png",
                                   "the tray menu")
    shot.crop((WIDTH - 600, HEIGHT - 420, WIDTH, HEIGHT)).save(shots / "windows-tray-menu.png")
    words = ocr(shot, (box[0], box[1], box[2], HEIGHT), shots)  # the menu's last item overlaps the taskbar
    text = text_of(words)
    assert "Start recording" in text and "(Ctrl+Shift+R)" in text.replace(" ", ""), text  # Windows wording
    assert "Quit" in text and "Upload settings" in text, text

    # "Upload settings..." opens the Tk window of the frozen app (its Tcl/Tk came along).
    item = next(w for w in words if w.text.startswith(("settings.", "settings…")))  # not "settings needed"
    desk.click(item.x, item.y)

    def settings_window() -> str | None:
        shot = desk.screenshot(shots / "settings.png")
        found = text_of(ocr(shot, (0, 0, WIDTH, TASKBAR_TOP), shots))
        return found if "Bucket" in found or "bucket" in found else None

    found = wait_until("the Upload settings window", settings_window, timeout=WAIT_S, interval=0.5)
    assert "Save" in found and "Cancel" in found, found
    shutil.copy(shots / "settings.png", shots / "windows-settings.png")
    desk.display.run("xdotool", "key", "Escape")  # the dialog closes on Escape
    wait_until("the settings window to close", lambda: not settings_window(), timeout=WAIT_S, interval=0.5)


def test_settings_from_a_pipe_a_recording_its_upload_and_link(
    desk: WineDesktop, upgraded: Upgrade, rclone: S3Server, shots: Path, tmp_path: Path
) -> None:
    settings = [f"bucket={rclone.bucket}", f"region={rclone.region}", f"endpointUrl={rclone.endpoint_url}",
                "pathStyle=true", f"accessKeyId={rclone.access_key}", "secretAccessKey=-", "autoUpload=false"]
    saved = desk.traycap("config", "set", *settings, stdin=f"{rclone.secret_key}\n".encode())
    assert saved.returncode == 0, saved.describe()
    assert "secret stored in: keyring" in saved.stdout  # Credential Manager
    shown = desk.traycap("config", "show")
    assert shown.returncode == 0, shown.describe()
    assert f"endpointUrl = {rclone.endpoint_url}" in shown.stdout
    tested = desk.traycap("config", "test")
    assert tested.returncode == 0, tested.describe()
    assert f"bucket '{rclone.bucket}' is reachable" in tested.stdout
    for run in (saved, shown, tested):
        assert rclone.secret_key not in run.stdout + run.stderr

    recording = desk.spawn([PROGRAM_DIR + "\\traycap.exe", "record", "--duration", "5", "--fps", str(FPS)])
    recording.wait_for_output("traycap: recording ", timeout=WAIT_S)  # first frame taken, hooks installed
    session_id = recording.output().split("traycap: recording ", 1)[1].split()[0]
    session_dir = desk.data_dir / "sessions" / session_id
    # pynput's hooks report ready before their message loops run, and an event in between is lost:
    # a first click and key are repeated until the recording has them (actions.jsonl, written as they come).
    _until_recorded(desk, session_dir, "mouse_down", lambda: desk.click(*WARM_UP))
    _until_recorded(desk, session_dir, "key_down", lambda: desk.display.run("xdotool", "key", "w"))
    for x, y in CLICKS:
        desk.click(x, y)
    desk.display.run("xdotool", "type", "--delay", "80", "hi")
    assert recording.wait(timeout=WAIT_S) == 0, recording.output()
    zip_path = session_dir / f"{session_id}.zip"
    bundle = read_bundle(zip_path)

    downs = [(a["x"], a["y"]) for a in bundle.inputs if a["type"] == "mouse_down"]
    assert downs[-len(CLICKS):] == CLICKS and set(downs[:-len(CLICKS)]) == {WARM_UP}  # at their coordinates
    keys = [a for a in bundle.inputs if a["type"] == "key_down"]
    assert len(keys) >= 3  # the warm-up key, then h and i
    seconds = bundle.info["durationMs"] / 1000
    frames = count_video_frames(bundle.extract(layout.VIDEO_MP4, tmp_path))
    assert frames == bundle.info["counts"]["frames"]
    # A slot whose screen did not change (GDI frames compared) is not encoded, and a still screen's last
    # picture is repeated once a second: slots ~ fps x seconds, frames at least one every 2 s (the
    # recording's time counts from Start, before the first frame of a slow start under Wine).
    slots = frames + bundle.info["unchangedFrames"]
    assert frames >= seconds / 2 and 0.6 * FPS * 5 <= slots <= FPS * seconds + 2, (frames, slots, seconds)
    assert "preview.jpg" in bundle.names
    (tmp_path / "preview.jpg").write_bytes(bundle_member(zip_path, "preview.jpg"))
    with Image.open(tmp_path / "preview.jpg") as preview:
        assert preview.size[0] > 0 and preview.format == "JPEG"

    # The running tray holds the upload queue: `upload --wait` hands the session to it and waits.
    uploaded = desk.traycap("upload", session_id, "--wait")
    assert uploaded.returncode == 0, uploaded.describe()
    state = StateStore(Paths(root=desk.data_dir, logs=desk.data_dir / "Logs")).read(session_id)
    assert state is not None and state.status is UploadStatus.DONE and state.s3Key
    assert rclone.object_bytes(state.s3Key) == zip_path.read_bytes()  # the object is the zip

    # The tray says so in a balloon over the notification area.
    shot, box = wait_for_light_box(desk, (WIDTH - 450, HEIGHT - 220, WIDTH, TASKBAR_TOP), shots / "notification.png",
                                   "the Upload done balloon")
    words = text_of(ocr(shot, box, shots))
    assert "Upload done" in words, words
    shot.crop((WIDTH - 480, HEIGHT - 240, WIDTH, HEIGHT)).save(shots / "windows-notification.png")

    # The share link is the player page in the bucket with the zip's own link after its "#"; --zip
    # prints that zip link alone.
    link = desk.traycap("link", session_id, "--expires", "600")
    assert link.returncode == 0, link.describe()
    player_url, _, fragment = link.stdout.strip().splitlines()[-1].partition("#")
    assert fragment and rclone.secret_key not in player_url + fragment
    with urllib.request.urlopen(player_url, timeout=30) as response:
        assert b"<!doctype html>" in response.read(200).lower()
    zip_link = desk.traycap("link", session_id, "--expires", "600", "--zip")
    assert zip_link.returncode == 0, zip_link.describe()
    with urllib.request.urlopen(zip_link.stdout.strip().splitlines()[-1], timeout=30) as response:
        assert response.read() == zip_path.read_bytes()


def bundle_member(zip_path: Path, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name)


def test_autostart_is_the_run_value(desk: WineDesktop, upgraded: Upgrade) -> None:
    status = desk.traycap("autostart", "status")
    assert "Autostart is on" in status.stdout, status.describe()
    assert f"{PROGRAM_DIR}\\traycapw.exe" in status.stdout
    off = desk.traycap("autostart", "off")
    assert off.returncode == 0, off.describe()
    assert desk.reg_value(RUN_KEY, "traycap") is None
    on = desk.traycap("autostart", "on")
    assert on.returncode == 0, on.describe()
    assert desk.reg_value(RUN_KEY, "traycap") == f'"{PROGRAM_DIR}\\traycapw.exe" tray'


def test_uninstall_removes_the_program_and_keeps_the_recordings(desk: WineDesktop, upgraded: Upgrade) -> None:
    recorded = sorted(desk.data_dir.glob("sessions/*/*.zip"))
    assert recorded
    done = desk.run([PROGRAM_DIR + "\\uninstall.exe", "/S"])
    assert done.returncode == 0, done.describe()
    # The uninstaller runs on from a copy in %TEMP% (so it can delete itself): wait for its work.
    wait_until("the program folder to go", lambda: not desk.program_dir.exists(), timeout=WAIT_S)
    assert desk.reg_value(UNINSTALL_KEY, "DisplayVersion") is None
    assert desk.reg_value(RUN_KEY, "traycap") is None
    assert not (desk.start_menu / "traycap.lnk").exists()
    assert _tray_log(desk).count("traycap stopped") == 2  # the running tray was asked to quit first
    assert sorted(desk.data_dir.glob("sessions/*/*.zip")) == recorded
    assert (desk.data_dir / "upload-config.json").exists()


def test_reinstall_into_a_long_folder_finds_the_data_and_uninstall_can_remove_it(
    desk: WineDesktop, builds: Builds, upgraded: Upgrade
) -> None:
    # /D= takes the rest of the command line unquoted (NSIS), and Wine quotes an argument with a
    # space, so this folder has none; the default one, in "Zoë Smith"'s profile, has. The deepest
    # file of the app is some 80 characters below it: together under the 260 of MAX_PATH.
    folder = ("C:\\Tools\\Zoës-tools-installed-by-hand-into-a-folder-with-a-rather-long-name-to-check-that-"
              "nothing-in-traycap-needs-a-short-install-path\\traycap")
    deepest = max(len(str(p.relative_to(builds.app))) for p in builds.app.rglob("*"))
    assert len(folder) + 1 + deepest < 260, (len(folder), deepest)
    installed = desk.run([str(builds.setup), "/S", "/AUTOSTART=0", f"/D={folder}"])
    assert installed.returncode == 0, installed.describe()
    assert desk.reg_value(UNINSTALL_KEY, "InstallLocation") == folder
    assert desk.reg_value(RUN_KEY, "traycap") is None  # /AUTOSTART=0
    listed = desk.run([folder + "\\traycap.exe", "sessions"])
    assert listed.returncode == 0, listed.describe()
    recorded = [p.parent.name for p in desk.data_dir.glob("sessions/*/*.zip")]
    assert recorded and all(session_id in listed.stdout for session_id in recorded)
    assert "Generic: traycap" in desk.run(["reg", "query", CREDENTIALS_KEY]).stdout

    done = desk.run([folder + "\\uninstall.exe", "/S", "/REMOVEDATA"])
    assert done.returncode == 0, done.describe()
    linux_folder = desk.prefix / "drive_c" / folder[3:].replace("\\", "/")
    wait_until("the program folder to go", lambda: not linux_folder.exists(), timeout=WAIT_S)
    wait_until("the data dir to go", lambda: not desk.data_dir.exists(), timeout=WAIT_S)
    assert desk.reg_value(UNINSTALL_KEY, "DisplayVersion") is None
    assert "Generic: traycap" not in desk.run(["reg", "query", CREDENTIALS_KEY]).stdout  # the secret too
