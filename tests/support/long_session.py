"""An hour-long 1080p recording without recording for an hour, in both bundle formats.

The video is real H.264 from the recorder's own encoder (traycap.media.video.VideoEncoder,
desktop-like frames from synthetic_session.frame_image): a clip of `clip_s` seconds is encoded
once and its fragments (moof + mdat) are repeated until the video is long enough, each copy's
decode times (tfdt) and sequence numbers moved on, and the fragment index (mfra/tfra) written at
the end as the encoder writes it when it closes the file. Bytes per second, keyframe spacing and
fragment sizes are the encoder's; only the picture repeats every `clip_s` seconds.

Then the raw files of a session (actions, frame times, a periodic screenshot every
`shot_every_s`) go through the real writers: `export_session` for format 1, and the live
bundler (recorder/bundler.py, its 5-s cuts on a fake clock, as bench/live_bundler.py replays
them) for format 2. Used by bench/player.py.
"""

from __future__ import annotations

import json
import random
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.bundle_repack import top_level_boxes
from tests.support.synthetic_session import Synthetic, frame_image, synthetic_actions
from traycap.bundle.bundler import Bundler, finish_live, journal_path, live_zip_path
from traycap.bundle.export import export_session
from traycap.bundle.livezip import LiveZip
from traycap.bundle.raw import SessionFiles
from traycap.clock import FakeClock
from traycap.context import Context
from traycap.media.images import encode_png
from traycap.media.video import VideoEncoder
from traycap.models import SessionMeta

CREATED = 1_800_000_000_000


@dataclass(frozen=True)
class LongSpec:
    seconds: float = 3600.0
    fps: int = 10
    width: int = 1920
    height: int = 1080
    clip_s: float = 60.0
    actions: int = 50_000
    shot_every_s: float = 5.0
    # A square of changing pixels (a video playing in a corner of the desktop): with it the encoder
    # makes about the 9.6 MB of video per minute bench/record.py measures for a busy 1080p desktop.
    busy_px: int = 116


def encode_clip(spec: LongSpec) -> bytes:
    """`clip_s` seconds of desktop-like frames through the recorder's encoder (fragmented MP4)."""
    rng = random.Random(3)
    look = Synthetic(width=spec.width, height=spec.height)
    with tempfile.TemporaryDirectory(prefix="traycap-clip-") as tmp:
        path = Path(tmp) / "clip.mp4"
        encoder = VideoEncoder(path, spec.width, spec.height, spec.fps)
        for i in range(round(spec.clip_s * spec.fps)):
            img = frame_image(i, look, rng)
            if spec.busy_px:
                n = spec.busy_px
                patch = np.frombuffer(rng.randbytes(n * n * 4), dtype=np.uint8).reshape(n, n, 4)
                img[-n - 40: -40, -n - 40: -40] = patch
            encoder.write(img, round(i * 1000 / spec.fps))
        encoder.close()
        return path.read_bytes()


def _children(data: bytes | bytearray, start: int, end: int) -> dict[str, int]:
    """Type -> start of each box directly inside [start, end) (the first of each type)."""
    out: dict[str, int] = {}
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos: pos + 8])
        out.setdefault(kind.decode("latin-1"), pos)
        pos += size
    return out


def _timescale(init: bytes) -> int:
    at = init.find(b"mdhd") - 4
    field = at + 8 + (20 if init[at + 8] == 1 else 12)  # after version/flags and the creation/modification times
    return int(struct.unpack(">I", init[field: field + 4])[0])


def repeat_fragments(clip: bytes, seconds: float) -> bytes:
    """The clip's fragments repeated until `seconds` of video, with a fresh fragment index at the end."""
    boxes = top_level_boxes(clip)
    first = next(i for i, b in enumerate(boxes) if b[0] == "moof")
    init = clip[: boxes[first][1]]
    timescale = _timescale(init)
    frags = [(boxes[i][1], boxes[i + 1][2]) for i in range(first, len(boxes) - 1)
             if boxes[i][0] == "moof" and boxes[i + 1][0] == "mdat"]

    def tfdt_at(buf: bytes | bytearray, moof: int) -> tuple[int, int]:
        """(position of the decode time, its byte width) inside the moof at `moof`."""
        size = struct.unpack(">I", buf[moof: moof + 4])[0]
        traf = _children(buf, moof + 8, moof + size)["traf"]
        traf_size = struct.unpack(">I", buf[traf: traf + 4])[0]
        tfdt = _children(buf, traf + 8, traf + traf_size)["tfdt"]
        return tfdt + 12, 8 if buf[tfdt + 8] == 1 else 4

    def read_time(buf: bytes | bytearray, moof: int) -> int:
        at, width = tfdt_at(buf, moof)
        return int.from_bytes(buf[at: at + width], "big")

    times = [read_time(clip, a) for a, _ in frags]
    step = (times[-1] - times[0]) / max(1, len(times) - 1)
    period = round(times[-1] + step - times[0])  # the clip's length in timescale units
    copies = max(1, int(-(-seconds * timescale // period)))
    out = bytearray(init)
    index: list[tuple[int, int]] = []
    seq = 0
    for copy in range(copies):
        for (a, b), t in zip(frags, times, strict=True):
            frag = bytearray(clip[a:b])
            seq += 1
            mfhd = _children(frag, 8, struct.unpack(">I", frag[0:4])[0])["mfhd"]
            frag[mfhd + 12: mfhd + 16] = struct.pack(">I", seq)
            at, width = tfdt_at(frag, 0)
            new_time = t + copy * period
            frag[at: at + width] = new_time.to_bytes(width, "big")
            index.append((new_time, len(out)))
            out += frag
    entries = b"".join(struct.pack(">QQBBB", t, off, 1, 1, 1) for t, off in index)
    tfra = struct.pack(">I4sBxxxIII", 8 + 4 + 12 + len(entries), b"tfra", 1, 1, 0, len(index)) + entries
    mfra_size = 8 + len(tfra) + 16
    mfro = struct.pack(">I4sII", 16, b"mfro", 0, mfra_size)
    out += struct.pack(">I4s", mfra_size, b"mfra") + tfra + mfro
    return bytes(out)


def _meta(ctx: Context, sid: str, spec: LongSpec, status: str) -> None:
    recorder = {
        "status": status, "fps": spec.fps, "monitor": 1, "keystrokePrivacy": "full",
        "screen": {"monitor": 1, "rect": {"left": 0, "top": 0, "width": spec.width, "height": spec.height},
                   "all": [], "width": spec.width, "height": spec.height},
        "timeBase": {"clock": "monotonic", "unit": "ms", "wallOriginMs": CREATED, "monotonicOriginS": 1.0},
        "video": {"codec": "h264", "encoder": "libx264", "width": spec.width, "height": spec.height},
        "stoppedAtMs": spec.seconds * 1000, "droppedFrames": {"late": 0, "encoderBusy": 0, "total": 0},
        "endReason": "stopped"}
    ctx.sessions.save_meta(SessionMeta(sessionId=sid, createdAt=CREATED, videoRef="video/screen.mp4",
                                       extra={"recorder": recorder}))


def _lines(records: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)


def _records(spec: LongSpec) -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    frames = [{"i": i, "t": round(i * 1000 / spec.fps, 1), "wallMs": CREATED + round(i * 1000 / spec.fps),
               "pts": round(i * 1000 / spec.fps)} for i in range(round(spec.seconds * spec.fps))]
    look = Synthetic(seconds=spec.seconds, width=spec.width, height=spec.height, actions=spec.actions)
    actions: list[dict[str, object]] = list(synthetic_actions(look, random.Random(5), lambda t: False))
    shots = [{"t": float(t), "file": f"{t:09d}-periodic.png", "reason": "periodic", "pts": t}
             for t in range(0, round(spec.seconds * 1000), round(spec.shot_every_s * 1000))]
    return frames, actions, shots


Records = list[dict[str, object]]


def _start(ctx: Context, sid: str, spec: LongSpec, status: str) -> tuple[SessionFiles, Records, Records, Records]:
    """The session's directory and meta; its frames, actions and screenshot index, not written yet."""
    files = SessionFiles(ctx.paths.session_dir(sid))
    files.video_dir.mkdir(parents=True)
    files.shots_dir.mkdir()
    _meta(ctx, sid, spec, status)
    return (files, *_records(spec))


def build_format1(ctx: Context, sid: str, video: bytes, spec: LongSpec, shot_png: bytes) -> SessionMeta:
    """Raw files as the recorder leaves them, exported by the real export (zip, preview.jpg)."""
    files, frames, actions, shots = _start(ctx, sid, spec, "stopped")
    files.video.write_bytes(video)
    files.frames.write_bytes(_lines(frames))
    files.actions.write_bytes(_lines(actions))
    for s in shots:
        (files.shots_dir / str(s["file"])).write_bytes(shot_png)
    files.shots_index.write_bytes(_lines(shots))
    return export_session(ctx, sid)


def build_format2(ctx: Context, sid: str, video: bytes, spec: LongSpec, shot_png: bytes) -> SessionMeta:
    """The same recording written while recording: the live bundler's cuts every 5 s, then its Stop."""
    files, frames, actions, shots = _start(ctx, sid, spec, "recording")
    boxes = top_level_boxes(video)
    moofs = [b for b in boxes if b[0] == "moof"]
    clock = FakeClock()
    zf = LiveZip.create(live_zip_path(files.dir, sid), journal_path(files.dir))
    bundler = Bundler(files, zf, clock, thumbnails=True)
    files.video.write_bytes(video[: moofs[0][1]])
    cut_ms = 5000
    for k, start in enumerate(range(0, len(moofs), 5)):
        end = moofs[start + 5][1] if start + 5 < len(moofs) else len(video)
        with open(files.video, "ab") as f:
            f.write(video[moofs[start][1]: end])
        lo, hi = k * cut_ms, (k + 1) * cut_ms
        with open(files.frames, "ab") as f:
            f.write(_lines([r for r in frames if lo <= float(r["t"]) < hi]))  # type: ignore[arg-type]
        with open(files.actions, "ab") as f:
            f.write(_lines([a for a in actions if lo <= float(a["t"]) < hi]))  # type: ignore[arg-type]
        new_shots = [s for s in shots if lo <= float(s["t"]) < hi]  # type: ignore[arg-type]
        for s in new_shots:
            (files.shots_dir / str(s["file"])).write_bytes(shot_png)
        with open(files.shots_index, "ab") as f:
            f.write(_lines(new_shots))
        clock.advance(5)
        bundler.tick()
    meta = ctx.sessions.read_meta(sid)
    ctx.sessions.save_meta(meta.with_(extra={"recorder": {**meta.extra["recorder"], "status": "stopped"}}))

    finished = finish_live(ctx, sid, bundler)
    finished.remove_raw_files()
    return finished.meta


def shot_png(spec: LongSpec) -> bytes:
    return encode_png(frame_image(7, Synthetic(width=spec.width, height=spec.height), random.Random(1)))
