"""bundle/one_copy.py on a format-2 (live) bundle: each raw file is removed only when the zip holds
it — screen.mp4 against its segments concatenated, the .jsonl files against their chunks' records,
each PNG against its member — and dedup_exported at start-up does the same after the SHA-256 check."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.support.bundle_repack import repack_v2, write_raw_files
from tests.support.raw_sessions import raw_snapshot
from tests.support.synthetic_session import Synthetic, make_synthetic_session
from traycap.bundle.one_copy import Taken, dedup_exported, file_sha256, remove_raw_files
from traycap.bundle.raw import SessionFiles
from traycap.bundle.reader import BundleZip
from traycap.context import Context

SPEC = Synthetic(seconds=5, fps=4, width=320, height=180, actions=60, screenshot_every_s=2)
SID = "20270101-090000-aaaaaa"


@pytest.fixture
def live(ctx: Context, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A session exported as format 1, its zip replaced by the format-2 twin (meta updated to match),
    its raw files back on disk: what a live recording leaves at Stop before one-copy runs."""
    meta = make_synthetic_session(ctx, SID, SPEC)
    zip_path = ctx.sessions.zip_path(meta)
    directory = ctx.paths.session_dir(SID)
    assert raw_snapshot(directory) == {}
    raw = write_raw_files(zip_path, directory)
    repack_v2(zip_path, tmp_path / "v2.zip", lines_per_chunk=7).path.replace(zip_path)
    sha, size = file_sha256(zip_path)
    ctx.sessions.save_meta(meta.with_(sha256=sha, fileSizeBytes=size))
    assert set(raw_snapshot(directory)) == set(raw) and len(raw) == 4 + 3
    return zip_path, raw


def test_every_raw_file_the_live_zip_holds_is_removed(ctx: Context, live: tuple[Path, dict[str, bytes]]) -> None:
    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    steps: list[str] = []
    freed = remove_raw_files(zip_path, SessionFiles(directory), checkpoint=steps.append)
    assert raw_snapshot(directory) == {}
    assert freed == sum(len(b) for b in raw.values())
    assert steps[:4] == ["removed:video/screen/", "removed:video/frames/", "removed:actions/",
                         "removed:screenshots/index/"]
    assert sorted(steps[4:]) == sorted(f"removed:{n}" for n in raw if n.endswith(".png"))
    assert not (directory / "video").exists() and not (directory / "screenshots").exists()


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_raw_file_that_differs_from_the_zip_is_kept(ctx: Context, live: tuple[Path, dict[str, bytes]],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    _flip(directory / "video/screen.mp4", len(raw["video/screen.mp4"]) // 2)  # same size, other bytes
    with open(directory / "actions.jsonl", "a") as fh:  # a line the zip does not have
        fh.write(json.dumps({"t": 1e9, "type": "mouse_move", "x": 1, "y": 1}) + "\n")
    frames = (directory / "video/frames.jsonl").read_bytes().splitlines(keepends=True)
    (directory / "video/frames.jsonl").write_bytes(b"".join(frames[:-1]))  # one line fewer
    shot = next(n for n in raw if n.endswith(".png"))
    _flip(directory / shot, 100)
    remove_raw_files(zip_path, SessionFiles(directory))
    assert set(raw_snapshot(directory)) == {"video/screen.mp4", "actions.jsonl", "video/frames.jsonl", shot}
    kept = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "it is kept" in r.getMessage()]
    assert len(kept) == 4 and any(shot.split("/")[-1] in m for m in kept)  # a real mismatch still warns


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_raw_file_gone_before_its_check_is_no_warning(ctx: Context, live: tuple[Path, dict[str, bytes]],
                                                        caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 24: files listed and then removed by someone else (retention of an upload verified
    meanwhile) were reported as "could not compare ... No such file" and "not in the zip; kept"."""
    from traycap.bundle import one_copy

    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    files = SessionFiles(directory)
    with BundleZip(zip_path) as bundle:
        listed = one_copy.raw_files(files, bundle.format)
    gone = [n for n in raw if n.endswith(".png")][:2]
    for name in gone:
        (directory / name).unlink()
    monkeypatch.setattr(one_copy, "raw_files", lambda f, fmt=1: listed)
    freed = remove_raw_files(zip_path, files)
    assert raw_snapshot(directory) == {} and freed == sum(len(b) for n, b in raw.items() if n not in gone)
    assert _warnings(caplog) == []


def test_what_the_live_bundle_took_is_removed_without_reading_it_again(
        ctx: Context, live: tuple[Path, dict[str, bytes]], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from traycap.bundle import one_copy

    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    kinds = {"video/screen.mp4": "video", "actions.jsonl": "actions", "video/frames.jsonl": "frames",
             "screenshots/index.jsonl": "shots_index"}
    taken = Taken({kinds[n]: len(b) for n, b in raw.items() if n in kinds},
                  {n.split("/")[-1]: len(b) for n, b in raw.items() if n.endswith(".png")})
    stale = next(n for n in raw if n.endswith(".png"))
    (directory / stale).write_bytes(raw[stale] + b"x")  # changed after the bundle took it: compared, kept
    compared: list[str] = []
    real = one_copy._held_by
    monkeypatch.setattr(one_copy, "_held_by", lambda bundle, r: compared.append(r.path.name) or real(bundle, r))
    remove_raw_files(zip_path, SessionFiles(directory), taken=taken)
    assert set(raw_snapshot(directory)) == {stale}
    assert compared == [stale.split("/")[-1]]  # everything else by its size alone
    assert [m for m in _warnings(caplog) if "it is kept" in m] == [f"{directory / stale} is not in {zip_path.name} "
                                                                    "as it is on disk; it is kept"]


def test_jsonl_lines_are_compared_as_records_not_bytes(ctx: Context, live: tuple[Path, dict[str, bytes]]) -> None:
    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    records = [json.loads(line) for line in raw["actions.jsonl"].splitlines()]
    (directory / "actions.jsonl").write_text("".join(json.dumps(r, indent=None) + "\n" for r in records)
                                             + '{"t": 5, "type": "mouse_mo')  # spaces, and a torn last line
    remove_raw_files(zip_path, SessionFiles(directory))
    assert raw_snapshot(directory) == {}


def test_dedup_at_start_up_handles_a_live_zip_once_it_verifies(
        ctx: Context, live: tuple[Path, dict[str, bytes]]) -> None:
    zip_path, raw = live
    directory = ctx.paths.session_dir(SID)
    _flip(zip_path, 200)
    report = dedup_exported(ctx)
    assert SID in report.kept and set(raw_snapshot(directory)) == set(raw)
    _flip(zip_path, 200)
    report = dedup_exported(ctx)
    assert report.deduped == {SID: sum(len(b) for b in raw.values())} and not report.kept
    assert raw_snapshot(directory) == {}


def test_a_jsonl_file_without_records_needs_no_chunk(ctx: Context, tmp_path: Path) -> None:
    import zipfile

    directory = ctx.paths.session_dir(SID)
    directory.mkdir(parents=True)
    (directory / "actions.jsonl").write_bytes(b"")  # nothing was done during the recording
    (directory / "video").mkdir()
    (directory / "video/frames.jsonl").write_bytes(b'{"i":0,"t":1,"pts":0}\n')
    zip_path = tmp_path / "b.zip"
    with zipfile.ZipFile(zip_path, "w") as zf:
        zf.writestr("video/frames/00000.jsonl", '{"i":0,"t":1,"pts":0}\n')
        zf.writestr("session.json", json.dumps({"formatVersion": 2}))
    remove_raw_files(zip_path, SessionFiles(directory))
    assert raw_snapshot(directory) == {}
