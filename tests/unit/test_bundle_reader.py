"""traycap/bundle/reader.py: one model from a format-1 bundle and from its format-2 twin
(re-packed by tests/support/bundle_repack.py: video split at MP4 box boundaries, arrays as jsonl chunks)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.support.bundle_repack import Repacked, repack_v2, split_mp4, top_level_boxes
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from traycap.bundle import layout
from traycap.bundle.reader import ACTIONS, BundleZip, detect_format, pread
from traycap.context import Context
from traycap.errors import CorruptFile
from traycap.viewer.bundle import BundleReader, SliceChain

SPEC = Synthetic(seconds=6, fps=4, width=320, height=180, actions=120, screenshot_every_s=2)


@pytest.fixture
def twins(ctx: Context, tmp_path: Path) -> tuple[Path, Repacked]:
    meta = make_synthetic_session(ctx, "s-twin", SPEC)
    v1 = ctx.sessions.zip_path(meta)
    return v1, repack_v2(v1, tmp_path / "v2.zip", lines_per_chunk=17)


def test_the_repacker_splits_at_box_boundaries_and_keeps_every_byte(twins: tuple[Path, Repacked]) -> None:
    _, v2 = twins
    assert b"".join(v2.segments) == v2.video
    kinds = [k for k, _, _ in top_level_boxes(v2.video)]
    assert kinds[:2] == ["ftyp", "moov"]
    assert [k for k, _, _ in top_level_boxes(v2.segments[0])] == ["ftyp", "moov"]
    for seg in v2.segments[1:]:
        assert [k for k, _, _ in top_level_boxes(seg)][:2] == ["moof", "mdat"]
    assert len(v2.segments) >= 4  # one fragment a second
    assert v2.members[-1] == layout.SESSION_JSON and v2.members[0] == layout.video_segment(0)
    assert len(split_mp4(v2.video, pairs_per_segment=3)) < len(v2.segments)
    with zipfile.ZipFile(v2.path) as zf:
        assert all(i.flag_bits & 0x08 for i in zf.infolist())  # data descriptors, as LiveZip writes


def test_both_formats_give_the_same_model(twins: tuple[Path, Repacked]) -> None:
    v1, v2 = twins
    with BundleZip(v1) as a, BundleZip(v2.path) as b:
        one, two = a.model(), b.model()
        assert (one.format, two.format) == (layout.FORMAT_CLASSIC, layout.FORMAT_LIVE)
        assert {k: v for k, v in two.info.items() if k != "formatVersion"} == \
               {k: v for k, v in one.info.items() if k != "formatVersion"}
        assert two.actions == one.actions and len(one.actions) > 17 * 3
        assert two.frames == one.frames and len(one.frames) > 17
        assert two.shots == one.shots and len(one.shots) == 3
        assert two.shot_members == one.shot_members and len(one.shot_members) == 3
        assert one.preview == two.preview == layout.PREVIEW_JPG
        assert one.video == (layout.VIDEO_MP4,)
        assert two.video == tuple(layout.video_segment(k) for k in range(len(v2.segments)))
        assert len(a.record_members(ACTIONS)) == 1 and len(b.record_members(ACTIONS)) > 3
        # The video, as byte ranges of the zip file: one range, or one per segment; same bytes.
        ranges1, ranges2 = a.video_ranges(), b.video_ranges()
        assert ranges1 is not None and ranges2 is not None
        assert len(ranges1) == 1 and len(ranges2) == len(v2.segments)
        assert one.video_ranges == ranges1 and two.video_ranges == ranges2
        for bundle, ranges in ((a, ranges1), (b, ranges2)):
            assert b"".join(pread(bundle.fd, n, off) for off, n in ranges) == v2.video
            assert bundle.video_size() == len(v2.video)
            assert b"".join(bundle.iter_bytes(bundle.video_members(), chunk=999)) == v2.video
        for name in one.shot_members.values():
            assert a.read(name) == b.read(name)


def test_the_viewer_reads_a_segmented_video_as_one_file(twins: tuple[Path, Repacked], tmp_path: Path) -> None:
    v1, v2 = twins
    video = v2.video
    bounds = [sum(len(s) for s in v2.segments[:k]) for k in range(1, len(v2.segments))]
    with BundleReader(v2.path, tmp_path / "cache") as bundle, bundle.open_video() as window:
        assert isinstance(window, SliceChain) and window.size == len(video)
        for b in bounds:  # spans across each segment boundary, and ending/starting exactly on it
            for start, n in ((b - 5, 10), (b - 1, 1), (b, 7), (b - 3, 3), (max(0, b - 300), 10_000)):
                assert window.read_span(start, n) == video[start: start + n], (b, start, n)
        assert window.read_span(bounds[0] - 10, len(video)) == video[bounds[0] - 10:]
        assert window.read_span(len(video), 10) == b"" and window.read_span(len(video) - 3, 10) == video[-3:]
        window.seek(bounds[1] - 2)
        assert window.read(5) == video[bounds[1] - 2: bounds[1] + 3]
        window.seek(-20, io.SEEK_END)
        assert window.read() == video[-20:]
        window.seek(0)
        assert io.BufferedReader(window, 4096).read() == video
    with BundleReader(v1) as bundle, bundle.open_video() as window:
        assert window.read_span(0, len(video) + 1) == video


def test_compressed_segments_are_extracted_and_chained(twins: tuple[Path, Repacked], tmp_path: Path) -> None:
    _, v2 = twins
    other = tmp_path / "deflated.zip"
    with zipfile.ZipFile(v2.path) as src, zipfile.ZipFile(other, "w") as dst:
        for i in src.infolist():
            dst.writestr(i.filename, src.read(i), compress_type=zipfile.ZIP_DEFLATED)
    cache = tmp_path / "cache"
    with BundleReader(other, cache) as bundle:
        assert bundle.zip.video_ranges() is None
        with bundle.open_video() as window:
            assert window.read_span(0, len(v2.video)) == v2.video
            b = len(v2.segments[0])
            assert window.read_span(b - 4, 8) == v2.video[b - 4: b + 4]
    assert len(list(cache.iterdir())) == len(v2.segments)


def test_format_detection(tmp_path: Path) -> None:
    seg = frozenset({"video/screen/00000.mp4", "actions/00000.jsonl"})
    assert detect_format(seg, {}) == layout.FORMAT_LIVE
    assert detect_format(seg, {"formatVersion": 1}) == layout.FORMAT_CLASSIC
    assert detect_format(frozenset({"video/screen.mp4"}), {}) == layout.FORMAT_CLASSIC
    assert detect_format(frozenset(), {"formatVersion": 2}) == layout.FORMAT_LIVE
    assert detect_format(frozenset({"session.json"}), {}) == layout.FORMAT_CLASSIC


def test_jsonl_chunks_concatenate_and_skip_garbled_lines(tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps({"formatVersion": 2}))
        zf.writestr("actions/00001.jsonl", '{"t":3}\n')
        zf.writestr("actions/00000.jsonl", '{"t":1}\nnot json\n\n[1]\n{"t":2}\n')
        zf.writestr("actions/nested/00000.jsonl", '{"t":99}\n')
        zf.writestr("screenshots/index/00000.jsonl", '{"t":1,"file":"a.png"}\n{"t":2,"file":"gone.png"}\n')
        zf.writestr("screenshots/a.png", b"png")
    with BundleZip(path) as bundle:
        model = bundle.model()
    assert model.actions == [{"t": 1}, {"t": 2}, {"t": 3}]
    assert model.frames == [] and model.video == () and model.preview is None
    assert model.shots == [{"t": 1, "file": "a.png"}] and model.shot_members == {"a.png": "screenshots/a.png"}


def test_a_bad_format_1_member_or_a_non_zip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", "{}")
        zf.writestr("actions.json", "[1, {")
    with BundleZip(path) as bundle, pytest.raises(CorruptFile, match=r"actions\.json"):
        bundle.model()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(os.urandom(100))
    with pytest.raises(CorruptFile, match="not a readable zip"):
        BundleZip(bad)


def test_chains_share_the_segment_slices_and_one_closing_leaves_the_others(
        twins: tuple[Path, Repacked], tmp_path: Path) -> None:
    _, v2 = twins
    with BundleReader(v2.path) as bundle:
        first, second = bundle.open_video(), bundle.open_video()
        assert first.read_span(0, 100) == v2.video[:100]
        first.close()
        assert first.closed and not second.closed
        assert second.read_span(len(v2.segments[0]) - 2, 4) == v2.video[len(v2.segments[0]) - 2:][:4]
        second.close()
        with bundle.open_video() as third:
            assert third.read_span(0, len(v2.video)) == v2.video


def test_the_test_harness_reads_both_formats_alike(twins: tuple[Path, Repacked], tmp_path: Path) -> None:
    from tests.support.recording import read_bundle

    v1, v2 = twins
    a, b = read_bundle(v1), read_bundle(v2.path)
    assert (a.actions, a.frames, a.shots) == (b.actions, b.frames, b.shots)
    assert b.extract("video/screen.mp4", tmp_path).read_bytes() == v2.video


def test_segments_and_chunks_go_by_their_number(tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps({"formatVersion": 2}))
        for n in (100000, 2, 99999, 0, 1):
            zf.writestr(layout.video_segment(n), f"<{n}>", compress_type=zipfile.ZIP_STORED)
            zf.writestr(layout.chunk(layout.ACTIONS_CHUNKS, n), json.dumps({"n": n}) + "\n")
    with BundleZip(path) as bundle:
        assert b"".join(bundle.iter_bytes(bundle.video_members())) == b"<0><1><2><99999><100000>"
        assert [a["n"] for a in bundle.model().actions] == [0, 1, 2, 99999, 100000]
