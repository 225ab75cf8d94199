"""The command line (traycap/cli.py, traycap/commands/), run as a user runs it: a real `traycap` process per command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import cli_env, no_traceback, run
from tests.support.sessions import make_session_dir
from traycap.models import UploadStatus
from traycap.paths import META_FILE, STATE_FILE, Paths

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYcliSECRETzq9"
NOW = 1_750_000_000_000
HOUR = 3600 * 1000


def listed(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    assert proc.returncode == 0, proc.stderr
    no_traceback(proc)
    return {item["sessionId"]: item for item in json.loads(proc.stdout)}


def test_help_console_script_and_module(home: Path) -> None:
    exe = shutil.which("traycap")
    assert exe, "the `traycap` console script is not installed (pip install -e .)"
    for argv in ([exe, "--help"], [sys.executable, "-m", "traycap", "--help"]):
        proc = subprocess.run(argv, env=cli_env(home, home.parent), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        for command in ("record", "sessions", "upload", "retry", "cancel", "worker", "config", "link"):
            assert command in proc.stdout
    usage = run(home, "no-such-command")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    no_traceback(usage)


def test_sessions_text_and_json(home: Path) -> None:
    paths = Paths(root=home, logs=home / "logs").ensure()
    assert "No sessions yet" in run(home, "sessions").stdout
    make_session_dir(paths, "20250101-100000-aaaaaa", created_ms=NOW - 2 * HOUR, state=UploadStatus.DONE, exported=True)
    make_session_dir(paths, "20250101-120000-bbbbbb", created_ms=NOW - HOUR, exported=True)
    items = run(home, "sessions", "--json")
    assert list(listed(items)) == ["20250101-120000-bbbbbb", "20250101-100000-aaaaaa"]
    assert listed(items)["20250101-100000-aaaaaa"]["uploadStatus"] == "done"
    text = run(home, "sessions")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["SESSION", "CREATED", "LENGTH", "SIZE", "ACTIONS", "STATUS"]
    assert lines[1].startswith("20250101-120000-bbbbbb") and lines[1].endswith("not uploaded")
    assert lines[2].startswith("20250101-100000-aaaaaa") and lines[2].endswith("done")


BAD = {
    "empty": b"",
    "truncated": b'{"sessionId": "x", "createdAt": 17',
    "wrongtype": b'{"sessionId": "x", "status": "pending", "createdAt": "soon", "updatedAt": 1, "retryCount": "3"}',
    "notutf8": b'{"sessionId": "\xff\xfe"}',
    "null": b"null",
}


def test_corrupt_session_files_are_reported_and_others_list(home: Path) -> None:
    paths = Paths(root=home, logs=home / "logs").ensure()
    good = [make_session_dir(paths, f"good-{n}", created_ms=NOW - n * HOUR, state=UploadStatus.FAILED,
                             exported=True).name
            for n in range(1, 4)]
    bad: dict[str, Path] = {}
    for kind, content in BAD.items():
        for name in (META_FILE, STATE_FILE):
            sid = f"bad-{kind}-{'meta' if name == META_FILE else 'state'}"
            d = make_session_dir(paths, sid, created_ms=NOW, state=UploadStatus.PENDING, exported=True)
            (d / name).write_bytes(content)
            bad[sid] = d / name
    (paths.sessions / "..evil").mkdir()
    (paths.sessions / "..evil" / META_FILE).write_text('{"sessionId": "..evil", "createdAt": 1}')
    (home / "upload-config.json").write_bytes(b'{"bucket": ')
    (home / "app-settings.json").write_bytes(b"\xff")

    proc = run(home, "sessions", "--json")
    items = listed(proc)

    assert set(items) == set(good) | set(bad)  # every session listed, the invalid name is not
    for sid in good:
        assert "problem" not in items[sid] and items[sid]["uploadStatus"] == "failed"
    for sid, path in bad.items():
        assert str(path) in str(items[sid]["problem"]), sid
        assert f"traycap: warning: session {sid}: {path}" in proc.stderr
    text = run(home, "sessions")
    assert text.returncode == 0 and "problem: " in text.stdout
    for sid in good:
        assert sid in text.stdout


def test_corrupt_config_file_clear_error_and_left_alone(home: Path) -> None:
    cfg = home / "upload-config.json"
    make_session_dir(Paths(root=home, logs=home / "logs").ensure(), "still-here", created_ms=NOW)
    for content, reason in ((b"", "empty"), (b'{"bucket": "b", "maxRetries": "3"}', "'maxRetries' must be int"),
                            (b"\xc3\x28", "not UTF-8"), (b"[1]", "JSON object")):
        cfg.write_bytes(content)
        show = ("config", "show", "--json") if content else ("config", "show")
        for args in (show, ("config", "set", "bucket=new-bucket")):
            proc = run(home, *args)
            assert proc.returncode == 1, (args, proc.stderr)
            no_traceback(proc)
            assert f"traycap: {cfg} is unreadable: " in proc.stderr and reason in proc.stderr, proc.stderr
            assert "config set KEY=VALUE" in proc.stderr  # the hint says how to get out of this
            assert cfg.read_bytes() == content
    assert "still-here" in listed(run(home, "sessions", "--json"))


def test_config_set_validates_and_writes_nothing_on_error(home: Path) -> None:
    cfg = home / "upload-config.json"
    proc = run(home, "config", "set", "bucket=my-bucket", "maxRetries=ten", "partSizeBytes=1048576", "colour=blue")
    assert proc.returncode == 1
    no_traceback(proc)
    for expected in ("region: a region is required", "accessKeyId: an access key id is required",
                     "secretAccessKey: a secret access key is required", "maxRetries: must be a whole number",
                     "partSizeBytes: must be at least 5242880 bytes", "colour: unknown setting"):
        assert expected in proc.stderr
    assert not cfg.exists()

    ok = run(home, "config", "set", "bucket=my-bucket", "region=eu-west-1", "accessKeyId=AKIDEXAMPLE",
             f"secretAccessKey={SECRET}")
    assert ok.returncode == 0, ok.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    saved = json.loads(cfg.read_text())
    assert (saved["maxRetries"], saved["partSizeBytes"], saved["keyPrefix"]) == (10, 10 * 1024 * 1024, "sessions/")
    before = cfg.read_bytes()
    for bad in (["partSizeBytes=5242879"], ["pathStyle=perhaps"], ["region="], ["bucket=Bad_Bucket", "maxRetries=-1"]):
        proc = run(home, "config", "set", *bad)
        assert proc.returncode == 1 and "settings not saved" in proc.stderr, bad
        assert cfg.read_bytes() == before, bad
    usage = run(home, "config", "set", "novalue")
    assert usage.returncode == 2 and "not KEY=VALUE" in usage.stderr
    assert cfg.read_bytes() == before

    os.chmod(cfg, 0o644)
    assert run(home, "config", "set", "autoUpload=on", "profile=", "uploadWhileRecording=false").returncode == 0
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    saved = json.loads(cfg.read_text())
    assert saved["autoUpload"] is True and saved["uploadWhileRecording"] is False


def test_secret_never_printed_or_logged(home: Path) -> None:
    make_session_dir(Paths(root=home, logs=home / "logs").ensure(), "s1", created_ms=NOW, exported=True)
    runs = [
        run(home, "config", "set", "bucket=my-bucket", "region=us-east-1", "accessKeyId=AKIDEXAMPLE",
            f"secretAccessKey={SECRET}", "endpointUrl=http://127.0.0.1:9", "pathStyle=true"),
        run(home, "--log-level", "DEBUG", "config", "set", f"secretAccessKey={SECRET}", "maxRetries=x"),
        run(home, "--log-level", "DEBUG", "config", "set", f"sessionToken={SECRET}", "bogus=1"),
        run(home, "config", "show"),
        run(home, "config", "show", "--json"),
        run(home, "--log-level", "DEBUG", "config", "show"),
        run(home, "--log-level", "DEBUG", "config", "show", "--json"),
        run(home, "sessions"),
        run(home, "--log-level", "DEBUG", "sessions", "--json"),
        run(home, "--log-level", "DEBUG", "config", "test"),  # a closed port on 127.0.0.1: fails fast
    ]
    for proc in runs:
        no_traceback(proc)
        assert SECRET not in proc.stdout and SECRET not in proc.stderr, proc.args
    assert runs[0].returncode == 0 and runs[1].returncode == 1 and runs[2].returncode == 1
    for text_show in (runs[3], runs[5]):
        assert f"secretAccessKey = ****{SECRET[-4:]}" in text_show.stdout
    for json_show in (runs[4], runs[6]):
        assert json.loads(json_show.stdout)["secretAccessKey"] == "****" + SECRET[-4:]
    assert "s1" in runs[7].stdout and "s1" in listed(runs[8])
    assert runs[9].returncode == 1 and "127.0.0.1:9" in runs[9].stderr  # config test reached the code that signs
    for path in [*home.rglob("*"), *(home.parent / "xdg-state").rglob("*")]:
        if path.is_file() and path.name != "upload-config.json":
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET in (home / "upload-config.json").read_text()  # it was really saved (0600)


@pytest.mark.slow
def test_secret_not_in_worker_log_file(home: Path) -> None:
    """The worker logs to a file at DEBUG while an upload fails against a closed port on 127.0.0.1."""
    make_session_dir(Paths(root=home, logs=home / "logs").ensure(), "s1", created_ms=NOW, exported=True)
    assert run(home, "config", "set", "bucket=my-bucket", "region=us-east-1", "accessKeyId=AKIDEXAMPLE",
               f"secretAccessKey={SECRET}", "endpointUrl=http://127.0.0.1:9", "maxRetries=1").returncode == 0
    queued = run(home, "upload", "s1")
    assert queued.returncode == 0, queued.stderr
    worker = subprocess.Popen([sys.executable, "-m", "traycap", "--log-level", "DEBUG", "worker"],
                              env=cli_env(home, home.parent), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    state_file = home / "sessions" / "s1" / STATE_FILE
    deadline = time.monotonic() + 60
    try:
        # Both attempts fail; an unreachable endpoint then keeps the session pending, retried every
        # 5 minutes (an outage never fails a session). The state file is written atomically: always parses.
        while "keeps trying" not in (json.loads(state_file.read_text()).get("lastError") or ""):
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the worker never spent its retries on the closed port"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            out, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            out, err = worker.communicate()
    assert SECRET not in out and SECRET not in err and "Traceback" not in err
    log_files = [f for f in (home / "logs").rglob("*") if f.is_file()]
    assert log_files, "the worker wrote no log file"
    assert any(b"s1" in f.read_bytes() for f in log_files)
    for f in log_files:
        assert SECRET.encode() not in f.read_bytes(), f


def test_session_id_arguments_are_checked(home: Path) -> None:
    for command, sid in [("upload", "../x"), ("upload", "a" * 65), ("retry", "-rf"), ("cancel", "ünï"),
                         ("link", "a/b"), ("link", "")]:
        proc = run(home, command, "--", sid) if sid.startswith("-") else run(home, command, sid)
        assert proc.returncode in (1, 2), (command, sid, proc.stderr)
        no_traceback(proc)
        assert "not a valid session id" in proc.stderr or "usage:" in proc.stderr, (command, sid, proc.stderr)
    assert sorted(p.name for p in home.iterdir()) == ["sessions"]  # nothing created outside sessions/
    assert list((home / "sessions").iterdir()) == []


# Other engineers own these commands: assert only what stays true once they land.
ONE_SHOT = [
    ["upload", "nosuch"],
    ["upload", "nosuch", "--wait"],
    ["retry", "nosuch"],
    ["cancel", "nosuch"],
    ["link", "nosuch"],
    ["link", "nosuch", "--expires", "60"],
    ["config", "test"],
    ["autostart", "status"],
    ["record", "--duration", "1"],
]


@pytest.mark.parametrize("argv", ONE_SHOT, ids=" ".join)
def test_other_commands_fail_readably(home: Path, argv: list[str]) -> None:
    proc = run(home, *argv)
    assert proc.returncode in (0, 1, 2), proc.stderr
    no_traceback(proc)
    if proc.returncode != 0:
        assert proc.stderr.startswith("traycap: ") or "usage:" in proc.stderr, proc.stderr
        assert len(proc.stderr.strip()) > 15


@pytest.mark.parametrize("argv", [[], ["tray"], ["worker"]], ids=lambda a: " ".join(a) or "(none)")
def test_long_running_commands_start_or_fail_readably(home: Path, argv: list[str]) -> None:
    """Without a display the tray must fail readably; the worker may run: then SIGTERM ends it cleanly."""
    proc = subprocess.Popen([sys.executable, "-m", "traycap", *argv], env=cli_env(home, home.parent),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=3)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"`traycap {' '.join(argv)}` ignored SIGTERM for 30 s") from None
        assert proc.returncode in (0, 1, 130, 143, -signal.SIGTERM), err
    else:
        assert proc.returncode in (0, 1, 2), err
        if proc.returncode:
            assert err.startswith("traycap: ") and len(err.strip()) > 15, err
    assert "Traceback" not in err and "Traceback" not in out, err


def test_sessions_into_a_closed_pipe(home: Path) -> None:
    paths = Paths(root=home, logs=home / "logs").ensure()
    for n in range(400):  # ~120 KB of JSON: more than a pipe holds
        sid = f"s{n:04d}"
        paths.session_dir(sid).mkdir()
        paths.meta(sid).write_text(json.dumps({"sessionId": sid, "createdAt": NOW + n, "endedAt": NOW + n + 9}))
    proc = subprocess.Popen([sys.executable, "-m", "traycap", "sessions", "--json"], env=cli_env(home, home.parent),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'[\n  {\n    '
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err


HEAVY = ("boto3", "botocore", "cv2", "numpy", "pystray", "PIL", "mss", "pynput", "plyer", "tkinter", "gi", "av")


def test_sessions_and_config_show_import_no_heavy_library(home: Path) -> None:
    """`traycap sessions` stays fast because it never loads the S3, video or GUI stacks."""
    probe = (
        "import contextlib, io, runpy, sys\n"
        "for argv in (['sessions', '--json'], ['config', 'show']):\n"
        "    sys.argv = ['traycap', *argv]\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        runpy.run_module('traycap', run_name='__main__')\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], env=cli_env(home, home.parent), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
