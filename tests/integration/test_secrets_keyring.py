"""The upload secrets in a real Secret Service (gnome-keyring-daemon on a dbus-run-session bus), the move out of
the file when the settings are saved, the 0600 file on a headless box, and a locked keyring that cannot hang
traycap. Starts with a locked or hung keyring: tests/integration/test_keyring_at_start.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.display import xvfb
from tests.support.s3servers import S3Server
from tests.support.secret_service import SecretService, available, secret_service
from tests.support.sessions import make_exported_session, write_config, zip_bytes
from tests.support.waiting import stop_process, wait_until
from traycap.models import UploadStatus
from traycap.paths import Paths
from traycap.storage.config_store import secret_account
from traycap.storage.state_store import StateStore

pytestmark = [pytest.mark.keyring, pytest.mark.slow]
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"

if available() is not None:
    pytest.fail(f"the keyring tests need a Secret Service: {available()}", pytrace=False)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[SecretService]:
    with secret_service(tmp_path / "desktop") as s:
        yield s


@pytest.fixture
def paths(home: Path) -> Paths:
    return Paths(root=home, logs=home / "logs").ensure()


def env_for(paths: Paths, service: SecretService | None, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    env.update({"TRAYCAP_HOME": str(paths.root), "TRAYCAP_KEYRING": "auto"})
    if service is not None:
        env.update(service.env)
    else:  # a headless box: no session bus, not even at the default $XDG_RUNTIME_DIR/bus
        runtime = tmp / "headless-run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    return env


def traycap(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "traycap", *args], env=env, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def config_file(paths: Paths) -> dict[str, object]:
    data = json.loads(paths.config.read_text())
    assert isinstance(data, dict)
    return data


def upload_with_worker(paths: Paths, env: dict[str, str], session_id: str) -> str:
    """Queue `session_id`, run `traycap worker` until it is uploaded, stop it; the worker's log."""
    make_exported_session(paths, session_id, 50_000)
    assert traycap(env, "upload", session_id).returncode == 0
    log_path = paths.root / "worker.log"
    with log_path.open("ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "traycap", "worker"], env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        def state_of() -> UploadStatus | None:
            state = StateStore(paths).read(session_id)
            return state.status if state is not None else None

        wait_until("the upload to finish", lambda: state_of() in (UploadStatus.DONE, UploadStatus.FAILED)
                   or worker.poll() is not None, 60)
        assert state_of() is UploadStatus.DONE, log_path.read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        stop_process(worker)
    return log_path.read_text()


def test_config_set_from_a_pipe_puts_the_secret_in_the_keyring_only(paths: Paths, service: SecretService,
                                                                    tmp_path: Path) -> None:
    env = env_for(paths, service, tmp_path)
    done = traycap(env, "config", "set", "bucket=my-bucket", "region=us-east-1", "accessKeyId=AKIAEXAMPLE",
                   "secretAccessKey=-", stdin=f"{SECRET}\n")
    assert done.returncode == 0, done.stderr
    assert "(secret stored in: keyring)" in done.stdout
    assert SECRET not in paths.config.read_text() and config_file(paths)["secretsIn"] == "keyring"
    assert service.lookup(secret_account(paths.config, "secretAccessKey")) == SECRET
    shown = traycap(env, "config", "show")
    assert "secret stored in: keyring" in shown.stdout and f"secretAccessKey = ****{SECRET[-4:]}" in shown.stdout
    assert SECRET not in done.stdout + done.stderr + shown.stdout + shown.stderr


def test_a_worker_leaves_a_file_secret_where_it_is_config_set_moves_it_and_the_worker_reads_it_quietly(
        paths: Paths, service: SecretService, rclone: S3Server, tmp_path: Path) -> None:
    """rclone checks the signature: the upload succeeds only with the right secret. Issue 24: a start (here
    the worker) moves nothing; the user's `config set` does; a start reads it without `Unlock`."""
    config = write_config(paths, rclone.config(keyPrefix="keyring/"))  # an older traycap: secret in the file
    before = paths.config.read_bytes()
    env = env_for(paths, service, tmp_path)
    log = upload_with_worker(paths, env, "kr1")
    assert paths.config.read_bytes() == before
    assert log.count("upload secret stored in: file (0600) (the OS keyring is usable: it moves there when the "
                     "settings are next saved)") == 1
    assert rclone.object_bytes("keyring/kr1.zip") == zip_bytes(paths, "kr1")
    done = traycap(env, "config", "set", "maxRetries=5")  # the user acts
    assert done.returncode == 0, done.stderr
    assert f"The upload secret moved from {paths.config} into the OS keyring" in done.stdout
    assert config.secretAccessKey not in paths.config.read_text() and config_file(paths)["secretsIn"] == "keyring"
    assert service.lookup(secret_account(paths.config, "secretAccessKey")) == config.secretAccessKey
    shown = traycap(env, "config", "show")
    assert "secret stored in: keyring" in shown.stdout
    # The next start reads it from the keyring (quietly) and uploads with it.
    log = upload_with_worker(paths, env, "kr2")
    assert log.count("upload secret stored in: keyring") == 1 and "moved" not in log
    assert config.secretAccessKey not in log + done.stdout + done.stderr + shown.stdout
    assert rclone.object_bytes("keyring/kr2.zip") == zip_bytes(paths, "kr2")


def test_a_headless_worker_keeps_working_with_the_0600_file(paths: Paths, rclone: S3Server, tmp_path: Path) -> None:
    config = write_config(paths, rclone.config(keyPrefix="headless/"))
    before = paths.config.read_bytes()
    env = env_for(paths, None, tmp_path)
    log = upload_with_worker(paths, env, "hl1")
    assert rclone.object_bytes("headless/hl1.zip") == zip_bytes(paths, "hl1")
    assert paths.config.read_bytes() == before  # the secret stays where it was
    assert log.count("upload secret stored in: file (0600) (no usable OS keyring") == 1
    assert config.secretAccessKey not in log
    shown = traycap(env, "config", "show")
    assert "secret stored in: file (0600)" in shown.stdout


def test_a_locked_keyring_whose_unlock_prompt_waits_for_a_person_does_not_hang_traycap(
        paths: Paths, service: SecretService, tmp_path: Path) -> None:
    env = env_for(paths, service, tmp_path)
    assert traycap(env, "config", "set", "bucket=my-bucket", "region=us-east-1", "accessKeyId=AKIAEXAMPLE",
                   "secretAccessKey=-", stdin=f"{SECRET}\n").returncode == 0
    with xvfb() as display:
        service.lock()
        # Let the unlock prompt (gcr-prompter) open on a display, where it waits for a password.
        assert service.run("dbus-update-activation-environment", f"DISPLAY={display.name}").returncode == 0
        started = time.monotonic()
        shown = traycap(env, "config", "show")
        elapsed = time.monotonic() - started
        prompts = display.run("xdotool", "search", "--onlyvisible", "--name", ".", check=False).stdout.split()
        assert prompts, "no unlock prompt opened: this test would not show that traycap survives one"
        assert elapsed < 20, elapsed
        assert shown.returncode == 0
        assert "did not answer within 5 s" in shown.stderr
        assert "secretAccessKey = (in the OS keyring, which cannot be read now)" in shown.stdout
        # A new secret while the keyring is stuck goes to the 0600 file: stored somewhere, never nowhere.
        done = traycap(env, "config", "set", "secretAccessKey=-", stdin="a-new-secret-value\n")
        assert done.returncode == 0 and "(secret stored in: file (0600))" in done.stdout
        assert config_file(paths)["secretAccessKey"] == "a-new-secret-value" and "secretsIn" not in config_file(paths)
