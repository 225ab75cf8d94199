"""traycap/viewer/bundle.py: members read straight from the zip (stored: a byte slice; deflated: the cache)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from traycap.errors import CorruptFile
from traycap.viewer.bundle import BundleReader


def make_zip(path: Path, video: bytes, *, video_compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("session.json", json.dumps({"sessionId": "s1"}))
        zf.writestr("actions.json", json.dumps([{"t": 1, "type": "mouse_move", "x": 1, "y": 2}, "junk"]))
        zf.writestr("video/screen.mp4", video, compress_type=video_compression)
        zf.writestr("video/frames.json", json.dumps([{"i": 0, "t": 1, "pts": 1}]))
        zf.writestr("screenshots/000000001-periodic.png", b"png", compress_type=zipfile.ZIP_STORED)
        zf.writestr("screenshots/index.json", json.dumps([
            {"t": 1, "file": "000000001-periodic.png"}, {"t": 2, "file": "missing.png"}]))
    return path


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_member_reads_like_a_file_with_seek_and_spans(tmp_path: Path, compression: int) -> None:
    video = os.urandom(300_000)
    cache = tmp_path / "cache"
    zip_path = make_zip(tmp_path / "b.zip", video, video_compression=compression)
    with BundleReader(zip_path, cache) as bundle, bundle.open_member("video/screen.mp4") as member:
        assert member.size == len(video)
        assert member.read_span(1000, 10) == video[1000:1010]
        assert member.read_span(len(video) - 5, 100) == video[-5:]
        member.seek(-20, io.SEEK_END)
        assert member.read() == video[-20:]
        member.seek(123)
        assert io.BufferedReader(member).read(7) == video[123:130]
    # Only a compressed member needed the cache.
    assert (cache.exists() and any(cache.iterdir())) == (compression == zipfile.ZIP_DEFLATED)


def test_data_keeps_good_records_and_screenshots_that_are_in_the_zip(tmp_path: Path) -> None:
    with BundleReader(make_zip(tmp_path / "b.zip", b"v")) as bundle:
        data = bundle.data()
    assert data.info == {"sessionId": "s1"}
    assert data.actions == [{"t": 1, "type": "mouse_move", "x": 1, "y": 2}]
    assert [s["file"] for s in data.shots] == ["000000001-periodic.png"]


def test_a_file_that_is_not_a_zip_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(CorruptFile, match="not a readable zip"):
        BundleReader(bad)


def test_a_member_that_is_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", "{broken")
    with BundleReader(path) as bundle, pytest.raises(CorruptFile, match=r"session\.json"):
        bundle.data()
