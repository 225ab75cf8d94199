"""media/video.py without a display: the encoder's output, its crash behaviour, and its disk-full error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.platforms import KILLED_RETURNCODE
from tests.support.recording import video_positions_ms
from traycap.errors import DiskFull
from traycap.media.video import VideoEncoder, salvage_video, video_frame_count


def _frame(i: int) -> object:
    import numpy as np

    image = np.zeros((48, 64, 4), dtype=np.uint8)
    image[:, (i * 3) % 60 : (i * 3) % 60 + 4] = 255
    return image


def test_encoder_writes_every_frame_with_its_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    enc = VideoEncoder(path, 64, 48, 10)
    pts = [0, 100, 250, 260, 900]  # uneven: real capture times, nothing filled in
    for i, p in enumerate(pts):
        enc.write(_frame(i), p)
    enc.close()
    assert enc.frames == len(pts) == video_frame_count(path)
    assert video_positions_ms(path) == pytest.approx(pts, abs=1)


def test_a_full_disk_is_reported_as_disk_full() -> None:
    with pytest.raises(DiskFull):  # /dev/full: every write fails with ENOSPC, from the kernel
        enc = VideoEncoder(Path("/dev/full"), 64, 48, 10)
        for i in range(60):
            enc.write(_frame(i), i * 100)
        enc.close()


def test_a_killed_encoder_leaves_a_playable_file_that_salvage_cleans(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    script = (
        "import os, sys, numpy as np\n"
        "from pathlib import Path\n"
        "from traycap.media.video import VideoEncoder\n"
        "enc = VideoEncoder(Path(sys.argv[1]), 64, 48, 10)\n"
        "for i in range(45):\n"
        "    img = np.zeros((48, 64, 4), np.uint8); img[:, i % 60:i % 60 + 4] = 255\n"
        "    enc.write(img, i * 100)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, timeout=60)
    assert done.returncode == KILLED_RETURNCODE, done.stderr
    readable = video_frame_count(path)
    assert 45 - 11 <= readable <= 45  # at most one 1-s fragment (10 frames) + the frame in flight
    clean = tmp_path / "clean.mp4"
    assert salvage_video(path, clean) == readable == video_frame_count(clean)
    assert os.path.getsize(clean) > 0
