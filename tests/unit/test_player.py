"""traycap/player/: the player published once per bucket and version, the link, the sidecar, the listing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support.fake_bucket import FakeBucket, Stored
from traycap.errors import AccessDenied, NetworkError
from traycap.player import remote, sidecar
from traycap.player.link import compose, player_link
from traycap.player.publish import CONTENT_TYPE, Publisher
from traycap.viewer.single_page import Page

PAGE = Page(html=b"<!doctype html><p>player</p>", csp="default-src 'none'", sha256="ab" * 32,
            version="0.2.0-abababababab")


def test_the_player_is_put_once_per_bucket_and_version_head_first() -> None:
    bucket = FakeBucket()
    publisher = Publisher(PAGE)
    key = publisher.ensure(bucket, "team/{host}/")
    assert key == "team/player/0.2.0-abababababab.html"
    assert bucket.calls == [("head", key), ("put", key)]
    stored = bucket.objects[key]
    assert stored.data == PAGE.html and stored.content_type == CONTENT_TYPE == "text/html; charset=utf-8"
    assert stored.metadata["sha256"] == PAGE.sha256
    # The same process makes more links: no request at all. Another process: one HeadObject, no upload.
    publisher.ensure(bucket, "team/{host}/")
    Publisher(PAGE).ensure(bucket, "team/{host}/")
    assert bucket.calls == [("head", key), ("put", key), ("head", key)]
    Publisher(PAGE).ensure(FakeBucket(name="other"), "team/{host}/")  # another bucket has its own


def test_a_player_object_that_is_not_this_page_is_replaced() -> None:
    bucket = FakeBucket()
    key = "sessions/player/0.2.0-abababababab.html"
    bucket.objects[key] = Stored(b"<p>half", CONTENT_TYPE, {"sha256": PAGE.sha256})
    Publisher(PAGE).ensure(bucket, "sessions/")
    assert bucket.objects[key].data == PAGE.html


def test_the_link_is_the_players_url_with_the_zips_in_the_fragment() -> None:
    bucket = FakeBucket()
    link = player_link(bucket, "team/{host}/", "team/alice/s1.zip", 3600, publisher=Publisher(PAGE))
    page, _, fragment = link.partition("#")
    assert urlsplit(page).path == "/bucket/team/player/0.2.0-abababababab.html"
    zip_url = parse_qs(fragment)["z"][0]  # what the page reads with URLSearchParams
    assert zip_url.startswith("/bucket/team/alice/s1.zip?") and "X-Amz-Signature=abc%2B%3D" in zip_url
    # The zip's URL expires when the link does; the page's lasts longer, to say so then.
    assert parse_qs(urlsplit(zip_url).query)["X-Amz-Expires"] == ["3600"]
    assert parse_qs(urlsplit(page).query)["X-Amz-Expires"] == [str(7 * 24 * 3600)]
    assert "#" not in fragment and "&" not in fragment.split("=", 1)[1]  # one parameter: nothing leaks out of it


def test_a_zip_on_another_origin_keeps_its_full_url() -> None:
    link = compose("https://a.example/p.html?sig=1", "https://b.example/z.zip?x=1&y=2")
    assert unquote(link.split("#z=", 1)[1]) == "https://b.example/z.zip?x=1&y=2"


def _zip(path: Path, info: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps(info))
        zf.writestr("actions/00000.jsonl", "{}\n")
    return path


def test_the_sidecar_holds_the_zips_session_json_size_sha256_and_format(tmp_path: Path) -> None:
    info = {"sessionId": "s1", "formatVersion": 2, "createdAt": 1_800_000_000_000, "durationMs": 5000,
            "counts": {"actions": 3}}
    bucket = FakeBucket()
    key = sidecar.write(bucket, "team/alice/s1.zip", _zip(tmp_path / "s1.zip", info), size=123, sha256="f" * 64,
                        uploaded_at=1_800_000_100_000)
    assert key == "team/alice/s1.json"
    stored = bucket.objects[key]
    assert stored.content_type == "application/json"
    found = sidecar.parse(stored.data)
    assert found == {"kind": "traycap-session", "version": 1, "sessionId": "s1", "zipKey": "team/alice/s1.zip",
                     "size": 123, "sha256": "f" * 64, "format": 2, "uploadedAt": 1_800_000_100_000, "session": info}
    assert sidecar.parse(b'{"kind": "something else"}') is None and sidecar.parse(b"\xff") is None


def test_the_listing_pairs_each_zip_with_its_sidecar_across_machines(tmp_path: Path) -> None:
    bucket = FakeBucket()
    for host, sid, created in (("alice", "s1", 1_800_000_000_000), ("bob", "s2", 1_800_000_500_000)):
        key = f"team/{host}/{sid}.zip"
        bucket.objects[key] = Stored(b"z" * 10, "application/zip", {})
        sidecar.write(bucket, key, _zip(tmp_path / f"{sid}.zip", {"sessionId": sid, "createdAt": created}),
                      size=10, sha256="0" * 64, uploaded_at=created)
    bucket.objects["team/carol/old.zip"] = Stored(b"z", "application/zip", {})  # uploaded before sidecars
    bucket.objects["team/carol/notes.json"] = Stored(b"{}", "application/json", {})
    bucket.objects["team/player/0.2.0-x.html"] = Stored(b"<p>", CONTENT_TYPE, {})
    bucket.objects["elsewhere/s9.zip"] = Stored(b"z", "application/zip", {})
    found = remote.list_sessions(bucket, "team/{host}/")
    assert [s.key for s in found] == ["team/bob/s2.zip", "team/alice/s1.zip", "team/carol/old.zip"]
    assert [s.session_id for s in found] == ["s2", "s1", "old"]
    assert found[0].to_json()["sidecar"] and not found[2].to_json()["sidecar"]
    assert ("get", "team/carol/notes.json") not in bucket.calls  # not beside a zip: not read
    assert [c for c in bucket.calls if c[0] == "list"] == [("list", "team/")]


@pytest.mark.parametrize("error", [NetworkError("reset"), AccessDenied("no")])
def test_a_failing_bucket_says_so(error: Exception) -> None:
    bucket = FakeBucket(fail={"head": error})
    with pytest.raises(type(error)):
        Publisher(PAGE).ensure(bucket, "sessions/")
