"""The S3 engine: resumable, verified multipart uploads on boto3's low-level calls.

    service.py    UploadService, the UploadEngine the queue drives (and the live lane's engine)
    multipart.py  MultipartDriver: one multipart upload of a part source (resume/create, parts
                  in flight, checkpoints, stalls, complete), for the queue and the live lane
    sources.py    the part sources: a finished file (the queue), a zip still growing (the lane)
    part.py       send_part: the one way a part goes out (checksum, body, retries)
    stall.py      StallWatch: the one stall rule (a part silent STALL_S in all)
    job.py        one upload_file call's state: the zip, callbacks, bytes sent
    client.py     S3Client: the S3 calls on boto3 (the only boto3/botocore importer)
    calls.py      the protocol of those calls (tests drive fakes of it)
    classify.py   S3 error answers -> the traycap error tree, as a table (pure)
    body.py       a part's bytes as a streaming request body
    integrity.py  checksums and the verification of the stored object (pure)
    retry.py      the one quick-retry loop for a single request

The names below load on first use: the live lane imports the driver and its sources from this
package, and the tray imports the lane at start-up, which must not load boto3 (~0.2 s) before
anything is uploaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traycap.upload.s3.client import classify_error
    from traycap.upload.s3.integrity import composite_crc32
    from traycap.upload.s3.service import UploadService

__all__ = ["UploadService", "classify_error", "composite_crc32"]

_MODULE_OF = {"UploadService": "service", "classify_error": "client", "composite_crc32": "integrity"}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
