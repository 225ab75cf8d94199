"""The multipart driver's part sources (traycap/upload/s3/sources.py): a finished file read once in
part order and hashed on the way (the queue's), a zip still growing (the live lane's). The driver
over them: tests/unit/test_s3_multipart.py (FileSource), tests/unit/test_live_upload.py (the lane)."""

from __future__ import annotations

import hashlib
import random
import zlib
from pathlib import Path

import pytest

from traycap.cancel import CancelToken
from traycap.errors import ZipChanged, ZipMissing
from traycap.models import CompletedPart
from traycap.upload.s3.integrity import Checksum
from traycap.upload.s3.job import UploadJob
from traycap.upload.s3.sources import FileSource, GrowingSource

P = 1000


def file_source(tmp_path: Path, data: bytes, part_size: int = P) -> FileSource:
    path = tmp_path / "z.zip"
    path.write_bytes(data)
    job = UploadJob(path, "k", sha256=hashlib.sha256(data).hexdigest(), on_progress=lambda d, t: None,
                    on_checkpoint=lambda p: None, cancel=CancelToken())
    job.size = len(data)
    return FileSource(job, part_size)


def test_a_file_source_checks_the_whole_file_and_the_kept_parts(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(2 * P + 10)
    source = file_source(tmp_path, data)
    assert (source.ready(), source.length(3), source.size) == (3, 10, 2 * P + 10)
    kept = CompletedPart(1, "etag", P, Checksum.of(data[:P], md5=False).value)
    source.kept(1, kept, md5=False)
    assert bytes(source.read(2)) + bytes(source.read(3)) == data[P:]
    source.check_complete([])
    source.rewind()  # a fresh upload: read again from part 1
    with pytest.raises(ZipChanged):
        source.kept(1, CompletedPart(1, "etag", P, Checksum.of(b"other", md5=False).value), md5=False)
    source.close()


def test_a_file_that_changed_since_export_is_not_completed(tmp_path: Path) -> None:
    part = 64 * 1024  # past the reader's buffer, as real parts are
    data = random.Random(2).randbytes(2 * part)
    source = file_source(tmp_path, data, part)
    source.read(1)
    (tmp_path / "z.zip").write_bytes(data[:part] + b"x" * part)  # changed after export, same size
    source.read(2)
    with pytest.raises(ZipChanged):
        source.check_complete([])
    source.close()


def test_with_the_export_s_crc32_the_parts_checksums_show_the_zip_unchanged_without_hashing_it_again(
        tmp_path: Path) -> None:
    """Each byte is hashed once: the CRC32 each part carries to the store, combined, is compared with the
    CRC32 the export recorded (no whole-file SHA-256 pass). Content-MD5 parts cannot be combined: the
    whole file is hashed as before."""
    data = random.Random(4).randbytes(3 * P + 7)
    path = tmp_path / "z.zip"

    def source(crc32: str | None, *, md5: bool = False) -> FileSource:
        job = UploadJob(path, "k", sha256=hashlib.sha256(data).hexdigest(), on_progress=lambda d, t: None,
                        on_checkpoint=lambda p: None, cancel=CancelToken(), crc32=crc32)
        job.size = len(data)
        return FileSource(job, P, md5=md5)

    def sent(src: FileSource) -> list[CompletedPart]:
        parts = []
        for n in range(1, src.ready() + 1):
            view = src.read(n)
            parts.append(CompletedPart(n, f"e{n}", len(view), Checksum.of(view, md5=False).value))
            src.release(view)
        return parts

    exported = f"{zlib.crc32(data):08x}"
    path.write_bytes(data)
    good = source(exported)
    good.check_complete(sent(good))
    path.write_bytes(data[:P] + b"x" + data[P + 1:])  # one byte changed since export
    changed = source(exported)
    with pytest.raises(ZipChanged):
        changed.check_complete(sent(changed))
    md5_parts = source(exported, md5=True)  # compatibility mode: the SHA-256 pass finds it
    sent(md5_parts)
    with pytest.raises(ZipChanged):
        md5_parts.check_complete([])


def test_a_growing_zip_has_whole_parts_ready_then_the_short_last_one_at_finished(tmp_path: Path) -> None:
    path = tmp_path / "live.zip"
    data = random.Random(3).randbytes(2 * P + 300)
    path.write_bytes(data[: P + 500])
    source = GrowingSource(path, P, max_parts=5)
    assert (source.ready(), source.size, source.sha256) == (0, None, None)
    source.committed(P + 500)
    assert (source.ready(), source.length(1), source.length(2)) == (1, P, None)
    assert bytes(source.read(1)) == data[:P]
    source.committed(10)  # committed never goes back
    assert source.committed_size == P + 500
    with pytest.raises(ZipChanged):  # the journal said 2 whole parts, the disk has less: tried again later
        source.committed(2 * P)
        source.read(2)
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    source.finished(len(data), sha.upper())
    assert (source.ready(), source.length(3), source.size, source.sha256) == (3, 300, len(data), sha)
    assert bytes(source.read(3)) == data[2 * P:]


def test_a_growing_zip_sends_at_most_max_parts_before_stop_and_reports_a_missing_file(tmp_path: Path) -> None:
    source = GrowingSource(tmp_path / "gone.zip", P, max_parts=2)
    source.committed(5 * P)
    assert source.ready() == 2  # the rest waits for Stop (S3 takes 10,000 parts at most)
    with pytest.raises(ZipMissing):
        source.read(1)
