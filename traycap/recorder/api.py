"""What the recorder offers the rest of traycap: its states, its events and the `Recorder` protocol.

Plain types on top of models.py and nothing else, so the tray, the `record`
command and the test fakes all speak the same enums and events without
importing the capture stack (mss, PyAV, pynput).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from traycap.models import AppSettings, SessionMeta


class RecorderState(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    PAUSED = "paused"


class RecorderEventKind(str, enum.Enum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    STOPPED = "stopped"  # nothing more is recorded; the export starts
    EXPORTED = "exported"  # the zip and its meta are on disk
    FAILED = "failed"  # a recording stopped by a problem (or its export failed); `message` says why
    WARNING = "warning"  # part of a recording is missing and it goes on (no sound from a device); `message` says why


@dataclass(frozen=True)
class RecorderEvent:
    kind: RecorderEventKind
    sessionId: str
    message: str | None = None
    meta: SessionMeta | None = None


EventSink = Callable[[RecorderEvent], None]


class Recorder(Protocol):
    """Everything the tray asks of its recorder."""

    @property
    def state(self) -> RecorderState: ...

    def start(self) -> str:
        """Start a recording; its session id."""
        ...

    def abort_start(self) -> None:
        """End a start() that waits for the desktop's screen picker (Wayland): start() then raises."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> SessionMeta:
        """Stop and export; the session's meta."""
        ...

    def update_settings(self, settings: AppSettings) -> None:
        """Settings for the next recording (the running one keeps its own)."""
        ...

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no recording runs and every stopped one is exported."""
        ...


class LiveSink(Protocol):
    """Where a recording's live bundle goes while it grows (the upload lane, traycap/upload/live.py).

    The recorder knows nothing of uploads: the composition (tray, `traycap record`, recovery)
    builds the sink and hands it to the recorder. All three calls return at once.
    """

    def committed(self, size: int) -> None:
        """The first `size` bytes of the bundle zip are final on disk (they never change)."""
        ...

    def finished(self, size: int, sha256: str) -> None:
        """The zip is complete: `size` bytes with this SHA-256; send the rest and complete."""
        ...

    def abandon(self) -> None:
        """The recording ends without a finished zip (it is finished by recovery later): stop
        sending and keep what was sent for resume."""
        ...


LiveFactory = Callable[[str], "LiveSink | None"]  # session id -> its sink, or None: record classic
