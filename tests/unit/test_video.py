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


def _track(path: Path) -> tuple[list[float], object]:
    """The video frames' times and the decoded sound (mono float32) of a recording."""
    import av
    import numpy as np

    with av.open(str(path)) as c:
        times = [float(f.time) for f in c.decode(c.streams.video[0])]
    with av.open(str(path)) as c:
        sound = np.concatenate([f.to_ndarray()[0] for f in c.decode(c.streams.audio[0])])
    return times, sound


def test_the_sound_track_is_on_the_videos_time_in_the_same_file(tmp_path: Path) -> None:
    """AAC's priming frame is left out, so neither track is shifted: a beep written at track sample
    48000 is heard at 1.000 s, where the frame of pts 1000 is shown."""
    import numpy as np

    path = tmp_path / "v.mp4"
    enc = VideoEncoder(path, 64, 48, 10, audio_rate=48_000)
    assert enc.has_audio
    sound = np.zeros(3 * 48_000, np.float32)
    sound[48_000:48_000 + 4800] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(4800) / 48_000)
    for i in range(30):
        enc.write(_frame(i), i * 100)
        enc.write_audio(sound[i * 4800:(i + 1) * 4800], i * 4800)
    enc.close()
    times, decoded = _track(path)
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2], abs=1e-3)
    onset = int(np.argmax(np.abs(decoded) > 0.1))
    assert onset / 48_000 == pytest.approx(1.0, abs=0.003)
    assert len(decoded) / 48_000 == pytest.approx(3.0, abs=0.03)


def test_salvage_keeps_the_sound_of_a_killed_recording(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    script = (
        "import os, sys, numpy as np\n"
        "from pathlib import Path\n"
        "from traycap.media.video import VideoEncoder\n"
        "enc = VideoEncoder(Path(sys.argv[1]), 64, 48, 10, audio_rate=48000)\n"
        "for i in range(45):\n"
        "    enc.write(np.zeros((48, 64, 4), np.uint8), i * 100)\n"
        "    enc.write_audio(np.full(4800, 0.3, np.float32), i * 4800)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, timeout=60)
    assert done.returncode == KILLED_RETURNCODE, done.stderr
    clean = tmp_path / "clean.mp4"
    kept = salvage_video(path, clean)
    times, decoded = _track(clean)
    assert 45 - 11 <= kept == len(times)
    # the sound goes as far as the frames (all but the last second or so), not further than written
    assert times[-1] - 0.2 <= len(decoded) / 48_000 <= 4.5
