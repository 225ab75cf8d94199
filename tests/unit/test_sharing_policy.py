"""The sharing rules (traycap/sharing/policy.py), with the real on-disk request as the enqueue."""

from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from tests.support.secret_stores import AnsweringSecretStore, MemorySecretStore, WatchedSettling
from tests.support.sessions import make_session_dir
from traycap.context import Context
from traycap.models import UploadConfig, UploadState, UploadStatus
from traycap.sharing.policy import (
    CANCELLED_LIVE,
    EXPORT_SETTLE_WAIT_S,
    NOT_QUEUED,
    QUEUED,
    UPLOADING_LIVE,
    live_at_start,
    live_note,
    queue_exported,
)
from traycap.storage.config_store import save_config
from traycap.upload.requests import request_upload

T0 = 1_700_000_000_000
CONFIG = UploadConfig(bucket="bucket-a", region="us-east-1", accessKeyId="AKIA", secretAccessKey="s3cr3t-key")


class Requests:
    """UploadRequests as a process without the queue has it: the request written to disk."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.asked: list[str] = []

    def upload(self, session_id: str) -> UploadState:
        self.asked.append(session_id)
        return request_upload(self.ctx, session_id)


def test_auto_upload_on_queues_the_session(ctx: Context) -> None:
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=True))
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    requests = Requests(ctx)
    assert queue_exported(ctx, requests, "s1") == QUEUED
    assert requests.asked == ["s1"] and ctx.states.read("s1").status is UploadStatus.PENDING  # type: ignore[union-attr]


def test_auto_upload_off_or_no_config_asks_nothing(ctx: Context) -> None:
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    requests = Requests(ctx)
    assert queue_exported(ctx, requests, "s1") is None
    save_config(ctx.paths.config, CONFIG)
    assert queue_exported(ctx, requests, "s1") is None
    assert requests.asked == [] and ctx.states.read("s1") is None


def test_a_broken_setup_is_a_note_never_an_exception(ctx: Context) -> None:
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    requests = Requests(ctx)
    ctx.paths.config.write_text(json.dumps({"bucket": "", "autoUpload": True}))  # on, but not usable
    note = queue_exported(ctx, requests, "s1")
    assert note is not None and note.startswith(f"{NOT_QUEUED}: ") and "bucket" in note
    ctx.paths.config.write_text("{not json")
    note = queue_exported(ctx, requests, "s1")
    assert note is not None and note.startswith(NOT_QUEUED) and requests.asked == ["s1"]
    assert ctx.states.read("s1") is None


def test_an_export_waits_for_a_keyring_still_being_asked_then_queues(ctx: Context) -> None:
    """Issue 24: a recording stopped while the process is still asking the keyring (its first seconds) is
    queued once the keyring answered, not skipped because the settings could not be read yet."""
    keyring = AnsweringSecretStore()
    save_config(ctx.paths.config, CONFIG.with_(autoUpload=True), keyring)
    keyring.release.clear()
    watched = WatchedSettling(keyring)
    ctx = dataclasses.replace(ctx, secrets=watched)
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    start_up = threading.Thread(target=watched.settle)  # blocked until the keyring answers
    start_up.start()
    try:
        assert queue_exported(ctx, Requests(ctx), "s1") == QUEUED
    finally:
        keyring.release.set()
        start_up.join(30)
    assert watched.waits == [0, EXPORT_SETTLE_WAIT_S]
    assert ctx.states.read("s1").status is UploadStatus.PENDING  # type: ignore[union-attr]


def test_with_auto_upload_off_an_unreadable_keyring_is_not_mentioned(ctx: Context) -> None:
    """The choice is made from the file: the keyring is not asked, and nothing is said about it."""
    keyring = MemorySecretStore()
    save_config(ctx.paths.config, CONFIG, keyring)
    keyring.reason = "the OS keyring is locked"
    ctx = dataclasses.replace(ctx, secrets=keyring)
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True)
    keyring.calls.clear()
    assert queue_exported(ctx, Requests(ctx), "s1") is None
    assert keyring.calls == []


@pytest.mark.parametrize(("config", "live"), [
    (None, False),
    (CONFIG, False),  # autoUpload off
    (CONFIG.with_(autoUpload=True, uploadWhileRecording=False), False),
    (CONFIG.with_(autoUpload=True), True),  # uploadWhileRecording is on by default
])
def test_a_recording_is_uploaded_while_it_records_only_with_both_settings(config: UploadConfig | None,
                                                                          live: bool) -> None:
    assert live_at_start(config) is live


def test_what_the_user_is_told_about_a_live_upload_at_export() -> None:
    def state(status: UploadStatus) -> UploadState:
        return UploadState(sessionId="s1", status=status, createdAt=T0, updatedAt=T0)

    assert live_note(None) == UPLOADING_LIVE  # the lane still sends the tail
    assert live_note(state(UploadStatus.NOT_UPLOADED)) == CANCELLED_LIVE
    assert live_note(state(UploadStatus.DONE)) is None  # the Upload-done notice says it
