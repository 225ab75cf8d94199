"""The player page as an object in the bucket: stored once per bucket and version, never per session.

`<fixed prefix>player/<version>.html` (traycap/object_keys.py), `Content-Type: text/html;
charset=utf-8`, with the page's SHA-256 as metadata. The version holds the page's own hash, so a
changed page is a new object and a link made earlier keeps the page it was made with. HeadObject
first: an object that is missing, or whose size or SHA-256 is not this page's (a partial or
edited copy), is uploaded (with the encryption the settings ask for, like the zips).
"""

from __future__ import annotations

import logging
import threading

from traycap.object_keys import player_key
from traycap.player.bucket import Bucket
from traycap.viewer.single_page import Page

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/html; charset=utf-8"
META_SHA256 = "sha256"
META_VERSION = "traycap-player"


class Publisher:
    """Puts the player in a bucket when it is not there; remembers, for the life of the process,
    the buckets it checked (the tray makes many links: one HeadObject per bucket, not per link)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self._lock = threading.Lock()
        self._checked: set[tuple[str, str, str]] = set()

    def ensure(self, bucket: Bucket, template: str) -> str:
        """The player's key in `bucket`, uploaded first if it is missing or not this page."""
        key = player_key(template, self.page.version)
        seen = (bucket.endpoint, bucket.name, key)
        with self._lock:
            if seen in self._checked:
                return key
        found = bucket.head(key)
        if found is None or found.size != len(self.page.html) or found.metadata.get(META_SHA256) != self.page.sha256:
            bucket.put(key, self.page.html, content_type=CONTENT_TYPE,
                       metadata={META_SHA256: self.page.sha256, META_VERSION: self.page.version})
            log.info("the player page %s is now in bucket %s", key, bucket.name)
        with self._lock:
            self._checked.add(seen)
        return key
