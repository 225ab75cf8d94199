"""Logging: a rotating file in the log dir, stderr for commands, secrets redacted.

Every record passes through SecretRedactor, which replaces any registered
secret (the configured secret key and session token) with a mask, so even a
library's debug message cannot put one in a log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus

from traycap.models import mask_secret
from traycap.osutil.private import make_private_dir

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)
            # As it appears inside a URL (a presigned share link carries the session token).
            _secrets.add(quote(value, safe=""))
            _secrets.add(quote_plus(value, safe=""))


def redact(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # a longer secret first, if one contains another
    for secret in known:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    return text


class SecretRedactor(logging.Filter):
    """Masks registered secrets in a record's message, its traceback and its stack."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        # A traceback is rendered later by the handler's formatter, which would
        # put an exception's text (e.g. a URL with a key) in the log unredacted:
        # render it now, redacted; formatters reuse record.exc_text.
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging(log_dir: Path | None, level: str = "INFO", *, to_stderr: bool = True) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level.upper())
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = SecretRedactor()
    if log_dir is not None:
        from logging.handlers import RotatingFileHandler  # only long-running commands log to a file

        try:
            make_private_dir(log_dir)
            file_handler = RotatingFileHandler(
                log_dir / "traycap.log", maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
            file_handler.setFormatter(fmt)
            file_handler.addFilter(redactor)
            root.addHandler(file_handler)
        except OSError:
            pass  # a read-only or full disk must not stop the app; stderr still works
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.addFilter(redactor)
        root.addHandler(stream)
    # Library chatter (request dumps may include headers) stays out of our logs.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "PIL"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
