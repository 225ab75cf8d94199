"""traycap/sharing/links.py: the links the tray and the commands make from the upload settings."""

from __future__ import annotations

import pytest

from tests.support.fake_bucket import FakeBucket
from traycap.errors import AccessDenied, ZipMissing
from traycap.models import UploadConfig
from traycap.player.bucket import Bucket
from traycap.sharing.links import ShareLinks

CONFIG = UploadConfig(bucket="bucket", keyPrefix="team/{host}/")


class Links(ShareLinks):
    def __init__(self, bucket: FakeBucket) -> None:
        super().__init__()
        self.bucket = bucket

    def _objects(self, config: UploadConfig) -> Bucket:
        return self.bucket


def test_the_player_is_checked_once_for_every_link_a_process_makes() -> None:
    bucket = FakeBucket()
    links = Links(bucket)
    first, second = links.player(CONFIG, "team/a/s1.zip", 60), links.player(CONFIG, "team/a/s2.zip", 60)
    assert "#z=/bucket/team/a/s1.zip" in first and "#z=/bucket/team/a/s2.zip" in second
    assert [c[0] for c in bucket.calls].count("head") == 1 and [c[0] for c in bucket.calls].count("put") == 1


def test_a_bucket_that_refuses_the_player_gets_the_zip_link_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    bucket = FakeBucket(fail={"put": AccessDenied("only *.zip")})
    link = Links(bucket).player(CONFIG, "team/a/s1.zip", 60)
    assert "#" not in link and "/bucket/team/a/s1.zip?" in link
    assert "could not be stored" in caplog.text and "X-Amz-Signature" not in caplog.text  # never the link itself


def test_view_remote_needs_the_zip_and_the_player() -> None:
    with pytest.raises(ZipMissing):
        Links(FakeBucket()).remote(CONFIG, "team/a/none.zip", 60)
    bucket = FakeBucket()
    bucket.put("team/a/s1.zip", b"z", content_type="application/zip", metadata={})
    bucket.fail["put"] = AccessDenied("only *.zip")
    with pytest.raises(AccessDenied):
        Links(bucket).remote(CONFIG, "team/a/s1.json", 60)  # the sidecar's key names its zip
