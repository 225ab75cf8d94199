"""Many recorders, one bucket (issue 19): two homes standing for two machines upload to one moto
bucket with `keyPrefix=team/{host}/{yyyy}/`; each session's key is expanded once and kept, its
sidecar lands beside its zip, and `traycap sessions --remote` on either machine lists both
machines' sessions from the sidecars; `traycap view --remote KEY` plays any of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.integration.test_viewer_server import fetch
from tests.support.s3servers import S3Server
from tests.support.sessions import write_config
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from traycap.context import make_context
from traycap.paths import Paths

pytestmark = [pytest.mark.s3]

SPEC = Synthetic(seconds=4, fps=2, width=320, height=240, actions=30)


def traycap(home: Path, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAYCAP_HOME": str(home), "TRAYCAP_HOST": host}
    return subprocess.run([sys.executable, "-m", "traycap", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_two_machines_share_one_bucket_and_each_lists_both(moto: S3Server, tmp_path: Path) -> None:
    machines = {"alice-laptop": "s-alice", "bob-desk": "s-bob"}
    zips: dict[str, bytes] = {}
    homes: dict[str, Path] = {}
    for host, session_id in machines.items():
        home = tmp_path / host
        home.mkdir(mode=0o700)
        ctx = make_context(Paths(root=home, logs=home / "logs"))
        write_config(ctx, moto.config(keyPrefix="team/{host}/{yyyy}/"))
        meta = make_synthetic_session(ctx, session_id, SPEC)
        zips[session_id] = ctx.sessions.zip_path(meta).read_bytes()
        done = traycap(home, host, "upload", session_id, "--wait")
        assert done.returncode == 0, done.stderr
        homes[host] = home
    year = time.strftime("%Y", time.localtime(1_800_000_000))  # the synthetic sessions' recording date
    keys = {f"team/alice-laptop/{year}/s-alice", f"team/bob-desk/{year}/s-bob"}
    stored = {o["Key"] for o in moto.client().list_objects_v2(Bucket=moto.bucket, Prefix="team/")["Contents"]}
    assert {k + ".zip" for k in keys} | {k + ".json" for k in keys} <= stored
    sidecar = json.loads(moto.object_bytes(f"team/bob-desk/{year}/s-bob.json"))
    assert sidecar["kind"] == "traycap-session" and sidecar["zipKey"] == f"team/bob-desk/{year}/s-bob.zip"
    assert sidecar["size"] == len(zips["s-bob"]) and sidecar["format"] == 1
    assert sidecar["session"]["sessionId"] == "s-bob" and sidecar["session"]["counts"]["actions"] == SPEC.actions

    # The key as expanded once, in the session's state (a later retry keeps it: tests/unit/test_object_keys.py).
    state = json.loads((homes["alice-laptop"] / "sessions" / "s-alice" / "upload-state.json").read_text())
    assert state["s3Key"] == f"team/alice-laptop/{year}/s-alice.zip"

    for host, home in homes.items():
        listed = traycap(home, host, "sessions", "--remote", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = {r["sessionId"]: r for r in json.loads(listed.stdout)}
        assert set(rows) == {"s-alice", "s-bob"}, host
        for session_id, row in rows.items():
            assert row["sidecar"] is True and row["size"] == len(zips[session_id]) and row["actions"] == SPEC.actions
            assert row["createdAt"] == 1_800_000_000_000 and row["format"] == 1
        text = traycap(home, host, "sessions", "--remote")
        assert text.returncode == 0 and "2 session(s) in s3://traycap-test/team/" in text.stdout
        assert f"team/alice-laptop/{year}/s-alice.zip" in text.stdout
        assert f"team/bob-desk/{year}/s-bob.zip" in text.stdout

    # Alice plays Bob's session straight from the bucket.
    shown = traycap(homes["alice-laptop"], "alice-laptop", "view", "--remote", f"team/bob-desk/{year}/s-bob.zip",
                    "--no-open")
    assert shown.returncode == 0, shown.stderr
    page_url, _, fragment = shown.stdout.strip().partition("#")
    status, headers, page = fetch(page_url)
    content_type = {k.lower(): v for k, v in headers.items()}["content-type"]
    assert status == 200 and content_type.startswith("text/html") and b"<script>" in page
    assert "/team/player/" in page_url
    assert fetch(moto.endpoint_url + parse_qs(fragment)["z"][0])[2] == zips["s-bob"]
    plain = traycap(homes["alice-laptop"], "alice-laptop", "link", "s-alice", "--zip")  # the zip itself, as before
    assert plain.returncode == 0 and "#" not in plain.stdout and fetch(plain.stdout.strip())[2] == zips["s-alice"]
    missing = traycap(homes["alice-laptop"], "alice-laptop", "view", "--remote", "team/nobody/x.zip", "--no-open")
    assert missing.returncode == 1 and "has no object team/nobody/x.zip" in missing.stderr
