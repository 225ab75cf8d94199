"""UploadPart of one part: the one way a part goes out, for the queue and the live lane alike.

The bytes carry the checksum the store verifies (x-amz-checksum-crc32, or Content-MD5 in
compatibility mode), go through a body that stops within 256 KiB and takes its bytes from the
rate cap, and are tried a few times (Retry). Every try tells the stall watch when the socket
took bytes and whether it failed without an answer (stall.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from traycap.errors import NetworkError, UploadError
from traycap.models import CompletedPart
from traycap.upload.s3.body import metered_body
from traycap.upload.s3.calls import S3Calls
from traycap.upload.s3.integrity import Checksum
from traycap.upload.s3.retry import Retry
from traycap.upload.s3.stall import StallWatch


@dataclass(frozen=True)
class PartRequest:
    """Where a part goes and how: what every part of one upload shares."""

    calls: S3Calls
    key: str
    upload_id: str
    md5: bool
    retry: Retry
    watch: StallWatch
    stop: Callable[[], bool]  # stop now: the request body raises Stopped within 256 KiB
    wake: threading.Event | None  # ends the retry pause and the rate cap's wait early
    count: Callable[[int], None]  # every byte put on the wire (a part tried twice counts twice)
    throttle: Callable[[int], None] | None  # the rate cap: may wait before bytes go out


def send_part(req: PartRequest, number: int, data: memoryview, report: Callable[[int], None]) -> CompletedPart:
    """Send part `number`; `report(sent)` gets the bytes of the current try on the wire (0 when a
    try failed). Raises UploadError, or Stopped when `req.stop()` said so."""
    checksum = Checksum.of(data, md5=req.md5)

    def once() -> str:
        attempt = req.watch.attempt(req.upload_id, number)

        def count(n: int) -> None:
            attempt.took(n)
            req.count(n)

        body = metered_body(data, stop=req.stop, count=count, report=report, throttle=req.throttle)
        try:
            return req.calls.upload_part(req.key, req.upload_id, number, body, checksum)
        except UploadError as err:
            report(0)  # this try's bytes do not count
            if isinstance(err, NetworkError):
                attempt.failed_without_answer()
            raise

    etag = req.retry.call(
        once, what=f"part {number}", stop=req.stop, wake=req.wake,
        give_up=lambda: req.watch.stalled(req.upload_id, number),
    )
    req.watch.accepted(req.upload_id, number)
    return CompletedPart(number, etag, len(data), checksum.value)
