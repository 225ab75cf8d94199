"""Models: JSON round trips with the field names of docs/design.md, and precise errors for wrong types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from traycap.models import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_PART_SIZE,
    AppSettings,
    CompletedPart,
    KeystrokePrivacy,
    SessionListItem,
    SessionMeta,
    UploadConfig,
    UploadProgress,
    UploadState,
    UploadStatus,
    mask_secret,
)


def _through_json(obj: Any) -> Any:
    """Serialise to text and back, as the disk does."""
    return json.loads(json.dumps(obj.to_json()))


def full_state() -> UploadState:
    return UploadState(
        sessionId="20240101-120000-abcdef",
        status=UploadStatus.UPLOADING,
        createdAt=1_700_000_000_000,
        updatedAt=1_700_000_060_000,
        bytesUploaded=20 * 1024 * 1024,
        totalBytes=25 * 1024 * 1024,
        retryCount=2,
        maxRetries=7,
        s3Key="sessions/20240101-120000-abcdef.zip",
        lastError="The connection was reset",
        lastAttemptAt=1_700_000_050_000,
        completedAt=None,
        nextAttemptAt=1_700_000_070_000,
        uploadId="2~abcDEF",
        partSize=10 * 1024 * 1024,
        parts=(
            CompletedPart(1, '"etag-1"', 10 * 1024 * 1024, "q83vEjRWeJA="),
            CompletedPart(2, '"etag-2"', 10 * 1024 * 1024),
        ),
    )


def test_upload_state_round_trip_with_parts() -> None:
    state = full_state()
    data = _through_json(state)
    assert data["status"] == "uploading"
    assert data["parts"][0] == {"partNumber": 1, "etag": '"etag-1"', "size": 10485760, "checksum": "q83vEjRWeJA="}
    assert "checksum" not in data["parts"][1]
    assert UploadState.from_json(data) == state


def test_upload_state_json_names_are_designs() -> None:
    data = full_state().to_json()
    for name in ("sessionId", "status", "s3Key", "bytesUploaded", "totalBytes", "retryCount", "maxRetries",
                 "lastError", "lastAttemptAt", "createdAt", "updatedAt", "uploadId", "partSize", "parts"):
        assert name in data, name


def test_upload_state_minimal_gets_defaults() -> None:
    state = UploadState.from_json({"sessionId": "s1", "status": "pending", "createdAt": 1, "updatedAt": 2})
    assert state.retryCount == 0
    assert state.maxRetries == DEFAULT_MAX_RETRIES
    assert state.parts == ()
    assert state.s3Key is None
    assert UploadState.from_json(_through_json(state)) == state


@pytest.mark.parametrize(
    ("done", "sent", "total", "expected"),
    [(False, 0, 0, 0), (False, 5, 10, 50), (False, 10, 10, 100), (False, 15, 10, 100), (True, 0, 0, 100)],
)
def test_progress_is_0_to_100(done: bool, sent: int, total: int, expected: int) -> None:
    state = UploadState("s", UploadStatus.DONE if done else UploadStatus.UPLOADING, 1, 1,
                        bytesUploaded=sent, totalBytes=total)
    assert state.progress == expected
    assert UploadProgress.of(state).progress == expected


def test_upload_config_round_trip_and_defaults() -> None:
    default = UploadConfig.from_json({})
    assert default.maxRetries == 10 == DEFAULT_MAX_RETRIES
    assert default.partSizeBytes == 10 * 1024 * 1024 == DEFAULT_PART_SIZE
    assert default.keyPrefix == "sessions/"
    assert default.pathStyle is False and default.autoUpload is False
    assert default.uploadWhileRecording is True
    config = UploadConfig(
        bucket="b", region="eu-west-1", keyPrefix="x/", accessKeyId="AK", secretAccessKey="SECRETKEY",
        sessionToken="TOKEN1234", maxRetries=3, partSizeBytes=8 * 1024 * 1024, endpointUrl="http://127.0.0.1:9000",
        pathStyle=True, profile="work", useDefaultCredentials=True, autoUpload=True, compatibility=True,
        maxConcurrency=2, uploadWhileRecording=False,
    )
    assert UploadConfig.from_json(_through_json(config)) == config


def test_masked_json_shows_last_four_only() -> None:
    config = UploadConfig(secretAccessKey="wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzz", sessionToken="tok-abcdefgh9876")
    shown = config.masked_json()
    assert shown["secretAccessKey"] == "****zzzz"
    assert shown["sessionToken"] == "****9876"
    assert "wJalr" not in json.dumps(shown)
    assert mask_secret("abc") == "****"


def test_session_meta_keeps_unknown_keys() -> None:
    data = {
        "sessionId": "s1", "createdAt": 10, "endedAt": 20, "actionCount": 4, "screenshotCount": 2,
        "videoRef": "video/screen.mp4", "zipPath": "s1.zip", "fileSizeBytes": 99, "sha256": "ab" * 32,
        "fpsAchieved": 9.7, "monitors": [{"w": 1920}], "fromVersion": "9.9",
    }
    meta = SessionMeta.from_json(data)
    assert meta.extra == {"fpsAchieved": 9.7, "monitors": [{"w": 1920}], "fromVersion": "9.9"}
    assert _through_json(meta) == data
    assert SessionMeta.from_json(_through_json(meta)) == meta


def test_list_item_and_progress_json() -> None:
    item = SessionListItem("s1", 1000, 5, True, UploadStatus.FAILED, 40, endedAt=4000, fileSizeBytes=7,
                           zipPath="/z.zip", lastUploadError="denied")
    data = _through_json(item)
    assert data["uploadStatus"] == "failed" and data["uploadProgress"] == 40 and data["isExported"] is True
    assert data["lastUploadError"] == "denied" and item.durationMs == 3000
    prog = UploadProgress("s1", UploadStatus.UPLOADING, 5, 10, 50, None)
    assert _through_json(prog) == {"sessionId": "s1", "status": "uploading", "bytesUploaded": 5,
                                   "totalBytes": 10, "progress": 50}


def test_app_settings_round_trip() -> None:
    settings = AppSettings(hotkey="<ctrl>+<alt>+q", fps=5, monitor=2, screenshotIntervalS=2.5,
                           keystrokePrivacy=KeystrokePrivacy.NO_TEXT, copyLinkOnDone=True, linkExpiresS=60)
    assert AppSettings.from_json(_through_json(settings)) == settings
    assert AppSettings.from_json({}) == AppSettings()
    assert AppSettings.from_json({"screenshotIntervalS": 3}).screenshotIntervalS == 3.0


STATE_OK: dict[str, Any] = {"sessionId": "s1", "status": "pending", "createdAt": 1, "updatedAt": 2}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"retryCount": "3"}, "retryCount"),
        ({"retryCount": True}, "retryCount"),
        ({"bytesUploaded": 1.5}, "bytesUploaded"),
        ({"status": "paused"}, "status"),
        ({"status": 1}, "status"),
        ({"sessionId": 7}, "sessionId"),
        ({"createdAt": None}, "createdAt"),
        ({"lastError": ["x"]}, "lastError"),
        ({"parts": {"1": "etag"}}, "parts"),
        ({"parts": [{"partNumber": "1", "etag": "e", "size": 1}]}, "partNumber"),
        ({"parts": [{"partNumber": 1, "size": 1}]}, "etag"),
    ],
)
def test_upload_state_wrong_type_names_the_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=repr(field)):
        UploadState.from_json({**STATE_OK, **patch})


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_non_object_is_rejected(data: Any) -> None:
    for cls in (UploadState, SessionMeta, UploadConfig, AppSettings):
        with pytest.raises(ValueError, match="must be a JSON object"):
            cls.from_json(data)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "data", "field"),
    [
        (SessionMeta, {"sessionId": "s", "createdAt": "yesterday"}, "createdAt"),
        (SessionMeta, {"sessionId": "s", "createdAt": 1, "actionCount": False}, "actionCount"),
        (SessionMeta, {"createdAt": 1}, "sessionId"),
        (UploadConfig, {"maxRetries": "10"}, "maxRetries"),
        (UploadConfig, {"pathStyle": "yes"}, "pathStyle"),
        (UploadConfig, {"pathStyle": 1}, "pathStyle"),
        (UploadConfig, {"bucket": 5}, "bucket"),
        (AppSettings, {"fps": True}, "fps"),
        (AppSettings, {"keystrokePrivacy": "some"}, "keystrokePrivacy"),
        (AppSettings, {"screenshotIntervalS": "5"}, "screenshotIntervalS"),
    ],
)
def test_other_models_wrong_type_names_the_field(cls: Any, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=repr(field)):
        cls.from_json(data)


@pytest.mark.parametrize("name", ["bytesUploaded", "totalBytes", "retryCount", "maxRetries", "partSize"])
def test_negative_counts_in_an_upload_state_are_rejected_by_name(name: str) -> None:
    data = {"sessionId": "s1", "status": "pending", "createdAt": 1, "updatedAt": 1, name: -1}
    with pytest.raises(ValueError, match=name):
        UploadState.from_json(data)
