"""Reading input devices without the permission (traycap/recorder/evdev_devices.py), as a real unprivileged user.

An input device belongs to root and the `input` group, mode 0660. The test makes such a node
(a FIFO owned by root, no access for others) and has the unprivileged test user try to read it,
as a person outside the input group would: the kernel refuses, and traycap says what to do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.wayland import run_unprivileged

PROBE = """
import json
from pathlib import Path
from traycap.errors import InputDevicesDenied
from traycap.recorder.evdev import DeviceKind
from traycap.recorder.evdev_devices import EvdevInput, InputDevice

device = InputDevice(Path({path!r}), "AT Translated Set 2 keyboard", DeviceKind.KEYBOARD)
try:
    EvdevInput(lambda ev: None, lambda: 0.0, True, (1280, 720), devices=[device]).start()
    print(json.dumps({{"opened": True}}))
except InputDevicesDenied as exc:
    print(json.dumps({{"error": type(exc).__name__, "message": exc.message, "hint": exc.hint}}))
"""


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user can enter (pytest's tmp_path is root's alone), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="traycap-evdev-"))
    os.chmod(path, 0o755)  # noqa: S103 - the unprivileged user must reach the device node
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_person_outside_the_input_group_is_told_how_to_join_it(open_dir: Path) -> None:
    devices = open_dir / "dev-input"
    devices.mkdir(mode=0o755)
    node = devices / "event3"
    os.mkfifo(node)
    os.chmod(node, 0o600 if os.geteuid() == 0 else 0o000)  # root's alone, like a device outside the group
    done = run_unprivileged(open_dir / "run", PROBE.format(path=str(node)))
    assert done.returncode == 0, done.stderr
    answer = done.stdout.strip().splitlines()[-1]
    assert '"error": "InputDevicesDenied"' in answer, answer
    assert f"{node}: permission denied" in answer
    assert "add yourself to the input group" in answer and "usermod -aG input" in answer
