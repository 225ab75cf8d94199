"""Secrets are masked in every log line, including tracebacks."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from traycap.logs import SecretRedactor, redact, register_secret, setup_logging
from traycap.models import UploadConfig
from traycap.sharing.links import ShareLinks

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYlogtest1"
TOKEN = "FwoGZXIvYXdzEBYaDtoken-logtest-9876"


def test_redact_masks_registered_secrets() -> None:
    register_secret(SECRET)
    register_secret(TOKEN)
    register_secret(None)
    register_secret("abc")  # too short to mask safely: ignored, not an error
    text = redact(f"key={SECRET} token={TOKEN} other=visible abc")
    assert SECRET not in text and TOKEN not in text
    assert "****est1" in text and "****9876" in text
    assert text.endswith("other=visible abc")


def test_redactor_filters_message_args_and_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_secret(SECRET)
    setup_logging(tmp_path / "logs", "DEBUG")
    try:
        log = logging.getLogger("traycap.test")
        log.debug("signing with %s", SECRET)
        log.info(f"inline {SECRET}")
        try:
            raise RuntimeError(f"request failed: https://x/?X-Amz-Signature={SECRET}")
        except RuntimeError:
            log.exception("upload failed")
        log.warning("stack", stack_info=True, extra={"k": SECRET})
    finally:
        for handler in list(logging.getLogger().handlers):
            handler.close()
            logging.getLogger().removeHandler(handler)
    written = (tmp_path / "logs" / "traycap.log").read_text()
    err = capsys.readouterr().err
    for out in (written, err):
        assert SECRET not in out
        assert "signing with ****est1" in out
        assert "inline ****est1" in out
        assert "X-Amz-Signature=****est1" in out  # the traceback is there, masked
        assert "RuntimeError" in out


def test_filter_on_a_plain_record() -> None:
    register_secret(SECRET)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s b", (SECRET,), None)
    assert SecretRedactor().filter(record) is True
    assert record.getMessage() == "a ****est1 b"


def test_a_session_token_inside_a_share_link_is_masked_in_the_log() -> None:
    """Found in review (fix: 369871e): a secret inside a URL (percent-encoded) passed the redaction.
    The tray logs every notification, and "Copy share link" notified with the presigned URL, which
    carries the STS session token URL-encoded (its / + = become %2F %2B %3D). The notification no
    longer holds the link (the player link's fragment is never logged), but a URL with a token in a
    log line is still masked."""
    token = "FwoGZXIvYXdzEB4aDK+review/token==XYZ"
    config = UploadConfig(bucket="b", region="us-east-1", accessKeyId="AKIAREVIEW",
                          secretAccessKey="review-secret-value", sessionToken=token,
                          endpointUrl="http://127.0.0.1:9")
    register_secret(token)
    url = ShareLinks().zip(config, "sessions/s.zip", 3600)  # what a player link carries after its "#"
    assert quote(token, safe="") in url  # what a log line would carry
    logged = redact(f"notification: Share link copied: Session s: {url}")
    assert quote(token, safe="") not in logged and token not in logged
    assert "X-Amz-Security-Token=" in logged  # the rest of the line is still there
