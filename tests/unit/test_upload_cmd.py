"""`traycap upload` / `retry` / `cancel` (traycap/commands/upload_cmd.py) called in-process."""

from __future__ import annotations

import argparse

import pytest

from tests.support.sessions import make_exported_session, write_config
from traycap.commands.upload_cmd import run_upload
from traycap.context import Context
from traycap.models import UploadStatus


def test_cli_upload_of_a_session_with_a_corrupt_state_queues_it_afresh(
    ctx: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found in review (fix: 6af1c26). `traycap upload ID` does what the queue's enqueue does: the unreadable
    file is set aside (quarantined) and the session is queued, instead of refusing with "fix or delete that
    file"."""
    write_config(ctx)
    make_exported_session(ctx, "s1")
    ctx.states.path("s1").write_text('{"sessionId": "s1", "status": "upl')
    assert run_upload(argparse.Namespace(session_id="s1", wait=False), ctx) == 0
    state = ctx.states.read("s1")
    assert state is not None and state.status is UploadStatus.PENDING
    kept = [p.name for p in ctx.paths.session_dir("s1").iterdir() if p.name.startswith("upload-state.json.corrupt-")]
    assert kept, "the unreadable file is kept aside for whoever wants to look at it"
    assert "Queued s1" in capsys.readouterr().out
