"""`traycap view --sheet` on a format-2 (live) bundle: the same frames as from the format-1 bundle it
was re-packed from (the segments read as one video); a bundle without video has no sheet. How the
page plays either format is tests/integration/test_viewer_browser_live.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

from PIL import Image, ImageChops

from tests.integration.test_viewer_server import traycap
from tests.support.bundle_repack import Repacked, repack_v2
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from traycap.context import Context

SPEC = Synthetic(seconds=8, fps=4, width=640, height=360, actions=200, screenshot_every_s=2, pause=(3, 4))


def _swap_in_v2(ctx: Context, session_id: str, tmp_path: Path) -> tuple[Path, Repacked]:
    """The session's zip replaced by its format-2 twin; returns (the format-1 copy, the twin)."""
    zip_path = ctx.sessions.zip_path(ctx.sessions.read_meta(session_id))
    v1 = tmp_path / "v1.zip"
    v1.write_bytes(zip_path.read_bytes())
    v2 = repack_v2(v1, tmp_path / "v2.zip", lines_per_chunk=40)
    zip_path.write_bytes(v2.path.read_bytes())
    return v1, v2


def test_sheet_of_a_live_bundle_is_the_sheet_of_its_format_1_twin(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-sheet", SPEC)
    one = tmp_path / "one.png"
    done = traycap(home, "view", meta.sessionId, "--sheet", str(one))
    assert done.returncode == 0, done.stderr
    _swap_in_v2(ctx, meta.sessionId, tmp_path)
    two = tmp_path / "two.png"
    done = traycap(home, "view", meta.sessionId, "--sheet", str(two))
    assert done.returncode == 0, done.stderr
    a, b = Image.open(one).convert("RGB"), Image.open(two).convert("RGB")
    assert a.size == b.size
    assert ImageChops.difference(a, b).getbbox() is None  # the same frames, decoded from the segments


def test_a_live_bundle_without_video_has_no_sheet(ctx: Context, home: Path, tmp_path: Path) -> None:
    meta = make_synthetic_session(ctx, "s-novideo", Synthetic(seconds=3, fps=2, width=320, height=180, actions=20))
    zip_path = ctx.sessions.zip_path(meta)
    _, v2 = _swap_in_v2(ctx, meta.sessionId, tmp_path)
    with zipfile.ZipFile(v2.path) as src, zipfile.ZipFile(zip_path, "w") as dst:
        for info in src.infolist():
            if not info.filename.startswith("video/screen/"):
                dst.writestr(info.filename, src.read(info))
    done = traycap(home, "view", meta.sessionId, "--sheet", str(tmp_path / "x.png"))
    assert done.returncode == 1 and "holds no video" in done.stderr
