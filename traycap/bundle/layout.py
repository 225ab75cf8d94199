"""Names inside a bundle zip, format 1 (written at Stop) and format 2 (written while recording).

Format 1 (export.py, sessions recorded without upload-while-recording, and all older bundles):

    session.json, actions.json, video/screen.mp4, video/frames.json,
    screenshots/<t>-<reason>.png, screenshots/index.json, preview.jpg,
    video/levels.json (a recording with sound: its loudness)

Format 2 (the live bundle, appended to while recording; every entry is written once, whole,
and never changed; the central directory is written at Stop):

    video/screen/00000.mp4        the fragmented MP4's first boxes (ftyp + moov)   stored
    video/screen/NNNNN.m4s        complete top-level boxes that followed (moof+mdat pairs;
                                  the trailing mfra, if any, in the last one)        stored
    screenshots/<t>-<reason>.png  as in format 1                                     stored
    actions/NNNNN.jsonl           complete lines of actions.jsonl, in order           deflate
    video/frames/NNNNN.jsonl      complete lines of frames.jsonl, in order            deflate
    video/levels/NNNNN.jsonl      complete lines of levels.jsonl (a recording with sound) deflate
    screenshots/index/NNNNN.jsonl complete lines of the screenshot index, in order    deflate
    preview.jpg                   at Stop                                             stored
    session.json                  at Stop, last entry; formatVersion 2                deflate

Concatenating `video/screen/*` in name order gives the recorder's screen.mp4 byte for byte;
concatenating the chunks of one kind in name order gives its JSON lines. Entries of different
kinds interleave in the order they became complete. NNNNN counts from 00000 per kind.
"""

from __future__ import annotations

FORMAT_CLASSIC = 1
FORMAT_LIVE = 2

# the action records (docs/bundle-format.md): inputs, and the markers the recorder writes between them
INPUT_TYPES = frozenset({"mouse_move", "mouse_down", "mouse_up", "scroll", "key_down", "key_up"})
MARKER_TYPES = frozenset({"pause", "resume"})

SESSION_JSON = "session.json"
PREVIEW_JPG = "preview.jpg"
SHOTS_PREFIX = "screenshots/"

# format 1
ACTIONS_JSON = "actions.json"
VIDEO_MP4 = "video/screen.mp4"
FRAMES_JSON = "video/frames.json"
LEVELS_JSON = "video/levels.json"
SHOTS_INDEX_JSON = "screenshots/index.json"

# format 2
VIDEO_SEGMENTS = "video/screen/"
ACTIONS_CHUNKS = "actions/"
FRAMES_CHUNKS = "video/frames/"
LEVELS_CHUNKS = "video/levels/"
SHOTS_INDEX_CHUNKS = "screenshots/index/"


def video_segment(n: int) -> str:
    return f"{VIDEO_SEGMENTS}{n:05d}.mp4" if n == 0 else f"{VIDEO_SEGMENTS}{n:05d}.m4s"


def chunk(prefix: str, n: int) -> str:
    return f"{prefix}{n:05d}.jsonl"
