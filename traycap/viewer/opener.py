"""Open the page in the person's default browser (stdlib webbrowser): the one place that does."""

from __future__ import annotations

import logging
import webbrowser

log = logging.getLogger(__name__)


def open_url(url: str) -> bool:
    """True when a browser was started; False when none could be (the caller prints the URL instead)."""
    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error as exc:
        log.info("no browser to open the viewer: %s", exc)
        return False
