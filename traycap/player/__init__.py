"""The share link's player: the replay page stored once in the user's own bucket.

    bucket.py    what the player needs of a bucket (a protocol; upload/s3/objects.py is the real one)
    publish.py   the page as one object per bucket and version (HeadObject first, PutObject when missing)
    link.py      the link: the player's presigned URL with the zip's presigned URL in the fragment
    sidecar.py   `<id>.json` beside each zip: what `traycap sessions --remote` lists
    remote.py    the sessions a bucket holds under a keyPrefix, from their sidecars

The page itself is the viewer's (traycap/viewer/page/, built into one file by
traycap/viewer/single_page.py): `traycap view` and the bucket player run the same code.
"""
