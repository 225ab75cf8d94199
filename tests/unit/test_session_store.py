"""Session store: listing, tolerance of bad files, and the orphan-cleanup rule of docs/design.md."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from tests.support.platforms import posix_only
from tests.support.sessions import CORRUPT, make_session_dir, set_tree_mtime
from traycap.context import Context
from traycap.errors import CorruptFile, SessionNotFound
from traycap.models import SessionMeta, UploadState, UploadStatus
from traycap.paths import META_FILE, STATE_FILE
from traycap.storage.atomic import TMP_PREFIX, write_json_atomic
from traycap.storage.session_store import ORPHAN_AGE_MS

HOUR = 3600 * 1000
NOW = 1_800_000_000_000


def test_list_newest_first_with_state(ctx: Context) -> None:
    p = ctx.paths
    make_session_dir(p, "old", created_ms=NOW - 3 * HOUR, state=UploadStatus.DONE, exported=True)
    make_session_dir(p, "new", created_ms=NOW - 1 * HOUR)
    mid = make_session_dir(p, "mid", created_ms=NOW - 2 * HOUR, state=UploadStatus.UPLOADING, exported=True)
    write_json_atomic(mid / STATE_FILE, UploadState(
        "mid", UploadStatus.UPLOADING, 1, 2, bytesUploaded=30, totalBytes=120, lastError="reset", retryCount=2,
    ).to_json())

    listing = ctx.sessions.list()

    assert [i.sessionId for i in listing.items] == ["new", "mid", "old"]
    assert listing.problems == []
    new, mid_item, old = listing.items
    assert (new.uploadStatus, new.isExported, new.zipPath, new.uploadProgress) == (
        UploadStatus.NOT_UPLOADED, False, None, 0)
    assert (mid_item.uploadStatus, mid_item.uploadProgress, mid_item.lastUploadError, mid_item.retryCount) == (
        UploadStatus.UPLOADING, 25, "reset", 2)
    assert mid_item.zipPath == str(p.session_dir("mid") / "mid.zip")
    assert (old.uploadStatus, old.uploadProgress, old.actionCount, old.endedAt) == (
        UploadStatus.DONE, 100, 3, NOW - 3 * HOUR + 60_000)
    assert ctx.sessions.item("mid") == mid_item


def test_empty_and_missing_sessions_dir(ctx: Context) -> None:
    assert ctx.sessions.list().items == []
    os.rmdir(ctx.paths.sessions)
    assert ctx.sessions.list().items == []
    assert ctx.states.scan() == []


BAD_CONTENT = {
    "empty": b"",
    "truncated": b'{"sessionId": "bad", "createdAt": 17000',
    "wrong-type": b'{"sessionId": "bad", "createdAt": "yesterday", "status": "pending", "updatedAt": true}',
    "not-utf8": b'{"sessionId": "b\xe9d"}',
    "array": b"[1, 2]",
    "null": b"null",
    "unknown-status": b'{"sessionId": "bad", "status": "paused", "createdAt": 1, "updatedAt": 1}',
}


@pytest.mark.parametrize(
    ("which", "kind"),
    [(f, k) for f in (META_FILE, STATE_FILE) for k in sorted(BAD_CONTENT) if (f, k) != (META_FILE, "unknown-status")],
)
def test_one_bad_file_is_reported_and_others_still_list(ctx: Context, which: str, kind: str) -> None:
    p = ctx.paths
    make_session_dir(p, "good1", created_ms=NOW - HOUR, state=UploadStatus.DONE, exported=True)
    bad = make_session_dir(p, "bad", created_ms=NOW - 2 * HOUR, state=UploadStatus.PENDING, exported=True)
    make_session_dir(p, "good2", created_ms=NOW - 3 * HOUR)
    (bad / which).write_bytes(BAD_CONTENT[kind])

    listing = ctx.sessions.list()

    assert [i.sessionId for i in listing.items if i.problem is None] == ["good1", "good2"]
    bad_item = next(i for i in listing.items if i.sessionId == "bad")
    assert bad_item.problem is not None and str(bad / which) in bad_item.problem
    assert len(listing.problems) == 1 and listing.problems[0].startswith("session bad: ")
    if which == STATE_FILE:
        assert bad_item.createdAt == NOW - 2 * HOUR  # the meta still counts
        scanned = {s.sessionId: s for s in ctx.states.scan()}
        assert scanned["bad"].state is None and isinstance(scanned["bad"].error, CorruptFile)
        assert scanned["good1"].state is not None and scanned["good1"].state.status is UploadStatus.DONE
        with pytest.raises(CorruptFile):
            ctx.states.read("bad")
    else:
        with pytest.raises(CorruptFile) as info:
            ctx.sessions.read_meta("bad")
        assert info.value.path == str(bad / META_FILE)


def test_meta_of_another_session_is_reported(ctx: Context) -> None:
    d = make_session_dir(ctx.paths, "copy", created_ms=NOW)
    write_json_atomic(d / META_FILE, SessionMeta("original", NOW).to_json())
    item = ctx.sessions.item("copy")
    assert item.problem is not None and "belongs to session 'original'" in item.problem
    with pytest.raises(CorruptFile, match="belongs to session"):
        ctx.sessions.read_meta("copy")


def test_listing_ignores_what_is_not_a_session(ctx: Context, tmp_path: Path) -> None:
    p = ctx.paths
    make_session_dir(p, "real", created_ms=NOW)
    (p.sessions / "notes.txt").write_text("hi")
    (p.sessions / ".hidden").mkdir()
    (p.sessions / ".hidden" / META_FILE).write_text('{"sessionId": ".hidden", "createdAt": 1}')
    for invalid in ("bad name", "-dash", "ünï", "x" * 65, "_under"):
        (p.sessions / invalid).mkdir()
        (p.sessions / invalid / META_FILE).write_text(json.dumps({"sessionId": invalid, "createdAt": 1}))
    (p.sessions / "nometa").mkdir()
    (p.sessions / "nometa" / STATE_FILE).write_text('{"sessionId": "nometa", "status": "pending"}')
    (p.sessions / f"{TMP_PREFIX}x").write_text("{")
    outside = make_session_dir(p, "outside", created_ms=NOW)
    os.rename(outside, tmp_path / "outside")
    (p.sessions / "outside").symlink_to(tmp_path / "outside")

    assert [i.sessionId for i in ctx.sessions.list().items] == ["real"]
    assert [s.sessionId for s in ctx.states.scan()] == []
    with pytest.raises(SessionNotFound):
        ctx.sessions.item("nometa")


STATES = ["absent", *[s.value for s in UploadStatus], "corrupt"]
EXPORTED = [True, False]
AGES_MS = {"1h": HOUR, "23h": 23 * HOUR, "25h": 25 * HOUR, "30d": 30 * 24 * HOUR}


def must_delete(state: str, exported: bool, age_ms: int) -> bool:
    """docs/design.md, with the conservative choice for an unreadable state (keep)."""
    return age_ms > ORPHAN_AGE_MS and not exported and state in ("absent", "not_uploaded", "failed")


def test_orphan_cleanup_table(ctx: Context, tmp_path: Path) -> None:
    p = ctx.paths
    outside = tmp_path / "outside-target"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    cases = {}
    for n, (state, exported, age) in enumerate(itertools.product(STATES, EXPORTED, AGES_MS)):
        sid = f"s{n:03d}-{state}-{'exp' if exported else 'raw'}-{age}"
        created = NOW - AGES_MS[age]
        status = None if state == "absent" else (CORRUPT if state == "corrupt" else UploadStatus(state))
        d = make_session_dir(p, sid, created_ms=created, state=status, exported=exported)
        (d / "link-out").symlink_to(outside)  # deleting the session must not follow this
        set_tree_mtime(d, created)
        cases[sid] = must_delete(state, exported, AGES_MS[age])
    assert len(cases) == len(STATES) * 2 * 4
    assert 0 < sum(cases.values()) < len(cases)

    report = ctx.sessions.cleanup_orphans(NOW)

    for sid, delete in cases.items():
        assert p.session_dir(sid).exists() is (not delete), sid
    assert sorted(report.deleted) == sorted(sid for sid, d in cases.items() if d)
    assert set(report.kept) == {sid for sid, d in cases.items() if not d}
    assert (outside / "precious").read_text() == "keep me"


@posix_only  # symlinks: Windows needs a privilege for them, Wine shows them as plain files
def test_cleanup_never_touches_non_sessions(ctx: Context, tmp_path: Path) -> None:
    p = ctx.paths
    old = NOW - 30 * 24 * HOUR
    names = {}
    (p.sessions / "stray.txt").write_text("x")
    names["file"] = p.sessions / "stray.txt"
    (p.sessions / "bad name").mkdir()
    (p.sessions / "bad name" / META_FILE).write_text('{"sessionId": "bad name", "createdAt": 1}')
    names["invalid-name"] = p.sessions / "bad name"
    (p.sessions / "no-meta").mkdir()
    (p.sessions / "no-meta" / "actions.json").write_text("[]")
    names["no-meta"] = p.sessions / "no-meta"
    target = make_session_dir(p, "linked", created_ms=old)
    os.rename(target, tmp_path / "linked-target")
    (p.sessions / "linked").symlink_to(tmp_path / "linked-target")
    names["symlink"] = p.sessions / "linked"
    for path in names.values():
        if path.is_dir() and not path.is_symlink():
            set_tree_mtime(path, old)
        else:
            os.utime(path, ns=(old * 10**6,) * 2, follow_symlinks=False)
    set_tree_mtime(tmp_path / "linked-target", old)

    report = ctx.sessions.cleanup_orphans(NOW)

    assert report.deleted == []
    for what, path in names.items():
        assert path.exists() or path.is_symlink(), what
    assert (tmp_path / "linked-target" / META_FILE).exists()


def test_cleanup_keeps_session_with_a_recent_file(ctx: Context) -> None:
    """Old createdAt but a file written an hour ago: a recording may still be going on."""
    d = make_session_dir(ctx.paths, "busy", created_ms=NOW - 30 * 24 * HOUR)
    set_tree_mtime(d, NOW - 30 * 24 * HOUR)
    os.utime(d / "screenshots" / "0001.png", ns=((NOW - HOUR) * 10**6,) * 2)
    report = ctx.sessions.cleanup_orphans(NOW)
    assert report.deleted == [] and report.kept == {"busy": "younger than 24 h"}


def test_cleanup_keeps_young_created_at_with_old_files(ctx: Context) -> None:
    d = make_session_dir(ctx.paths, "copied", created_ms=NOW - HOUR)
    set_tree_mtime(d, NOW - 30 * 24 * HOUR)
    assert ctx.sessions.cleanup_orphans(NOW).deleted == []


def test_cleanup_removes_stale_temp_files_only(ctx: Context) -> None:
    p = ctx.paths
    d = make_session_dir(p, "kept", created_ms=NOW - HOUR, exported=True)
    stale = d / f"{TMP_PREFIX}upload-state.json.x1"
    fresh = d / f"{TMP_PREFIX}upload-state.json.x2"
    root_stale = p.root / f"{TMP_PREFIX}upload-config.json.x3"
    for f in (stale, fresh, root_stale):
        f.write_text('{"half": ')
    for f in (stale, root_stale):
        os.utime(f, ns=((NOW - 2 * HOUR) * 10**6,) * 2)
    os.utime(fresh, ns=((NOW - 60_000) * 10**6,) * 2)

    report = ctx.sessions.cleanup_orphans(NOW)

    assert sorted(report.temp_files_removed) == sorted([str(stale), str(root_stale)])
    assert fresh.exists() and not stale.exists() and not root_stale.exists()
    assert (d / META_FILE).exists()
