"""The replay page as ONE self-contained HTML document: its CSS and JavaScript inline.

One file is what a bucket can serve as one object (the share link's player) and what
`traycap view` serves on 127.0.0.1, so both run the same code. The page's parts are package
data in traycap/viewer/page/: `index.html` (a template), `viewer.css`, and the scripts in
JS_FILES order, wrapped in one function scope. The bundle's member names are written into
the page from traycap/bundle/layout.py, so they are defined once.

The Content-Security-Policy (a <meta> in the page, so the bucket copy carries it too) allows
the inline script and style by their SHA-256 only, and every request, image and video to
the page's own origin (the zip's presigned URL shares it) and to the blob: URLs the page
makes of what it read: nothing can be loaded from anywhere else, even by mistake.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from dataclasses import dataclass
from importlib import resources

from traycap import __version__
from traycap.bundle import layout

JS_FILES = ("model.js", "zipread.js", "mp4.js", "bundle.js", "video.js", "viewer.js")
LAYOUT_NAMES = (
    "FORMAT_CLASSIC", "FORMAT_LIVE", "SESSION_JSON", "PREVIEW_JPG", "SHOTS_PREFIX", "ACTIONS_JSON", "VIDEO_MP4",
    "FRAMES_JSON", "SHOTS_INDEX_JSON", "VIDEO_SEGMENTS", "ACTIONS_CHUNKS", "FRAMES_CHUNKS", "SHOTS_INDEX_CHUNKS",
    "LEVELS_JSON", "LEVELS_CHUNKS",
)
LOCAL_BODY = b'<body data-host="local">'  # `traycap view`: the page's own server, not a bucket


@dataclass(frozen=True)
class Page:
    html: bytes
    csp: str
    sha256: str  # of `html`, hex
    version: str  # traycap's version and the page's own hash: a new page is a new object in the bucket


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def csp_for(script: str, style: str) -> str:
    return ("default-src 'none'; "
            f"script-src {_hash(script)}; style-src {_hash(style)}; "
            "img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'")


@functools.cache
def build() -> Page:
    root = resources.files("traycap.viewer").joinpath("page")
    template = root.joinpath("index.html").read_text(encoding="utf-8")
    style = root.joinpath("viewer.css").read_text(encoding="utf-8")
    constants = {name: getattr(layout, name) for name in LAYOUT_NAMES}
    parts = [root.joinpath(name).read_text(encoding="utf-8") for name in JS_FILES]
    script = ('"use strict";\n(function () {\n'
              f"const LAYOUT = {json.dumps(constants, sort_keys=True)};\n"
              + "\n".join(parts) + "\n})();\n")
    if "</script" in script.lower() or "</style" in style.lower():
        raise ValueError("the page's script or style would end its own element")
    csp = csp_for(script, style)
    html = (template.replace("{{CSP}}", csp).replace("{{CSS}}", style).replace("{{JS}}", script)).encode("utf-8")
    digest = hashlib.sha256(html).hexdigest()
    return Page(html=html, csp=csp, sha256=digest, version=f"{__version__}-{digest[:12]}")


def local_html() -> bytes:
    """The page as `traycap view` serves it: the same bytes, marked as served by traycap itself."""
    return build().html.replace(b"<body>", LOCAL_BODY, 1)
