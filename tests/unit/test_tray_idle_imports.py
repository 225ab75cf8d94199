"""An idle tray holds only what it shows: the modules it imports to start (the tray, the recorder's
controller and worker loops, the queue) load no numpy, PyAV, boto3 or OpenCV. Those load when a
recording or an upload first needs them (docs/performance.md: the idle tray's memory)."""

from __future__ import annotations

import subprocess
import sys

RECORDING_AND_UPLOAD_STACKS = ("numpy", "av", "boto3", "botocore", "cv2", "soundcard")
TRAY_START = ("traycap.tray.app", "traycap.tray.parts", "traycap.recorder.controller", "traycap.recorder.loops",
              "traycap.upload.queue", "traycap.sharing.startup")


def test_the_modules_a_tray_starts_with_load_no_recording_or_upload_library() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {TRAY_START!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {RECORDING_AND_UPLOAD_STACKS!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
