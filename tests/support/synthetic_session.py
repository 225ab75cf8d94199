"""A recorded-looking session without a screen: real H.264 video from the recorder's own encoder,
actions and screenshots in the recorder's formats, exported by the real export.

For viewer tests and bench/viewer.py (a 1-hour session with 50,000 actions
takes seconds to build this way instead of an hour to record).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from traycap.bundle.export import export_session
from traycap.bundle.raw import SessionFiles
from traycap.context import Context
from traycap.media.images import encode_png
from traycap.media.video import VideoEncoder
from traycap.models import SessionMeta


@dataclass(frozen=True)
class Synthetic:
    seconds: float = 10.0
    fps: float = 2.0  # video frames per second (a long session stays quick to encode)
    width: int = 640
    height: int = 360
    actions: int = 200
    screenshot_every_s: float = 60.0
    noise: bool = False  # worst case for the preview's size: frames of random pixels
    privacy: str = "full"
    pause: tuple[float, float] | None = None  # (from s, to s): no frames or actions in between
    left: int = 0
    top: int = 0


def frame_image(i: int, spec: Synthetic, rng: random.Random) -> Any:
    """A desktop-like BGRA frame: a title bar, text lines, a box that moves with the frame index."""
    if spec.noise:
        return np.frombuffer(rng.randbytes(spec.width * spec.height * 4), dtype=np.uint8).reshape(
            spec.height, spec.width, 4).copy()
    picture = Image.new("RGBA", (spec.width, spec.height), (235, 231, 226, 255))  # BGRA order, drawn as is
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, spec.width, spec.height // 14 - 1), fill=(90, 60, 40, 255))
    font = ImageFont.load_default(size=max(8, spec.height // 30))
    for line in range(3, 12):
        y = line * spec.height // 14
        draw.text((16, y), f"line {line} of frame {i}: the quick brown fox", fill=(40, 40, 40, 255), font=font,
                  anchor="ls")
    img = np.array(picture)
    x = (i * 17) % max(1, spec.width - 80)
    img[spec.height // 2: spec.height // 2 + 60, x: x + 80] = (60, 140, 230, 255)
    return img


def make_synthetic_session(ctx: Context, session_id: str, spec: Synthetic, seed: int = 7) -> SessionMeta:
    """Write the session's files as the recorder would, then export it (zip with preview.jpg)."""
    rng = random.Random(seed)
    directory = ctx.paths.session_dir(session_id)
    files = SessionFiles(directory)
    files.video_dir.mkdir(parents=True, exist_ok=True)
    files.shots_dir.mkdir(parents=True, exist_ok=True)
    end_ms = spec.seconds * 1000.0
    paused = (spec.pause[0] * 1000, spec.pause[1] * 1000) if spec.pause else None

    def is_paused(t: float) -> bool:
        return paused is not None and paused[0] <= t < paused[1]

    # Frames on the fps grid; pts skip the paused span as the recorder's do.
    step = 1000.0 / spec.fps
    encoder = VideoEncoder(files.video, spec.width, spec.height, max(1, round(spec.fps)))
    frames, shots = [], []
    next_shot = 0.0
    t = step / 2
    i = 0
    while t < end_ms:
        if not is_paused(t):
            cut = (paused[1] - paused[0]) if paused and t >= paused[1] else 0.0
            pts = round(t - cut)
            img = frame_image(i, spec, rng)
            encoder.write(img, pts)
            frames.append({"i": i, "t": round(t, 1), "wallMs": 1_800_000_000_000 + round(t), "pts": pts})
            if t >= next_shot:
                name = f"{round(t):09d}-periodic.png"
                (files.shots_dir / name).write_bytes(encode_png(img))
                shots.append({"t": round(t, 1), "file": name, "reason": "periodic", "pts": pts})
                next_shot = t + spec.screenshot_every_s * 1000
            i += 1
        t += step
    encoder.close()

    actions = synthetic_actions(spec, rng, is_paused)
    if paused is not None:
        actions += [{"t": paused[0], "type": "pause"}, {"t": paused[1], "type": "resume"}]
        actions.sort(key=lambda a: a["t"])
    _write_jsonl(files.actions, actions)
    _write_jsonl(files.frames, frames)
    _write_jsonl(files.shots_index, shots)
    recorder = {
        "status": "stopped", "fps": round(spec.fps), "monitor": 1, "keystrokePrivacy": spec.privacy,
        "screen": {"monitor": 1, "rect": {"left": spec.left, "top": spec.top, "width": spec.width,
                                          "height": spec.height},
                   "all": [], "width": spec.width, "height": spec.height},
        "timeBase": {"clock": "monotonic", "unit": "ms", "wallOriginMs": 1_800_000_000_000, "monotonicOriginS": 1.0},
        "video": {"codec": "h264", "encoder": "libx264", "width": spec.width, "height": spec.height},
        "stoppedAtMs": end_ms,
        "droppedFrames": {"late": 0, "encoderBusy": 0, "total": 0},
        "endReason": "stopped",
    }
    meta = SessionMeta(sessionId=session_id, createdAt=1_800_000_000_000, endedAt=1_800_000_000_000 + round(end_ms),
                       videoRef="video/screen.mp4", extra={"recorder": recorder})
    ctx.sessions.save_meta(meta)
    return export_session(ctx, session_id)


def synthetic_actions(spec: Synthetic, rng: random.Random, is_paused: Any) -> list[dict[str, Any]]:
    """`spec.actions` actions spread over the session: mostly pointer moves, some clicks, keys, scrolls."""
    out: list[dict[str, Any]] = []
    times = sorted(rng.uniform(0, spec.seconds * 1000) for _ in range(spec.actions * 2))
    times = [t for t in times if not is_paused(t)][: spec.actions]
    x, y = spec.width // 2, spec.height // 2
    for t in times:
        roll = rng.random()
        x = min(spec.width - 1, max(0, x + rng.randint(-40, 40)))
        y = min(spec.height - 1, max(0, y + rng.randint(-30, 30)))
        sx, sy = x + spec.left, y + spec.top
        if roll < 0.75:
            out.append({"t": round(t, 1), "type": "mouse_move", "x": sx, "y": sy})
        elif roll < 0.83:
            kind = "mouse_down" if len(out) % 2 else "mouse_up"
            out.append({"t": round(t, 1), "type": kind, "x": sx, "y": sy, "button": "left"})
        elif roll < 0.88:
            out.append({"t": round(t, 1), "type": "scroll", "x": sx, "y": sy, "dx": 0, "dy": rng.choice([-1, 1])})
        elif spec.privacy != "none":
            kind = "key_down" if roll < 0.94 else "key_up"
            key = rng.choice("abcdefghij")
            if spec.privacy == "no_text":
                out.append({"t": round(t, 1), "type": kind, "key": "*", "masked": True})
            else:
                out.append({"t": round(t, 1), "type": kind, "key": key})
    return out


def _write_jsonl(path: Any, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, separators=(",", ":")) + "\n")
