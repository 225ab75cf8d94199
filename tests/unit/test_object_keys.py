"""traycap/object_keys.py: the keyPrefix template and the keys of the zip, sidecar and player."""

from __future__ import annotations

import time

import pytest

from traycap import object_keys as keys
from traycap.context import Context
from traycap.models import SessionMeta, UploadConfig
from traycap.upload.requests import s3_key

DAY_MS = int(time.mktime((2027, 1, 15, 12, 0, 0, 0, 0, -1)) * 1000)  # local noon, 15 Jan 2027


def test_placeholders_expand_to_the_machine_the_user_and_the_recording_date() -> None:
    values = keys.KeyVars.of(DAY_MS, host="Alice-Laptop.corp.example", user="bob smith")
    assert keys.expand("team/{host}/{user}/{yyyy}/{mm}/{dd}/", values) == "team/alice-laptop/bob-smith/2027/01/15/"
    assert keys.zip_key("team/{host}/", "s1", values) == "team/alice-laptop/s1.zip"
    assert keys.zip_key("sessions/", "s1", values) == "sessions/s1.zip"  # no placeholder: as written


@pytest.mark.parametrize(("host", "user", "expect"), [
    ("a/b.example", "../x", "a-b|x"), ("", "", "unknown|unknown"), ("x y", "ü", "x-y|unknown"),
])
def test_a_name_becomes_one_safe_path_segment(host: str, user: str, expect: str) -> None:
    values = keys.KeyVars.of(DAY_MS, host=host, user=user)
    assert f"{values.host}|{values.user}" == expect
    assert "/" not in values.host + values.user


def test_the_host_name_can_be_set_for_machines_whose_name_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.HOST_ENV, "build-box")
    assert keys.this_machine(DAY_MS).host == "build-box"


@pytest.mark.parametrize(("template", "problem"), [
    ("team/{host}/", None), ("{yyyy}-{mm}-{dd}/", None), ("plain/", None),
    ("team/{hostname}/", "unknown placeholder {hostname}"), ("team/{host/", "'{' or '}'"), ("a}b/", "'{' or '}'"),
])
def test_a_template_with_an_unknown_placeholder_or_a_stray_brace_is_refused(template: str, problem: str | None) -> None:
    found = keys.template_problem(template)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_key_fits_its_template_whatever_the_placeholders_were() -> None:
    assert keys.key_fits("team/{host}/{yyyy}/", "team/old-name/2026/s1.zip", "s1")
    assert not keys.key_fits("team/{host}/{yyyy}/", "team/a/b/2026/s1.zip", "s1")  # one segment per placeholder
    assert not keys.key_fits("other/{host}/", "team/old-name/s1.zip", "s1")
    assert not keys.key_fits("team/{host}/", "team/old-name/s2.zip", "s1")
    assert keys.key_fits("sessions/", "sessions/s1.zip", "s1")


def test_every_key_of_the_bucket_sits_under_the_fixed_part_of_the_template() -> None:
    assert keys.fixed_prefix("team/{host}/{yyyy}/") == "team/"
    assert keys.fixed_prefix("sessions/") == "sessions/"
    assert keys.player_key("team/{host}/", "0.2.0-abc") == "team/player/0.2.0-abc.html"
    assert keys.player_key("", "v") == "player/v.html"
    assert keys.sidecar_key("team/h/s1.zip") == "team/h/s1.json"


def test_a_session_keeps_its_key_while_it_fits_the_setting(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """Expanded once, stored in upload-state.json: a retry after midnight or a rename keeps it."""
    config = UploadConfig(bucket="b", keyPrefix="team/{host}/{yyyy}/")
    meta = SessionMeta(sessionId="s1", createdAt=DAY_MS)
    monkeypatch.setenv(keys.HOST_ENV, "new-name")
    assert s3_key(config, meta) == "team/new-name/2027/s1.zip"
    assert s3_key(config, meta, stored="team/old-name/2027/s1.zip") == "team/old-name/2027/s1.zip"
    moved = config.with_(keyPrefix="archive/{host}/")
    assert s3_key(moved, meta, stored="team/old-name/2027/s1.zip") == "archive/new-name/s1.zip"
