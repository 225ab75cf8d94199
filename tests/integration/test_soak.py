"""bench/soak.py, short: `traycap worker` + `traycap record` under Xvfb against rclone serve s3 with
keepUploadedDays=0. Every session is uploaded and verified, and its dir ends holding only its meta, its
upload state and its `.exported` marker; the worker's figures are read from /proc after each session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.display import have_xvfb

BENCH = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_uploads_verifies_and_leaves_only_metas_and_states(tmp_path: Path) -> None:
    assert have_xvfb(), "Xvfb and xdotool are needed (scripts/setup.sh installs them)"
    run = subprocess.run(
        [sys.executable, str(BENCH), "--total-s", "18", "--every-s", "6", "--session-s", "2", "--json",
         "--keep", str(tmp_path / "soak")],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["record_failures"] == []
    assert len(result["sessions"]) == 3
    assert all(result["verified"][sid] for sid in result["sessions"])
    for sid in result["sessions"]:
        assert result["leftover"][sid] == [".exported", "session-meta.json", "upload-state.json"]
    assert result["worker_exit"] == 0
    assert [s["session"] for s in result["samples"]] == [1, 2, 3]
    assert all(s["rss_kb"] > 0 and s["fds"] > 0 and s["threads"] > 0 for s in result["samples"])
    assert set(result["growth"]) == {"rss_kb", "fds", "threads"}


def test_the_soak_takes_its_durations_as_parameters() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--total-s" in out and "--every-s" in out and "--session-s" in out
