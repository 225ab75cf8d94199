"""Quit from the tray menu in the middle of an upload: it stops at a part boundary, the
state is saved with its multipart upload, and the next start resumes from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import moto_server
from tests.support.sessions import make_exported_session, zip_bytes
from tests.support.tray_host import tray_host
from tests.support.waiting import wait_until
from traycap.context import make_context
from traycap.models import MIB, UploadState, UploadStatus
from traycap.paths import Paths
from traycap.storage.config_store import save_config
from traycap.upload.requests import request_upload

SID = "20250301-100000-abcdef"
SIZE = 18 * MIB  # four 5 MiB parts, the last one short
ITEM_OFFSET = 16


@pytest.mark.gui
@pytest.mark.x11
@pytest.mark.s3
@pytest.mark.slow
def test_quit_while_uploading_keeps_the_parts_and_the_next_start_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = make_context(Paths(root=home, logs=home / "logs"))
    make_exported_session(ctx, SID, SIZE)
    with moto_server() as s3, FaultProxy(s3.host, s3.port) as proxy, tray_host(tmp_path / "desktop") as host:
        save_config(ctx.paths.config, s3.config(endpointUrl=proxy.url, maxConcurrency=1))
        request_upload(ctx, SID)
        proxy.limit_rate(4 * MIB)  # slow enough to quit in the middle

        def state() -> UploadState:
            s = ctx.states.read(SID)
            assert s is not None
            return s

        first = host.spawn(host.traycap_argv(), home, "traycap-1.out")
        icon = host.wait_for_icon("traycap")
        wait_until("the first part on S3", lambda: len(state().parts) >= 1, 60)
        assert state().status is UploadStatus.UPLOADING

        # Quit is the menu's last item.
        host.click(icon.center, button=3)
        menu = host.wait_for_menu()
        host.click((menu.x + 40, menu.y + menu.h - ITEM_OFFSET))
        assert first.wait(timeout=30) == 0

        stopped = state()
        assert stopped.status is UploadStatus.PENDING  # kept for resume, no retry spent
        assert stopped.retryCount == 0
        assert stopped.uploadId is not None and 1 <= len(stopped.parts) < 4
        assert stopped.bytesUploaded == sum(p.size for p in stopped.parts)  # a part boundary
        assert [u["UploadId"] for u in s3.list_multipart_uploads()] == [stopped.uploadId]
        parts_before = proxy.count("UploadPart", status=200)

        proxy.limit_rate(None)
        second = host.spawn(host.traycap_argv(), home, "traycap-2.out")
        wait_until("the resumed upload to finish", lambda: state().status is UploadStatus.DONE, 90)
        assert s3.object_bytes(f"sessions/{SID}.zip") == zip_bytes(ctx, SID)
        # Only the parts S3 did not have yet were sent again.
        assert proxy.count("UploadPart", status=200) - parts_before == 4 - len(stopped.parts)
        assert host.wait_for_notification("Upload done", 30).body.startswith(f"Session {SID}, 18.0 MB")
        second.terminate()
        assert second.wait(timeout=30) == 0
