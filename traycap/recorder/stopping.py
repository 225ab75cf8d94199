"""What Stop writes about a recording before it is exported: the meta's stop facts, frames.jsonl cut
to the frames the video holds, and the words a failed recording is reported with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traycap.bundle.raw import truncate_jsonl
from traycap.clock import Clock
from traycap.context import Context
from traycap.errors import LowDisk, RecorderError, TraycapError
from traycap.media.video import video_frame_count
from traycap.models import AppSettings, SessionMeta
from traycap.recorder.recording import Recording
from traycap.storage.config_store import MAX_FPS

LOW_DISK = "low_disk"


def check_settings(settings: AppSettings) -> None:
    """RecorderError, readable, for settings no recording can start with."""
    if not 1 <= settings.fps <= MAX_FPS:
        raise RecorderError(f"The frame rate {settings.fps} fps is not possible",
                            f"choose between 1 and {MAX_FPS} fps in settings or with --fps")
    if not settings.screenshotIntervalS > 0:
        raise RecorderError(f"The screenshot interval {settings.screenshotIntervalS} s is not possible",
                            "choose a number of seconds greater than 0 in settings")


def reconcile_frames(frames_path: Path, video_frames: int) -> int:
    """Make frames.jsonl list exactly the frames the video holds (after a crash it may list more)."""
    return truncate_jsonl(frames_path, video_frames)


def write_stopped_meta(ctx: Context, rec: Recording, stopped_at: float, clock: Clock) -> SessionMeta:
    """The meta once nothing more is recorded: status "stopped", drops, counts, why it ended."""
    files = rec.writer.files
    encoded = rec.encoder.frames
    if rec.failure is not None:
        # The encoder may have died mid-file: believe only what a reader gets out of it.
        encoded = min(encoded, video_frame_count(files.video))
    reconcile_frames(files.frames, encoded)
    meta = ctx.sessions.read_meta(rec.session_id)
    recorder = dict(meta.extra.get("recorder") or {})
    recorder.update({
        "status": "stopped",
        "stoppedAtMs": round((stopped_at - rec.origin) * 1000, 1),
        "droppedFrames": {"late": rec.late_drops, "encoderBusy": rec.busy_drops,
                          "total": rec.late_drops + rec.busy_drops},
        "framesCaptured": rec.captured,
        "framesEncoded": encoded,
        "unchangedFrames": rec.unchanged,
        "repeatedFrames": rec.repeated,
        "droppedMouseMoves": rec.builder.dropped_moves,
        "endReason": end_reason(rec.failure),
    })
    if rec.audio_facts:
        recorder["audio"] = merge_audio(dict(recorder.get("audio") or {}), rec.audio_facts)
    meta = meta.with_(endedAt=clock.now_ms(), extra={**meta.extra, "recorder": recorder})
    ctx.sessions.save_meta(meta)
    return meta


def merge_audio(at_start: dict[str, Any], at_stop: dict[str, Any]) -> dict[str, Any]:
    """The meta's "audio" part: what Start wrote, what the sound thread says at its end; the problems
    of both (a device missing at Start, one lost later) in one list."""
    problems = list(at_start.get("problems") or []) + list(at_stop.get("problems") or [])
    out = {**at_start, **at_stop}
    if problems:
        out["problems"] = problems
    return out


def end_reason(failure: TraycapError | None) -> str:
    if failure is None:
        return "stopped"
    if isinstance(failure, LowDisk):
        return LOW_DISK  # a fixed word: tools that read the bundle tell it from other failures
    return failure.user_text()


def failure_message(session_id: str, failure: TraycapError | None, export_error: TraycapError | None) -> str | None:
    """What the "failed" event says, or None when the recording ended well."""
    if failure is None and export_error is None:
        return None
    parts = []
    if failure is not None:
        parts.append(f"{failure.user_text()}.")  # the notice title already says "Recording stopped"
    if export_error is not None:
        parts.append(f"The session could not be exported: {export_error.user_text()}; "
                     "its files are kept and it is exported at the next start.")
    else:
        parts.append(f"What was recorded is saved as session {session_id}.")
    return " ".join(parts)
