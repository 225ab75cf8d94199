"""`traycap view ID [--no-open] [--sheet OUT.png]`: the replay page, or the contact sheet.

The page is served from the session's zip by this process, on 127.0.0.1,
until the tab is closed or left idle (traycap/viewer/lifetime.py). With
`--no-open` the URL is printed on stdout instead of opening a browser. A
session whose local zip was deleted after upload (retention) still gets a
page: its facts and the share link.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from traycap.commands.common import EXIT_OK
from traycap.context import Context
from traycap.errors import SessionNotExported, UiError, ZipMissing
from traycap.models import SessionMeta, UploadState, UploadStatus
from traycap.storage.atomic import write_bytes_atomic
from traycap.viewer.bundle import BundleReader
from traycap.viewer.model import LocalCopy, UploadFacts, info_from_meta, page_data


def run(args: argparse.Namespace, ctx: Context) -> int:
    session_id: str = args.session_id
    meta = ctx.sessions.read_meta(session_id)
    state = ctx.states.read(session_id)
    zip_path = ctx.sessions.zip_path(meta)
    local = zip_path.is_file() and meta.extra.get("localCopy") is not False
    uploaded = state is not None and state.status is UploadStatus.DONE
    if not local and not uploaded:
        if not ctx.sessions.is_exported(session_id):
            raise SessionNotExported(f"Session {session_id} has not been exported yet",
                                     "stop the recording first; a crashed one is exported at the next start")
        raise ZipMissing(f"The zip of session {session_id} is missing ({zip_path})")
    if args.sheet:
        if not local:
            raise ZipMissing(f"The zip of session {session_id} was deleted after upload: no frames to show",
                             "download the bundle with the share link to look at it")
        return _write_sheet(zip_path, Path(args.sheet))
    return _serve(ctx, args, meta, state, zip_path if local else None)


def _write_sheet(zip_path: Path, out: Path) -> int:
    from traycap.bundle.preview import sheet_bytes

    with _cache_dir() as cache, BundleReader(zip_path, cache) as bundle:
        if not bundle.has_video:
            raise ZipMissing(f"{zip_path.name} holds no video", "a session without video has no contact sheet")
        b = bundle.data()
        with bundle.open_video() as window, io.BufferedReader(window, 1 << 20) as video:
            data = sheet_bytes(video, b.frames, b.info, out.suffix.lower())
    write_bytes_atomic(out, data)
    print(out)
    return EXIT_OK


@contextlib.contextmanager
def _cache_dir() -> Iterator[Path]:
    """Where a compressed member would be extracted; removed however the command ends."""
    path = Path(tempfile.mkdtemp(prefix="traycap-view-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _upload_facts(ctx: Context, state: UploadState | None) -> tuple[UploadFacts, Callable[[], str] | None]:
    if state is None:
        return UploadFacts(UploadStatus.NOT_UPLOADED.value), None
    link: Callable[[], str] | None = None
    if state.status is UploadStatus.DONE and state.s3Key:
        key = state.s3Key

        def link() -> str:
            # Presigned here, by the upload package, with the settings on this machine: the page never sees them.
            from traycap.commands.upload_cmd import engine_factory
            from traycap.storage.config_store import require_config

            expires = ctx.load_settings().linkExpiresS
            url: str = engine_factory(require_config(ctx.paths.config)).share_link(key, expires)
            return url

    facts = UploadFacts(state.status.value, uploaded_at=state.completedAt, error=state.lastError,
                        link_available=link is not None)
    return facts, link


def _serve(ctx: Context, args: argparse.Namespace, meta: SessionMeta, state: UploadState | None,
           zip_path: Path | None) -> int:
    from traycap.viewer.opener import open_url
    from traycap.viewer.server import Site, ViewerServer

    upload, link = _upload_facts(ctx, state)
    with _cache_dir() as cache:
        bundle = BundleReader(zip_path, cache) if zip_path is not None else None
        try:
            if bundle is not None:
                b = bundle.data()
                local = LocalCopy(True, zip_path.stat().st_size if zip_path else None, str(zip_path))
                data = page_data(meta.sessionId, b.info or info_from_meta(meta.to_json()), b.actions, b.frames,
                                 b.shots, upload, local, has_video=b.has_video)
            else:
                data = page_data(meta.sessionId, info_from_meta(meta.to_json()), [], [], [], upload,
                                 LocalCopy(False))
            server = ViewerServer(Site(data, bundle, link), ctx.clock)
            server.start()
            try:
                if args.no_open:
                    print(server.url, flush=True)
                else:
                    print(f"traycap: showing session {meta.sessionId} at {server.url} (Ctrl-C to stop)",
                          file=sys.stderr, flush=True)
                    if not open_url(server.url):
                        raise UiError("No web browser could be started", f"open {server.url} in a browser")
                with _stop_on_signals(server.stop):
                    reason = server.wait()
                print(f"traycap: viewer stopped: {reason}", file=sys.stderr)
            finally:
                server.close()
        finally:
            if bundle is not None:
                bundle.close()
    return EXIT_OK


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    wanted: list[int] = [signal.SIGINT.value, signal.SIGTERM.value]
    hup = getattr(signal, "SIGHUP", None)  # not on Windows
    if hup is not None:
        wanted.append(hup)
    previous: dict[int, Any] = {}
    for sig in wanted:
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
