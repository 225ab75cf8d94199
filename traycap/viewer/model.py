"""The replay page's data, as pure functions of the bundle and the upload facts.

`page_data` returns one JSON-able dict, which the page fetches once:

    actions   column arrays (t, kind, x, y, detail): 50,000 actions stay a few
              hundred KB and the page indexes them without building objects
    frames    capture time `t` and video time `v` (seconds) of every frame: the
              page maps video time <-> recording time with a binary search
    captions  typed text, grouped into runs, masked keys kept masked
    facts     (label, value) lines, already in words
    shots     screenshots (time, member name, reason)

Pointer coordinates are turned into video pixels here (`VideoMapping`), so
the page only scales them to the size the video is shown at.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from traycap.format import human_duration, human_size, local_time

CAPTION_GAP_MS = 1500.0  # a pause longer than this between keys starts a new caption
CAPTION_HOLD_MS = 2000.0  # a caption stays on screen this long after its last key
CAPTION_MAX_CHARS = 400


class Kind(enum.IntEnum):
    """Action kinds as the page knows them (small ints in the column arrays)."""

    MOVE = 0
    DOWN = 1
    UP = 2
    SCROLL = 3
    KEY_DOWN = 4
    KEY_UP = 5
    PAUSE = 6
    RESUME = 7
    OTHER = 8


KINDS = {
    "mouse_move": Kind.MOVE, "mouse_down": Kind.DOWN, "mouse_up": Kind.UP, "scroll": Kind.SCROLL,
    "key_down": Kind.KEY_DOWN, "key_up": Kind.KEY_UP, "pause": Kind.PAUSE, "resume": Kind.RESUME,
}

# Keys shown as a symbol in a caption; other named keys appear as [name].
KEY_SYMBOLS = {
    "space": " ", "enter": "⏎", "tab": "⇥", "backspace": "⌫", "delete": "⌦", "esc": "⎋",
    "left": "←", "right": "→", "up": "↑", "down": "↓",
}
MODIFIERS = {"shift": "Shift", "ctrl": "Ctrl", "alt": "Alt", "alt_gr": "AltGr", "cmd": "Super"}


@dataclass(frozen=True)
class VideoMapping:
    """Screen coordinates (as the input listener saw them) -> video pixels.

    `rect` is the recorded monitor's area in the capture's pixels; `scale` is
    capture pixels per input unit (1 on X11; a HiDPI platform whose input
    coordinates are logical records its factor as `monitors.scale`).
    """

    left: float
    top: float
    scale: float
    width: int
    height: int

    def point(self, x: float, y: float) -> tuple[float, float] | None:
        """The video pixel under (x, y), or None when the pointer was outside the recorded area."""
        vx = x * self.scale - self.left
        vy = y * self.scale - self.top
        if 0 <= vx < self.width and 0 <= vy < self.height:
            return round(vx, 1), round(vy, 1)
        return None


def video_mapping(info: dict[str, Any]) -> VideoMapping:
    video = info.get("video") or {}
    monitors = info.get("monitors") or {}
    rect = monitors.get("rect") or {}
    width = _int(video.get("width")) or _int(monitors.get("width")) or _int(rect.get("width"))
    height = _int(video.get("height")) or _int(monitors.get("height")) or _int(rect.get("height"))
    scale = monitors.get("scale")
    return VideoMapping(
        left=float(rect.get("left") or 0), top=float(rect.get("top") or 0),
        scale=float(scale) if isinstance(scale, (int, float)) and scale > 0 else 1.0,
        width=width, height=height,
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def action_detail(action: dict[str, Any]) -> str:
    """What the action list says about one action (never more than the bundle holds)."""
    kind = action.get("type")
    if kind in ("mouse_down", "mouse_up"):
        return str(action.get("button", ""))
    if kind == "scroll":
        dx, dy = action.get("dx") or 0, action.get("dy") or 0
        parts = [("up" if dy > 0 else "down") + (f" {abs(dy)}" if abs(dy) != 1 else "")] if dy else []
        parts += [("right" if dx > 0 else "left") + (f" {abs(dx)}" if abs(dx) != 1 else "")] if dx else []
        return ", ".join(parts)
    if kind in ("key_down", "key_up"):
        return str(action.get("key", ""))
    return ""


def action_columns(actions: Iterable[dict[str, Any]], mapping: VideoMapping) -> dict[str, list[Any]]:
    """Actions as column arrays; x/y in video pixels (None when off the recorded area or not a pointer event)."""
    ts: list[float] = []
    kinds: list[int] = []
    xs: list[float | None] = []
    ys: list[float | None] = []
    details: list[str] = []
    masked: list[int] = []
    for a in actions:
        t = _num(a.get("t"))
        if t is None:
            continue
        ts.append(round(t, 1))
        kinds.append(int(KINDS.get(str(a.get("type")), Kind.OTHER)))
        x, y = _num(a.get("x")), _num(a.get("y"))
        point = mapping.point(x, y) if x is not None and y is not None else None
        xs.append(point[0] if point else None)
        ys.append(point[1] if point else None)
        details.append(action_detail(a))
        masked.append(1 if a.get("masked") else 0)
    return {"t": ts, "kind": kinds, "x": xs, "y": ys, "detail": details, "masked": masked}


@dataclass(frozen=True)
class Caption:
    start: float
    end: float  # when it leaves the screen
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


def captions(actions: Iterable[dict[str, Any]]) -> list[Caption]:
    """Typed text as a person reads it: characters as typed, masked keys as "*" (never unmasked),
    Enter/Tab/arrows as symbols, shortcuts as [Ctrl+C]; a new run after CAPTION_GAP_MS of silence or a click."""
    out: list[Caption] = []
    held: set[str] = set()
    text = ""
    start = last = 0.0
    for a in actions:
        kind = a.get("type")
        if kind == "mouse_down" and text:  # a click moves the focus: what follows is typed elsewhere
            out.append(Caption(start, last + CAPTION_HOLD_MS, text))
            text = ""
        if kind not in ("key_down", "key_up"):
            continue
        t = _num(a.get("t"))
        if t is None:
            continue
        key = str(a.get("key", ""))
        base = key.split("_")[0] if key not in MODIFIERS else key
        if base in MODIFIERS and not a.get("masked"):
            (held.add if kind == "key_down" else held.discard)(base)
            continue
        if kind == "key_up":
            continue
        piece = _caption_piece(key, bool(a.get("masked")), held)
        if text and t - last > CAPTION_GAP_MS:
            out.append(Caption(start, last + CAPTION_HOLD_MS, text))
            text = ""
        if not text:
            start = t
        text = (text + piece)[-CAPTION_MAX_CHARS:]
        last = t
    if text:
        out.append(Caption(start, last + CAPTION_HOLD_MS, text))
    return out


def _caption_piece(key: str, masked: bool, held: set[str]) -> str:
    if masked:
        return "*"
    shortcut = [MODIFIERS[m] for m in ("ctrl", "alt", "cmd") if m in held]
    if len(key) == 1:
        return f"[{'+'.join([*shortcut, key.upper()])}]" if shortcut else key
    symbol = KEY_SYMBOLS.get(key)
    if symbol is not None and not shortcut:
        return symbol
    return f"[{'+'.join([*shortcut, key.capitalize()])}]"


def frame_columns(frames: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Capture time t (ms) and video time v (s, 0 at the first frame), in frame order."""
    ts: list[float] = []
    vs: list[float] = []
    pts0: float | None = None
    for f in frames:
        t, pts = _num(f.get("t")), _num(f.get("pts"))
        if t is None or pts is None:
            continue
        if pts0 is None:
            pts0 = pts
        ts.append(round(t, 1))
        vs.append(round((pts - pts0) / 1000.0, 4))
    return {"t": ts, "v": vs}


@dataclass(frozen=True)
class UploadFacts:
    status: str  # an UploadStatus value
    uploaded_at: int | None = None
    error: str | None = None
    link_available: bool = False  # uploaded, and this process can presign a link


@dataclass(frozen=True)
class LocalCopy:
    present: bool
    size_bytes: int | None = None
    path: str | None = None


def facts(info: dict[str, Any], upload: UploadFacts, local: LocalCopy) -> list[tuple[str, str]]:
    """The facts panel, as (label, value) lines."""
    lines: list[tuple[str, str]] = []
    created = _int(info.get("createdAt"))
    if created:
        lines.append(("Recorded", local_time(created)))
    duration = _num(info.get("durationMs"))
    paused = _num(info.get("pausedMs")) or 0.0
    if duration is not None:
        extra = f" ({human_duration(int(paused))} paused)" if paused >= 1000 else ""
        lines.append(("Length", human_duration(int(duration)) + extra))
    fps = info.get("fps") or {}
    asked, got = _num(fps.get("requested")), _num(fps.get("achieved"))
    if asked is not None or got is not None:
        lines.append(("Frame rate", f"{_fmt(got)} fps achieved of {_fmt(asked)} asked"))
    dropped = info.get("droppedFrames")
    if isinstance(dropped, dict):
        total = dropped.get("total")
        parts = [f"{dropped.get('late', 0)} late", f"{dropped.get('encoderBusy', 0)} encoder busy"]
        lines.append(("Dropped frames", f"{total if total is not None else '?'} ({', '.join(parts)})"))
    counts = info.get("counts") or {}
    if counts:
        lines.append(("Actions", f"{counts.get('actions', 0):,} ({counts.get('screenshots', 0)} screenshots, "
                                 f"{counts.get('frames', 0):,} frames)"))
    video = info.get("video") or {}
    if video.get("width") and video.get("height"):
        lines.append(("Video", f"{video['width']} x {video['height']} {video.get('codec', '')}".rstrip()))
    privacy = info.get("keystrokePrivacy")
    if privacy:
        lines.append(("Keystrokes", {"full": "recorded as typed", "no_text": "letters and digits masked",
                                     "none": "not recorded"}.get(str(privacy), str(privacy))))
    if local.present:
        lines.append(("Size", human_size(local.size_bytes)))
    else:
        lines.append(("Local copy", "deleted after upload" if upload.status == "done" else "missing"))
    lines.append(("Upload", _upload_text(upload)))
    end = info.get("endReason")
    if end and end != "stopped":
        lines.append(("Ended", str(end)))
    if info.get("recovered"):
        lines.append(("Recovered", "after a crash"))
    return lines


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def _upload_text(upload: UploadFacts) -> str:
    text = {"not_uploaded": "not uploaded", "pending": "waiting to upload", "uploading": "uploading",
            "done": "uploaded", "failed": "failed"}.get(upload.status, upload.status)
    if upload.status == "done" and upload.uploaded_at:
        text += f" {local_time(upload.uploaded_at)}"
    if upload.status == "failed" and upload.error:
        text += f": {upload.error}"
    return text


def info_from_meta(meta_json: dict[str, Any]) -> dict[str, Any]:
    """session.json's facts rebuilt from session-meta.json, for a session whose zip is gone."""
    rec = meta_json.get("recorder") or {}
    return {
        "sessionId": meta_json.get("sessionId"),
        "createdAt": meta_json.get("createdAt"),
        "durationMs": meta_json.get("durationMs"),
        "fps": {"requested": rec.get("fps"), "achieved": meta_json.get("fpsAchieved")},
        "droppedFrames": rec.get("droppedFrames"),
        "counts": {"actions": meta_json.get("actionCount", 0), "screenshots": meta_json.get("screenshotCount", 0),
                   "frames": meta_json.get("frameCount", 0)},
        "video": rec.get("video"),
        "monitors": rec.get("screen"),
        "keystrokePrivacy": rec.get("keystrokePrivacy"),
        "endReason": rec.get("endReason"),
        "recovered": bool(rec.get("recovered", False)),
    }


def page_data(session_id: str, info: dict[str, Any], actions: list[dict[str, Any]], frames: list[dict[str, Any]],
              shots: list[dict[str, Any]], upload: UploadFacts, local: LocalCopy,
              *, has_video: bool = True) -> dict[str, Any]:
    """Everything the page shows, in one JSON-able dict."""
    mapping = video_mapping(info)
    duration = _num(info.get("durationMs"))
    action_times = [t for t in (_num(a.get("t")) for a in actions) if t is not None]
    frame_times = [t for t in (_num(f.get("t")) for f in frames) if t is not None]
    end = duration if duration is not None else max([0.0, *action_times[-1:], *frame_times[-1:]])
    notice = None
    if not local.present:
        notice = ("The local copy of this session was deleted after it was uploaded; it is kept in the bucket."
                  if upload.status == "done" else "The session's zip is missing on this machine.")
    return {
        "sessionId": session_id,
        "title": f"Session {session_id}",
        "start": 0.0,
        "end": end,
        "privacy": info.get("keystrokePrivacy") or "full",
        "video": {"url": "video.mp4" if local.present and has_video else None,
                  "width": mapping.width, "height": mapping.height},
        "frames": frame_columns(frames) if local.present else {"t": [], "v": []},
        "actions": action_columns(actions, mapping),
        "captions": [c.to_json() for c in captions(actions)],
        "shots": [{"t": _num(s.get("t")) or 0.0, "file": str(s["file"]), "reason": str(s.get("reason", ""))}
                  for s in shots if s.get("file")],
        "facts": [list(line) for line in facts(info, upload, local)],
        "upload": {"status": upload.status, "link": upload.link_available},
        "notice": notice,
    }
