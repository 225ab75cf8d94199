"""Retention end to end with the real CLI and a real S3 server (moto): keepUploadedDays=0 removes the
local zip once the upload is verified; the session stays listed and `traycap link` still serves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.s3servers import S3Server
from tests.support.sessions import make_exported_session
from traycap.models import AppSettings
from traycap.paths import Paths
from traycap.storage.config_store import save_config, save_settings

pytestmark = pytest.mark.s3


def traycap(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAYCAP_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_keep_0_removes_the_local_zip_after_a_verified_upload_and_link_still_works(
    moto: S3Server, home: Path
) -> None:
    paths = Paths(root=home, logs=home / "logs")
    save_config(paths.config, moto.config())
    save_settings(paths.settings, AppSettings(keepUploadedDays=0))
    meta = make_exported_session(paths, "s1", 300_000)
    data = (paths.session_dir("s1") / "s1.zip").read_bytes()

    up = traycap(home, "upload", "s1", "--wait")
    assert up.returncode == 0, up.stderr
    assert sorted(p.name for p in paths.session_dir("s1").iterdir()) == [
        ".exported", "session-meta.json", "upload-state.json"]
    rows = json.loads(traycap(home, "sessions", "--json").stdout)
    assert rows[0]["sessionId"] == "s1" and rows[0]["localCopy"] is False and rows[0]["uploadStatus"] == "done"
    assert "uploaded, local copy removed" in traycap(home, "sessions").stdout

    player = traycap(home, "link", "s1", "--expires", "600")  # the player, reading the zip in the bucket
    assert player.returncode == 0 and player.stdout.startswith(moto.endpoint_url) and "#z=" in player.stdout
    link = traycap(home, "link", "s1", "--expires", "600", "--zip")
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip()
    assert url.startswith(moto.endpoint_url)  # 127.0.0.1 only
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == data
    assert meta.sha256 and moto.object_bytes("sessions/s1.zip") == data
