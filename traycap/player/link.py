"""The share link: the player's presigned URL, with the zip's presigned URL in the fragment.

    https://bucket.s3.../team/player/0.2.0-1a2b3c4d5e6f.html?X-Amz-...#z=/team/alice/ID.zip%3FX-Amz-...

A browser never sends the fragment to a server, so the player's own signature stays valid and no
server (nor its logs) sees the zip's URL; the page reads it from `location.hash`. The zip is
named by its path and query only: the page resolves it against its own origin, which the zip
shares (same endpoint, same bucket), so the page needs no CORS rule and can fetch nothing else.
The zip's URL lasts `expires_s` (linkExpiresS, at most 7 days): that is when the link expires, and
the page reads it from the zip URL's X-Amz-Date and X-Amz-Expires. The player's own URL is signed
for the longest SigV4 allows (7 days), so that after a shorter link's time the page still opens
and says plainly that the link has expired (it holds nothing but the public player code). A link
of the full 7 days ends with the page too: the store then answers with its own error. traycap
never logs a link: it is printed, copied or opened, nothing else.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from traycap.player.bucket import Bucket
from traycap.player.publish import Publisher

FRAGMENT_KEY = "z"
PLAYER_URL_S = 7 * 24 * 3600  # SigV4's longest: the page outlives any shorter link to say it expired


def compose(player_url: str, zip_url: str) -> str:
    """The player's URL with the zip's in its fragment (as a path and query when both share an origin)."""
    page, target = urlsplit(player_url), urlsplit(zip_url)
    if (page.scheme, page.netloc) == (target.scheme, target.netloc):
        zip_url = target.path + ("?" + target.query if target.query else "")
    # '&', '=', '+', '#' and '%' escaped: the page reads it back with URLSearchParams.
    return f"{player_url.split('#', 1)[0]}#{FRAGMENT_KEY}={quote(zip_url, safe='/:')}"


def player_link(bucket: Bucket, template: str, zip_key: str, expires_s: int, *, publisher: Publisher) -> str:
    """A link that plays the session at `zip_key` in the browser, from `bucket` alone."""
    player = publisher.ensure(bucket, template)
    zip_url = bucket.presign_get(zip_key, expires_s)  # first: an expiry out of range is refused before anything
    return compose(bucket.presign_get(player, PLAYER_URL_S), zip_url)
