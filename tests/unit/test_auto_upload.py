"""The one auto-upload rule (traycap/auto_upload.py), with the real on-disk request as the enqueue."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.sessions import make_session_dir
from traycap.auto_upload import NOT_QUEUED, QUEUED, auto_upload, auto_upload_all
from traycap.context import Context
from traycap.models import UploadConfig, UploadStatus
from traycap.storage.config_store import save_config
from traycap.upload.requests import request_upload

T0 = 1_700_000_000_000
CONFIG = UploadConfig(bucket="bucket-a", region="us-east-1", accessKeyId="AKIA", secretAccessKey="s3cr3t-key")


def _enqueue(ctx: Context) -> tuple[list[str], Callable[[str], object]]:
    asked: list[str] = []

    def enqueue(session_id: str) -> object:
        asked.append(session_id)
        return request_upload(ctx, session_id)

    return asked, enqueue


def test_auto_upload_on_queues_the_session(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=True))
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    asked, enqueue = _enqueue(ctx)
    assert auto_upload(ctx, "s1", enqueue) == QUEUED
    assert asked == ["s1"] and ctx.states.read("s1").status is UploadStatus.PENDING  # type: ignore[union-attr]


def test_auto_upload_off_or_no_config_asks_nothing(ctx: Context) -> None:
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    asked, enqueue = _enqueue(ctx)
    assert auto_upload(ctx, "s1", enqueue) is None
    save_config(ctx.paths.config, CONFIG)
    assert auto_upload(ctx, "s1", enqueue) is None
    assert asked == [] and ctx.states.read("s1") is None


def test_a_broken_setup_is_a_note_never_an_exception(ctx: Context) -> None:
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    asked, enqueue = _enqueue(ctx)
    ctx.paths.config.write_text(json.dumps({"bucket": "", "autoUpload": True}))  # on, but not usable
    note = auto_upload(ctx, "s1", enqueue)
    assert note is not None and note.startswith(f"{NOT_QUEUED}: ") and "bucket" in note
    ctx.paths.config.write_text("{not json")
    note = auto_upload(ctx, "s1", enqueue)
    assert note is not None and note.startswith(NOT_QUEUED) and asked == ["s1"]
    assert ctx.states.read("s1") is None


def test_auto_upload_all_applies_the_rule_to_each_recovered_session(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=True))
    for sid in ("a", "b"):
        make_session_dir(ctx.paths, sid, created_ms=T0, exported=True)
    asked, enqueue = _enqueue(ctx)
    auto_upload_all(ctx, ["a", "b"], enqueue)
    assert asked == ["a", "b"]
