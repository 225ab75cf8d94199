"""Share links as the tray and the commands make them: the player link (traycap/player/link.py)
on the bucket of the upload settings, or the plain presigned zip link (`traycap link ID --zip`).

    links = ShareLinks()                                  # one per process: the player is checked
    links.player(config, key, expires_s)                  # once per bucket, not per link
    links.zip(config, key, expires_s)

The links are returned, never logged: the fragment is what lets anyone play the session.
"""

from __future__ import annotations

import logging
import threading

from traycap.errors import AccessDenied, ZipMissing
from traycap.models import UploadConfig
from traycap.object_keys import SIDECAR_SUFFIX, ZIP_SUFFIX
from traycap.player.bucket import Bucket
from traycap.player.link import player_link
from traycap.player.publish import Publisher
from traycap.viewer.single_page import build

log = logging.getLogger(__name__)


class ShareLinks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._publisher: Publisher | None = None

    def _objects(self, config: UploadConfig) -> Bucket:
        from traycap.upload.s3.objects import BucketObjects  # boto3 only when a link is made

        return BucketObjects(config)

    def player(self, config: UploadConfig, key: str, expires_s: int, *, fallback: bool = True) -> str:
        """The player's presigned URL with the zip's in its fragment (the player uploaded first if missing).

        A bucket that refuses the player page for good (a policy that allows only the zips) gets the
        zip's own link instead, with a warning (`fallback`): sharing must not stop working."""
        with self._lock:
            if self._publisher is None:
                self._publisher = Publisher(build())
            publisher = self._publisher
        objects = self._objects(config)
        try:
            return player_link(objects, config.keyPrefix, key, expires_s, publisher=publisher)
        except AccessDenied as exc:
            if not fallback:
                raise
            log.warning("the player page could not be stored in bucket %s (%s): the link downloads the zip instead",
                        config.bucket, exc.user_text())
            return objects.presign_get(key, expires_s)
        finally:
            objects.close()

    def zip(self, config: UploadConfig, key: str, expires_s: int) -> str:
        """The zip's own presigned URL (a download, as before the player)."""
        objects = self._objects(config)
        try:
            return objects.presign_get(key, expires_s)
        finally:
            objects.close()

    def remote(self, config: UploadConfig, key: str, expires_s: int) -> str:
        """The player link of any session in the bucket (`traycap view --remote KEY`): KEY is its zip's
        key (or its sidecar's); ZipMissing when the bucket has no such zip."""
        if key.endswith(SIDECAR_SUFFIX):
            key = key[: -len(SIDECAR_SUFFIX)] + ZIP_SUFFIX
        objects = self._objects(config)
        try:
            if objects.head(key) is None:
                raise ZipMissing(f"The bucket {config.bucket} has no object {key}",
                                 "`traycap sessions --remote` lists the sessions it holds")
        finally:
            objects.close()
        return self.player(config, key, expires_s, fallback=False)
