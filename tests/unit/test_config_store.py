"""Upload config store: 0600 file, validation messages, KEY=VALUE parsing; app settings."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.support.platforms import posix_only
from traycap.errors import ConfigInvalid, ConfigMissing, CorruptFile
from traycap.models import MIB, AppSettings, KeystrokePrivacy, UploadConfig
from traycap.storage.config_store import (
    apply_assignments,
    check_assignments,
    load_config,
    load_settings,
    require_config,
    save_config,
    save_settings,
    validate_config,
)

GOOD = UploadConfig(bucket="my-bucket", region="us-east-1", accessKeyId="AKIDEXAMPLE", secretAccessKey="s3cr3t-value")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_absent_config_is_none(tmp_path: Path) -> None:
    assert load_config(tmp_path / "upload-config.json") is None
    with pytest.raises(ConfigMissing):
        require_config(tmp_path / "upload-config.json")


@posix_only
def test_save_is_0600_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "upload-config.json"
    save_config(path, GOOD)
    assert mode_of(path) == 0o600
    assert load_config(path) == GOOD
    assert require_config(path) == GOOD


@posix_only
def test_overwriting_a_0644_file_makes_it_0600(tmp_path: Path) -> None:
    path = tmp_path / "upload-config.json"
    path.write_text(json.dumps({"bucket": "old"}))
    os.chmod(path, 0o644)
    save_config(path, GOOD.with_(bucket="new-bucket"))
    assert mode_of(path) == 0o600
    loaded = load_config(path)
    assert loaded is not None and loaded.bucket == "new-bucket"


def test_defaults() -> None:
    config = UploadConfig()
    assert (config.maxRetries, config.partSizeBytes, config.keyPrefix) == (10, 10 * MIB, "sessions/")
    assert (config.endpointUrl, config.pathStyle, config.autoUpload, config.profile) == (None, False, False, None)


def test_validate_one_message_per_missing_field() -> None:
    problems = validate_config(UploadConfig())
    assert set(problems) == {"bucket", "region", "accessKeyId", "secretAccessKey"}
    assert all(isinstance(text, str) and len(text) > 10 for text in problems.values())
    assert "required" in problems["bucket"] and "us-east-1" in problems["region"]


@pytest.mark.parametrize("creds", [{"profile": "work"}, {"useDefaultCredentials": True}])
def test_profile_or_default_chain_replaces_keys(creds: dict[str, object]) -> None:
    config = UploadConfig(bucket="my-bucket", region="eu-central-1").with_(**creds)
    assert validate_config(config) == {}


def test_key_id_without_secret_still_flagged_with_profile() -> None:
    config = UploadConfig(bucket="my-bucket", region="eu-central-1", profile="p", accessKeyId="AKID")
    assert set(validate_config(config)) == {"secretAccessKey"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"partSizeBytes": 5 * MIB - 1}, "partSizeBytes"),
        ({"partSizeBytes": 0}, "partSizeBytes"),
        ({"partSizeBytes": 6 * 1024 * MIB}, "partSizeBytes"),
        ({"maxRetries": -1}, "maxRetries"),
        ({"bucket": "UPPER_case"}, "bucket"),
        ({"region": "us east"}, "region"),
        ({"endpointUrl": "127.0.0.1:9000"}, "endpointUrl"),
        ({"keyPrefix": "/abs/"}, "keyPrefix"),
        ({"keyPrefix": "team/{hostname}/"}, "keyPrefix"),  # {host} {user} {yyyy} {mm} {dd} only
        ({"maxConcurrency": 0}, "maxConcurrency"),
    ],
)
def test_bad_values_rejected_and_nothing_written(tmp_path: Path, changes: dict[str, object], field: str) -> None:
    path = tmp_path / "upload-config.json"
    bad = GOOD.with_(**changes)
    assert set(validate_config(bad)) == {field}
    with pytest.raises(ConfigInvalid) as info:
        save_config(path, bad)
    assert field in info.value.fields and field in info.value.user_text()
    assert not path.exists()
    assert validate_config(GOOD.with_(partSizeBytes=5 * MIB)) == {}


def test_corrupt_config_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "upload-config.json"
    for content, reason in ((b"", "empty"), (b'{"bucket": ', "invalid JSON"), (b'{"maxRetries": "10"}', "maxRetries"),
                            (b"\x80\x81", "UTF-8"), (b"null", "null"), (b"[]", "JSON object")):
        path.write_bytes(content)
        with pytest.raises(CorruptFile) as info:
            load_config(path)
        assert info.value.path == str(path) and reason in info.value.reason, content


def test_apply_assignments_types() -> None:
    updated = apply_assignments(GOOD, {
        "maxRetries": " 3 ", "pathStyle": "YES", "autoUpload": "off", "endpointUrl": "http://127.0.0.1:9000",
        "keyPrefix": "team/", "partSizeBytes": str(8 * MIB), "uploadWhileRecording": "false",
    })
    assert (updated.maxRetries, updated.pathStyle, updated.autoUpload) == (3, True, False)
    assert updated.uploadWhileRecording is False and GOOD.uploadWhileRecording is True
    assert updated.endpointUrl == "http://127.0.0.1:9000"
    assert (updated.keyPrefix, updated.partSizeBytes) == ("team/", 8 * MIB)
    assert apply_assignments(updated, {"endpointUrl": ""}).endpointUrl is None


def test_apply_assignments_names_every_bad_key() -> None:
    with pytest.raises(ConfigInvalid) as info:
        apply_assignments(GOOD, {"maxRetries": "ten", "pathStyle": "maybe", "bukket": "x", "partSizeBytes": "1_000"})
    assert set(info.value.fields) == {"maxRetries", "pathStyle", "bukket", "partSizeBytes"}
    assert "unknown setting" in info.value.fields["bukket"]


def test_check_assignments_reports_parse_and_validation_problems_together() -> None:
    updated, problems = check_assignments(UploadConfig(), {"bucket": "my-bucket", "maxRetries": "x",
                                                           "partSizeBytes": "100"})
    assert updated.bucket == "my-bucket"
    assert set(problems) == {"maxRetries", "partSizeBytes", "region", "accessKeyId", "secretAccessKey"}


def test_app_settings(tmp_path: Path) -> None:
    path = tmp_path / "app-settings.json"
    assert load_settings(path) == AppSettings()
    settings = AppSettings(fps=15, keystrokePrivacy=KeystrokePrivacy.NONE)
    save_settings(path, settings)
    assert load_settings(path) == settings
    for content, reason in ((b"", "empty"), (b'{"fps": "fast"}', "'fps'"), (b"{", "invalid JSON"),
                            (b'{"keystrokePrivacy": "all"}', "keystrokePrivacy"), (b"\xfe", "UTF-8")):
        path.write_bytes(content)
        with pytest.raises(CorruptFile) as info:
            load_settings(path)
        assert info.value.path == str(path) and reason in info.value.reason


def test_part_size_is_capped_so_parts_in_flight_fit_in_memory() -> None:
    from traycap.models import UploadConfig
    from traycap.storage.config_store import validate_config

    base = UploadConfig(bucket="my-bucket", region="us-east-1", accessKeyId="AKID", secretAccessKey="s" * 8)
    assert "partSizeBytes" not in validate_config(base.with_(partSizeBytes=256 * 1024 * 1024))
    problems = validate_config(base.with_(partSizeBytes=256 * 1024 * 1024 + 1))
    assert "held in memory" in problems["partSizeBytes"]


@pytest.mark.parametrize(
    ("assignments", "sse", "key_id"),
    [
        ({"sse": "aes256"}, "AES256", None),
        ({"sse": "AWS:KMS"}, "aws:kms", None),
        ({"sse": "aws:kms", "sseKmsKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, "aws:kms",
         "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ({"sse": "aws:kms", "sseKmsKeyId": "alias/traycap"}, "aws:kms", "alias/traycap"),
        ({"sse": "aws:kms", "sseKmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd"}, "aws:kms",
         "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd"),
    ],
)
def test_server_side_encryption_settings(assignments: dict[str, str], sse: str, key_id: str | None) -> None:
    updated, problems = check_assignments(GOOD, assignments)
    assert problems == {}
    assert (updated.sse, updated.sseKmsKeyId) == (sse, key_id)
    assert UploadConfig.from_json(updated.to_json()) == updated


@pytest.mark.parametrize(
    ("assignments", "field", "says"),
    [
        ({"sse": "kms"}, "sse", "must be none, AES256"),
        ({"sse": "AES256", "sseKmsKeyId": "alias/x"}, "sseKmsKeyId", "only used with sse=aws:kms"),
        ({"sse": "aws:kms", "sseKmsKeyId": "not a key"}, "sseKmsKeyId", "must be a KMS key id"),
    ],
)
def test_bad_encryption_settings_are_named(assignments: dict[str, str], field: str, says: str) -> None:
    _, problems = check_assignments(GOOD, assignments)
    assert says in problems[field]


def test_an_empty_kms_key_id_clears_it() -> None:
    config = GOOD.with_(sse="aws:kms", sseKmsKeyId="alias/x")
    assert apply_assignments(config, {"sseKmsKeyId": ""}).sseKmsKeyId is None


@pytest.mark.parametrize(("value", "parsed"), [("2", 2.0), ("0.5", 0.5), ("0", 0.0), (".25", 0.25)])
def test_max_upload_rate_takes_a_number(value: str, parsed: float) -> None:
    updated, problems = check_assignments(GOOD, {"maxUploadMBps": value})
    assert problems == {} and updated.maxUploadMBps == parsed


@pytest.mark.parametrize(("value", "says"), [("fast", "must be a number"), ("-1", "between 0"), ("1e9", "between 0")])
def test_a_bad_max_upload_rate_is_named(value: str, says: str) -> None:
    _, problems = check_assignments(GOOD, {"maxUploadMBps": value})
    assert says in problems["maxUploadMBps"]
