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
"""

from traycap.upload.s3.client import classify_error
from traycap.upload.s3.integrity import composite_sha256
from traycap.upload.s3.service import UploadService

__all__ = ["UploadService", "classify_error", "composite_sha256"]
