"""Review finding: a secret inside a URL (percent-encoded) passed the log redaction."""

from __future__ import annotations

from urllib.parse import quote

from traycap.app_parts import _share_link
from traycap.logs import redact, register_secret
from traycap.models import UploadConfig


def test_a_session_token_inside_a_share_link_is_masked_in_the_log() -> None:
    # The tray logs every notification, and "Copy share link" notifies with the presigned URL,
    # which carries the STS session token URL-encoded (its / + = become %2F %2B %3D).
    token = "FwoGZXIvYXdzEB4aDK+review/token==XYZ"
    config = UploadConfig(bucket="b", region="us-east-1", accessKeyId="AKIAREVIEW",
                          secretAccessKey="review-secret-value", sessionToken=token,
                          endpointUrl="http://127.0.0.1:9")
    register_secret(token)
    url = _share_link(config, "sessions/s.zip", 3600)
    assert quote(token, safe="") in url  # what a log line would carry
    logged = redact(f"notification: Share link copied: Session s: {url}")
    assert quote(token, safe="") not in logged and token not in logged
    assert "X-Amz-Security-Token=" in logged  # the rest of the line is still there
