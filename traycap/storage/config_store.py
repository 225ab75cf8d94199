"""upload-config.json (mode 0600: it may hold a secret key) and app-settings.json."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from traycap.errors import ConfigInvalid, ConfigMissing, CorruptFile
from traycap.logs import register_secret
from traycap.models import MIN_PART_SIZE, AppSettings, UploadConfig
from traycap.storage.atomic import read_json, write_json_atomic

CONFIG_MODE = 0o600
# S3 allows parts up to 5 GiB, but every part in flight is held in memory
# ((maxConcurrency + 1) parts), so traycap stops at 256 MiB: 1.25 GiB at most.
MAX_PART_SIZE = 256 * 1024 * 1024
_CONFIG_HINT = "fix or delete that file, then run `traycap config set KEY=VALUE ...`; sessions are unaffected"
_SETTINGS_HINT = "fix or delete that file to go back to the default settings; sessions are unaffected"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,40}$")
SSE_MODES = ("none", "AES256", "aws:kms")
MAX_UPLOAD_MBPS = 100_000
# A key id (UUID or mrk-...), a key or alias ARN, or alias/NAME: no spaces, at most 2048 characters.
_KMS_KEY_RE = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=,.@:-]{1,256}"
    r"|alias/[A-Za-z0-9/_-]{1,256}"
    r"|(mrk-)?[A-Za-z0-9-]{1,128})$"
)


def load_config(path: Path) -> UploadConfig | None:
    """None when there is no config yet; CorruptFile when it cannot be read."""
    try:
        data = read_json(path)
    except CorruptFile as exc:
        raise CorruptFile(exc.path, exc.reason, _CONFIG_HINT) from exc
    if data is None:
        return None
    try:
        config = UploadConfig.from_json(data)
    except ValueError as exc:
        raise CorruptFile(str(path), str(exc), _CONFIG_HINT) from exc
    _register_secrets(config)
    return config


def _register_secrets(config: UploadConfig) -> None:
    """From the moment a secret is in memory, every log line masks it."""
    for name in UploadConfig.SECRET_FIELDS:
        register_secret(getattr(config, name))


def require_config(path: Path) -> UploadConfig:
    config = load_config(path)
    if config is None:
        raise ConfigMissing("No upload settings yet")
    problems = validate_config(config)
    if problems:
        raise ConfigInvalid(problems)
    return config


def save_config(path: Path, config: UploadConfig) -> None:
    """Validate, then write atomically with mode 0600; ConfigInvalid (nothing written) when invalid."""
    _register_secrets(config)
    problems = validate_config(config)
    if problems:
        raise ConfigInvalid(problems)
    write_json_atomic(path, config.to_json(), mode=CONFIG_MODE)
    # os.replace keeps the temp file's 0600; chmod again in case a user loosened it.
    os.chmod(path, CONFIG_MODE)


def validate_config(config: UploadConfig) -> dict[str, str]:
    """One readable message per bad field; empty when the config is usable."""
    problems: dict[str, str] = {}
    if not config.bucket:
        problems["bucket"] = "a bucket name is required"
    elif not _BUCKET_RE.fullmatch(config.bucket):
        problems["bucket"] = "bucket names are 3-63 characters of a-z 0-9 . -"
    if not config.region:
        problems["region"] = "a region is required (for example us-east-1)"
    elif not _REGION_RE.fullmatch(config.region):
        problems["region"] = "a region looks like us-east-1"
    uses_chain = config.useDefaultCredentials or bool(config.profile)
    if not uses_chain:
        if not config.accessKeyId:
            problems["accessKeyId"] = "an access key id is required (or set profile / useDefaultCredentials)"
        if not config.secretAccessKey:
            problems["secretAccessKey"] = "a secret access key is required (or set profile / useDefaultCredentials)"
    elif config.accessKeyId and not config.secretAccessKey:
        problems["secretAccessKey"] = "an access key id needs its secret access key"
    if config.maxRetries < 0 or config.maxRetries > 100:
        problems["maxRetries"] = "must be between 0 and 100"
    if config.partSizeBytes < MIN_PART_SIZE:
        problems["partSizeBytes"] = f"must be at least {MIN_PART_SIZE} bytes (5 MiB, S3's smallest part)"
    elif config.partSizeBytes > MAX_PART_SIZE:
        problems["partSizeBytes"] = (
            f"must be at most {MAX_PART_SIZE} bytes (256 MiB: every part in flight is held in memory)"
        )
    if config.maxConcurrency < 1 or config.maxConcurrency > 32:
        problems["maxConcurrency"] = "must be between 1 and 32"
    if config.endpointUrl and not re.match(r"^https?://[^\s/]+", config.endpointUrl):
        problems["endpointUrl"] = "must start with http:// or https:// (leave blank for AWS)"
    if config.keyPrefix.startswith("/"):
        problems["keyPrefix"] = "must not start with /"
    if not 0 <= config.maxUploadMBps <= MAX_UPLOAD_MBPS:  # also false for NaN
        problems["maxUploadMBps"] = f"must be between 0 (no cap) and {MAX_UPLOAD_MBPS} MB/s"
    if config.sse not in SSE_MODES:
        problems["sse"] = "must be none, AES256 (keys managed by S3) or aws:kms (a KMS key)"
    if config.sseKmsKeyId:
        if config.sse != "aws:kms":
            problems["sseKmsKeyId"] = "is only used with sse=aws:kms (set sse=aws:kms, or clear it: sseKmsKeyId=)"
        elif not _KMS_KEY_RE.fullmatch(config.sseKmsKeyId):
            problems["sseKmsKeyId"] = "must be a KMS key id, key ARN, alias/NAME or alias ARN"
    return problems


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off"}


_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$")
_OPTIONAL_TEXT = ("sessionToken", "endpointUrl", "profile", "sseKmsKeyId")


def apply_assignments(config: UploadConfig, assignments: dict[str, str]) -> UploadConfig:
    """Apply `KEY=VALUE` strings (from the CLI or a form) with type checks.

    Raises ConfigInvalid naming every bad key; an empty value clears an
    optional field. Does not validate the result (see check_assignments).
    """
    updated, problems = _parse_assignments(config, assignments)
    if problems:
        raise ConfigInvalid(problems)
    return updated


def check_assignments(config: UploadConfig, assignments: dict[str, str]) -> tuple[UploadConfig, dict[str, str]]:
    """The config with every well-formed assignment applied, and every problem at once:
    values that do not parse, and what validate_config finds in the result."""
    updated, problems = _parse_assignments(config, assignments)
    return updated, {**validate_config(updated), **problems}


def _parse_assignments(config: UploadConfig, assignments: dict[str, str]) -> tuple[UploadConfig, dict[str, str]]:
    for key in UploadConfig.SECRET_FIELDS:
        register_secret(assignments.get(key))
    fields = UploadConfig.from_json({}).to_json().keys() | set(_OPTIONAL_TEXT)
    current: dict[str, Any] = config.to_json()
    problems: dict[str, str] = {}
    for key, value in assignments.items():
        if key not in fields:
            problems[key] = f"unknown setting (known: {', '.join(sorted(fields))})"
            continue
        kind = type(getattr(UploadConfig(), key))
        if key in _OPTIONAL_TEXT:
            current[key] = value or None
        elif key == "sse":  # as typed, in any case: aes256, AWS:KMS, None
            current[key] = {mode.lower(): mode for mode in SSE_MODES}.get(value.strip().lower(), value.strip())
        elif kind is bool:
            low = value.strip().lower()
            if low in _BOOL_TRUE:
                current[key] = True
            elif low in _BOOL_FALSE:
                current[key] = False
            else:
                problems[key] = "must be true or false"
        elif kind is int:
            if _INT_RE.fullmatch(value.strip()):
                current[key] = int(value.strip())
            else:
                problems[key] = "must be a whole number"
        elif kind is float:
            if _FLOAT_RE.fullmatch(value.strip()):
                current[key] = float(value.strip())
            else:
                problems[key] = "must be a number (for example 2 or 0.5)"
        else:
            current[key] = value
    return UploadConfig.from_json(current), problems


def load_settings(path: Path) -> AppSettings:
    """App settings; defaults when absent. CorruptFile when unreadable."""
    try:
        data = read_json(path)
    except CorruptFile as exc:
        raise CorruptFile(exc.path, exc.reason, _SETTINGS_HINT) from exc
    if data is None:
        return AppSettings()
    try:
        return AppSettings.from_json(data)
    except ValueError as exc:
        raise CorruptFile(str(path), str(exc), _SETTINGS_HINT) from exc


def save_settings(path: Path, settings: AppSettings) -> None:
    write_json_atomic(path, settings.to_json())
