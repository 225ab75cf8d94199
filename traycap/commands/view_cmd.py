"""`traycap view ID [--no-open] [--sheet OUT.png]`, `traycap view --remote KEY`: the replay page,
or the contact sheet.

The page is served from the session's zip by this process, on 127.0.0.1,
until the tab is closed or left idle (traycap/viewer/lifetime.py). With
`--no-open` the URL is printed on stdout instead of opening a browser. A
session whose local zip was deleted after upload (retention), and any session
in the bucket (`--remote KEY`, as `traycap sessions --remote` lists them), open
in the share link's player instead: the same page, served from the bucket.
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
from traycap.sharing.links import ShareLinks
from traycap.storage.atomic import write_bytes_atomic
from traycap.viewer.bundle import BundleReader


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.remote:
        return _open_player(ctx, args, args.remote, why="from the bucket")
    if not args.session_id:
        raise UiError("Which session?", "`traycap view ID`, or `traycap view --remote KEY` for one in the bucket")
    session_id: str = args.session_id
    meta = ctx.sessions.read_meta(session_id)
    state = ctx.states.read(session_id)
    zip_path = ctx.sessions.zip_path(meta)
    local = zip_path.is_file() and meta.extra.get("localCopy") is not False
    uploaded = state is not None and state.status is UploadStatus.DONE and bool(state.s3Key)
    if not local and not uploaded:
        if not ctx.sessions.is_exported(session_id):
            raise SessionNotExported(f"Session {session_id} has not been exported yet",
                                     "stop the recording first; a crashed one is exported at the next start")
        raise ZipMissing(f"The zip of session {session_id} is missing ({zip_path})")
    if args.sheet:
        if not local:
            raise ZipMissing(f"The zip of session {session_id} was deleted after upload: no frames to show",
                             "`traycap view ID` plays it from the bucket")
        return _write_sheet(zip_path, Path(args.sheet))
    if not local:
        assert state is not None and state.s3Key
        return _open_player(ctx, args, state.s3Key, why="its local copy was deleted after upload")
    return _serve(ctx, args, meta, state, zip_path)


def _open_player(ctx: Context, args: argparse.Namespace, key: str, *, why: str) -> int:
    """The share link's player for a zip in the bucket: printed (--no-open) or opened; never logged."""
    from traycap.viewer.opener import open_url

    url = ShareLinks().remote(ctx.require_config(), key, ctx.load_settings().linkExpiresS)
    if args.no_open:
        print(url, flush=True)
        return EXIT_OK
    print(f"traycap: playing {key} in the browser ({why})", file=sys.stderr, flush=True)
    if not open_url(url):
        raise UiError("No web browser could be started", "`--no-open` prints the link to open elsewhere")
    return EXIT_OK


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


LinkMaker = Callable[[], str]


def _host(ctx: Context, meta: SessionMeta, state: UploadState | None) -> tuple[dict[str, Any], LinkMaker | None]:
    """host.json (what the page shows about the upload) and the share-link maker, when uploaded."""
    status = state.status if state is not None else UploadStatus.NOT_UPLOADED
    link: LinkMaker | None = None
    if state is not None and state.status is UploadStatus.DONE and state.s3Key:
        key = state.s3Key

        def link() -> str:
            # Made here, by this process, with the settings on this machine: the page never sees them.
            return ShareLinks().player(ctx.require_config(), key, ctx.load_settings().linkExpiresS)

    upload = {"status": status.value, "uploadedAt": state.completedAt if state else None,
              "error": state.lastError if state else None, "link": link is not None}
    return {"sessionId": meta.sessionId, "upload": upload}, link


def _serve(ctx: Context, args: argparse.Namespace, meta: SessionMeta, state: UploadState | None,
           zip_path: Path) -> int:
    from traycap.viewer.opener import open_url
    from traycap.viewer.server import Site, ViewerServer

    host, link = _host(ctx, meta, state)
    server = ViewerServer(Site(zip_path, host, link), ctx.clock)
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
