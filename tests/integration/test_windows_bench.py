"""traycap's code on Windows: the real Windows CPython 3.13 under Wine (scripts/windows-bench.sh prepares it).

The user is "Zoë Smith", so every path below goes through C:\\users\\Zoë Smith\\AppData\\Local\\traycap.
S3 is `rclone serve s3` on the Linux side (127.0.0.1); Windows Python reaches it
through Wine's sockets. GUI probes draw on an Xvfb display that Wine uses as the
Windows desktop. What Wine cannot run is listed in docs/platforms.md.

Every test run: the unit tests whose subject touches the OS (tests.support.wine.os_touching_unit_tests)
and the checks that need two Windows processes or a kill (the queue lock race, an atomic write
killed midway, a replace over an open file, the worker stopped). What the installed app shows on
every run (tests/integration/test_windows_installer.py: settings, upload, link, autostart, tray,
Tk, capture, hooks, notifications, the data dir) and the pure-Python rest of the unit suite are
marked windows_full: `scripts/windows-bench.sh` runs them (pytest --windows-full).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.display import xvfb
from tests.support.s3servers import S3Server
from tests.support.sessions import make_exported_session
from tests.support.wine import DATA_DIR, WineBench, os_touching_unit_tests
from traycap.models import UploadStatus
from traycap.paths import Paths
from traycap.storage.state_store import StateStore

pytestmark = [pytest.mark.windows, pytest.mark.s3, pytest.mark.slow]
full_only = pytest.mark.windows_full

WAIT_S = 120.0


@pytest.fixture(scope="module")
def win() -> Iterator[WineBench]:
    if shutil.which("wine") is None:
        pytest.fail("Wine is not installed: run scripts/setup.sh test (it installs wine and wine64)")
    bench = WineBench.prepare()
    # A fresh data dir each run: the bench starts from what a new Windows user has.
    shutil.rmtree(bench.data_dir, ignore_errors=True)
    with xvfb(1280, 800) as display:
        bench.extra_env["DISPLAY"] = display.name
        bench.start_server()
        try:
            yield bench
        finally:
            bench.stop()
            report = "\n".join(
                f"  {r.seconds:6.1f}s rc={r.returncode} {' '.join(r.argv)[:200]!r}"
                + (f"\n          -> {r.stdout.strip().splitlines()[-1][:240]}" if r.stdout.strip() else "")
                for r in bench.log
            )
            print(f"\nWindows bench, commands run under Wine:\n{report}")


@pytest.fixture(scope="module")
def paths(win: WineBench) -> Paths:
    """The bench user's traycap dirs, seen from Linux."""
    return Paths(root=win.data_dir, logs=win.data_dir / "Logs")


@pytest.fixture(scope="module")
def configured(win: WineBench, rclone: S3Server) -> S3Server:
    values = {
        "bucket": rclone.bucket, "region": rclone.region, "endpointUrl": rclone.endpoint_url, "pathStyle": "true",
        "accessKeyId": rclone.access_key, "secretAccessKey": rclone.secret_key, "partSizeBytes": str(5 * 1024 * 1024),
    }
    done = win.traycap("config", "set", *(f"{k}={v}" for k, v in values.items()))
    assert done.returncode == 0, done.describe()
    return rclone


def _wait_status(paths: Paths, session_id: str, wanted: UploadStatus) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        state = StateStore(paths).read(session_id)
        if state is not None and state.status is wanted:
            return
        assert time.monotonic() < deadline, f"{session_id} never reached {wanted}: {state}"
        time.sleep(0.1)


def test_unit_tests_pass_under_windows_python(win: WineBench, request: pytest.FixtureRequest) -> None:
    full = request.config.getoption("--windows-full")
    targets = ["tests/unit"] if full else os_touching_unit_tests()
    done = win.python_run(["-m", "pytest", *targets, "-q", "-p", "no:cacheprovider"], timeout=900)
    assert done.returncode == 0, done.describe()
    assert " passed" in done.stdout and "failed" not in done.stdout


@full_only
def test_data_dir_is_local_appdata_of_a_user_named_with_a_space_and_an_accent(win: WineBench) -> None:
    done = win.probe("paths")
    assert done.returncode == 0, done.describe()
    where = json.loads(done.stdout.splitlines()[-1])
    assert where["root"] == DATA_DIR
    assert where["logs"] == DATA_DIR + "\\Logs"


@full_only
def test_config_set_show_and_test(win: WineBench, configured: S3Server) -> None:
    shown = win.traycap("config", "show", "--json")
    assert shown.returncode == 0, shown.describe()
    config = json.loads(shown.stdout)
    assert config["endpointUrl"] == configured.endpoint_url
    assert configured.secret_key not in shown.stdout + shown.stderr
    tested = win.traycap("config", "test")
    assert tested.returncode == 0, tested.describe()
    assert f"bucket '{configured.bucket}' is reachable" in tested.stdout


@full_only
def test_sessions_json_lists_a_session(win: WineBench, paths: Paths) -> None:
    make_exported_session(paths, "win-listed", size=2000)
    done = win.traycap("sessions", "--json")
    assert done.returncode == 0, done.describe()
    listed = {row["sessionId"]: row for row in json.loads(done.stdout)}
    assert listed["win-listed"]["fileSizeBytes"] == 2000


@full_only
def test_upload_wait_puts_the_verified_object(win: WineBench, paths: Paths, configured: S3Server) -> None:
    meta = make_exported_session(paths, "win-upload", size=6 * 1024 * 1024 + 123)  # two parts of 5 MiB
    done = win.traycap("upload", "win-upload", "--wait")
    assert done.returncode == 0, done.describe()
    state = StateStore(paths).read("win-upload")
    assert state is not None and state.status is UploadStatus.DONE and state.s3Key
    body = configured.object_bytes(state.s3Key)
    assert len(body) == meta.fileSizeBytes
    assert body == (paths.session_dir("win-upload") / "win-upload.zip").read_bytes()


@full_only
def test_link_serves_the_uploaded_bytes(win: WineBench, paths: Paths, configured: S3Server) -> None:
    if StateStore(paths).read("win-upload") is None:
        make_exported_session(paths, "win-upload", size=3000)
        assert win.traycap("upload", "win-upload", "--wait").returncode == 0
    done = win.traycap("link", "win-upload", "--expires", "600")
    assert done.returncode == 0, done.describe()
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith(configured.endpoint_url)
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == (paths.session_dir("win-upload") / "win-upload.zip").read_bytes()


@full_only
def test_cancel_a_queued_upload(win: WineBench, paths: Paths, configured: S3Server) -> None:
    make_exported_session(paths, "win-cancel", size=1000)
    queued = win.traycap("upload", "win-cancel")
    assert queued.returncode == 0, queued.describe()
    assert "Queued win-cancel" in queued.stdout
    cancelled = win.traycap("cancel", "win-cancel")
    assert cancelled.returncode == 0, cancelled.describe()
    state = StateStore(paths).read("win-cancel")
    assert state is not None and state.status is UploadStatus.NOT_UPLOADED


def test_worker_uploads_then_stops(win: WineBench, paths: Paths, configured: S3Server) -> None:
    make_exported_session(paths, "win-worker", size=4000)
    queued = win.traycap("upload", "win-worker")
    assert queued.returncode == 0, queued.describe()
    done = win.probe("worker-stop", "win-worker", timeout=300)
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["uploaded"] and result["held_while_running"], result
    assert result["returncode"] is not None, result
    assert result["lock_free_after"], result  # even after TerminateProcess
    assert configured.object_bytes("sessions/win-worker.zip") == (
        paths.session_dir("win-worker") / "win-worker.zip").read_bytes()


def test_two_processes_race_for_the_queue_lock(win: WineBench) -> None:
    done = win.probe("lock-race")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["racers"] == ["acquired", "busy"]
    assert result["third_while_held"] is False
    assert result["holder_pid"] in result["winner_pids"]
    assert result["free_after_exit"] is True


def test_an_atomic_write_killed_midway_leaves_a_whole_file(win: WineBench) -> None:
    done = win.probe("atomic-kill", "12", timeout=600)
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["rounds"] == 12  # each round asserted inside: the file parsed, old or new, never torn
    assert min(result["counters"]) >= 2  # every kill came after rewrites, not only a first write


def test_replace_waits_out_a_reader_holding_the_file(win: WineBench) -> None:
    done = win.probe("replace-while-open")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["plain_replace"] == "PermissionError"  # what Windows does to a plain os.replace
    assert result["waits"] == [0.25]  # traycap waited once, the reader let go, the retry worked
    assert result["content"] == "new"


READ_RUN_VALUE = (
    "import winreg\n"
    "key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r'Software\\Microsoft\\Windows\\CurrentVersion\\Run')\n"
    "try:\n"
    "    print(winreg.QueryValueEx(key, 'traycap')[0])\n"
    "except FileNotFoundError:\n"
    "    print('<absent>')\n"
)


@full_only
def test_autostart_registry_key(win: WineBench) -> None:
    on = win.traycap("autostart", "on")
    assert on.returncode == 0, on.describe()
    value = win.python_run(["-c", READ_RUN_VALUE])
    assert value.stdout.strip().endswith("pythonw.exe -m traycap tray"), value.describe()
    status = win.traycap("autostart", "status")
    assert "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run" in status.stdout, status.describe()
    assert "Autostart is on" in status.stdout
    off = win.traycap("autostart", "off")
    assert off.returncode == 0, off.describe()
    assert win.python_run(["-c", READ_RUN_VALUE]).stdout.strip() == "<absent>"


@full_only
def test_settings_dialog_draws_in_tk(win: WineBench) -> None:
    done = win.probe("tk-dialog")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["title"] == "traycap: Upload settings"
    assert "bucket" in result["fields"]
    assert result["save_button"][2] > 0


@full_only
def test_tray_icon_through_pystray_win32(win: WineBench) -> None:
    done = win.probe("tray")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["backend"] == "pystray._win32"
    assert result["visible"] is True


@full_only
def test_screen_capture_with_mss(win: WineBench) -> None:
    done = win.probe("capture")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["shape"][:2] == [800, 1280]


@full_only
def test_keyboard_hook_with_pynput(win: WineBench) -> None:
    done = win.probe("hooks")
    assert done.returncode == 0, done.describe()
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["backend"] == "pynput.keyboard._win32"
    assert "'q'" in result["keys"]


@full_only
def test_notification_through_plyer(win: WineBench) -> None:
    done = win.probe("notify")
    assert done.returncode == 0, done.describe()
    assert json.loads(done.stdout.splitlines()[-1]) == {"sent": True}
