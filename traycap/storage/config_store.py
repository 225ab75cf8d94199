"""upload-config.json (mode 0600) and app-settings.json.

The secret key and session token live in the OS keyring when a SecretStore
is usable (the file then says `"secretsIn": "keyring"` and holds no secret),
otherwise in the 0600 file. Moving a secret into the keyring writes the
keyring first, reads it back, and only then rewrites the file without it:
a crash in between leaves the secret in both places, never in neither. It
moves when a person saves settings (`traycap config set`, the dialog's Save),
never at a start nobody watches: that one only says where the secret is
(`log_secret_location`), and decides what to upload from the file alone
(`load_config_choices`), so no decision waits for a keyring.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from traycap.errors import ConfigInvalid, ConfigMissing, CorruptFile, SecretStoreError, SecretUnreachable
from traycap.format import parse_hotkey
from traycap.logs import register_secret
from traycap.models import MIN_PART_SIZE, AppSettings, UploadConfig
from traycap.object_keys import template_problem
from traycap.storage.atomic import read_json, write_json_atomic
from traycap.storage.secrets import SecretLocation, SecretStore
from traycap.storage.setting_keys import KEYS, SettingsFile, parse_assignments, unknown_setting

log = logging.getLogger(__name__)

CONFIG_MODE = 0o600
# S3 allows parts up to 5 GiB, but every part in flight is held in memory
# ((maxConcurrency + 1) parts), so traycap stops at 256 MiB: 1.25 GiB at most.
MAX_PART_SIZE = 256 * 1024 * 1024
_CONFIG_HINT = "fix or delete that file, then run `traycap config set KEY=VALUE ...`; sessions are unaffected"
_SETTINGS_HINT = "fix or delete that file to go back to the default settings; sessions are unaffected"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,40}$")
MAX_FPS = 60
MIN_SCREENSHOT_INTERVAL_S = 0.5
MAX_SCREENSHOT_INTERVAL_S = 3600.0
MAX_LINK_EXPIRY_S = 7 * 24 * 3600  # a SigV4 presigned URL lives 7 days at most
SSE_MODES = ("none", "AES256", "aws:kms")
MAX_UPLOAD_MBPS = 100_000
# A key id (UUID or mrk-...), a key or alias ARN, or alias/NAME: no spaces, at most 2048 characters.
_KMS_KEY_RE = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=,.@:-]{1,256}"
    r"|alias/[A-Za-z0-9/_-]{1,256}"
    r"|(mrk-)?[A-Za-z0-9-]{1,128})$"
)


SECRETS_IN = "secretsIn"  # the file's marker: "keyring" when its secrets are in the OS keyring


@dataclass(frozen=True)
class StoredConfig:
    """The config as loaded, where its secrets are, and why a keyring secret could not be read (if so)."""

    config: UploadConfig
    location: SecretLocation
    problem: str | None = None


def secret_account(path: Path, name: str) -> str:
    """The keyring entry of one secret: one set per data dir, so two data dirs never share a secret."""
    return f"{name}@{path.resolve().parent}"


def _read_raw(path: Path) -> tuple[dict[str, Any], UploadConfig] | None:
    try:
        data = read_json(path)
    except CorruptFile as exc:
        raise CorruptFile(exc.path, exc.reason, _CONFIG_HINT) from exc
    if data is None:
        return None
    try:
        return data, UploadConfig.from_json(data)
    except ValueError as exc:
        raise CorruptFile(str(path), str(exc), _CONFIG_HINT) from exc


def read_config(path: Path, secrets: SecretStore | None = None) -> StoredConfig | None:
    """The config with its secrets filled in from wherever they are; None when there is none yet.

    A keyring that cannot be read is not an exception here (`config show` still
    shows the rest): `problem` says why the secrets are missing."""
    raw = _read_raw(path)
    if raw is None:
        return None
    data, config = raw
    if data.get(SECRETS_IN) != SecretLocation.KEYRING.value:
        _register_secrets(config)
        return StoredConfig(config, SecretLocation.FILE)
    problem = secrets.unavailable_reason() if secrets is not None else "this process does not use the OS keyring"
    if problem is None and secrets is not None:
        try:
            values = {name: secrets.get(secret_account(path, name)) for name in UploadConfig.SECRET_FIELDS}
        except SecretStoreError as exc:
            problem = exc.message
        else:
            config = config.with_(secretAccessKey=values["secretAccessKey"] or "",
                                  sessionToken=values["sessionToken"] or None)
    _register_secrets(config)
    return StoredConfig(config, SecretLocation.KEYRING, problem)


def load_config_choices(path: Path) -> UploadConfig | None:
    """The upload settings as the file holds them, the keyring not asked: enough for every choice
    (autoUpload, uploadWhileRecording, the bucket), not for an upload when the secrets are in the keyring.
    None when there are no settings yet; CorruptFile when the file cannot be read."""
    raw = _read_raw(path)
    if raw is None:
        return None
    _register_secrets(raw[1])
    return raw[1]


def load_config(path: Path, secrets: SecretStore | None = None) -> UploadConfig | None:
    """None when there is no config yet; CorruptFile when it cannot be read; SecretUnreachable when its
    secrets are in a keyring that cannot be read now."""
    stored = read_config(path, secrets)
    if stored is None:
        return None
    if stored.problem is not None:
        raise SecretUnreachable(f"The upload secret is in the OS keyring, which cannot be read now: {stored.problem}")
    return stored.config


def _register_secrets(config: UploadConfig) -> None:
    """From the moment a secret is in memory, every log line masks it."""
    for name in UploadConfig.SECRET_FIELDS:
        register_secret(getattr(config, name))


def require_config(path: Path, secrets: SecretStore | None = None) -> UploadConfig:
    config = load_config(path, secrets)
    if config is None:
        raise ConfigMissing("No upload settings yet")
    problems = validate_config(config)
    if problems:
        raise ConfigInvalid(problems)
    return config


def save_config(path: Path, config: UploadConfig, secrets: SecretStore | None = None) -> SecretLocation:
    """Validate, then store: secrets in the keyring when `secrets` is usable, the rest (or all) in the
    file, atomically, mode 0600. ConfigInvalid (nothing written) when invalid. Returns where the
    secrets went."""
    _register_secrets(config)
    problems = validate_config(config)
    if problems:
        raise ConfigInvalid(problems)
    return _store(path, config, secrets)


def migrate_secrets(path: Path, secrets: SecretStore) -> StoredConfig | None:
    """Move secrets the file still holds into the keyring, when it is usable (when a person saves settings).

    Idempotent: after a crash half-way the file still has them and the next save finishes the move."""
    raw = _read_raw(path)
    if raw is None:
        return None
    data, config = raw
    in_file = any(data.get(name) for name in UploadConfig.SECRET_FIELDS)
    if data.get(SECRETS_IN) == SecretLocation.KEYRING.value or not in_file:
        return read_config(path, secrets)
    _register_secrets(config)
    if secrets.unavailable_reason() is not None:
        return StoredConfig(config, SecretLocation.FILE)
    location = _store(path, config, secrets)
    if location is SecretLocation.KEYRING:
        log.info("moved the upload secrets from %s into the OS keyring", path)
    return StoredConfig(config, location)


def log_secret_location(path: Path, secrets: SecretStore) -> None:
    """Say once in the log, at the start of the tray, `record` or `worker`, where the upload secrets are.
    Moves nothing and never raises."""
    try:
        raw = _read_raw(path)
    except CorruptFile as exc:
        log.warning("upload settings: %s", exc.user_text())
        return
    if raw is None:
        return
    reason = secrets.unavailable_reason()
    if raw[0].get(SECRETS_IN) == SecretLocation.KEYRING.value:
        if reason is not None:
            log.warning("the upload secret is in the OS keyring, which cannot be read now: %s", reason)
        else:
            log.info("upload secret stored in: keyring")
        return
    log.info("upload secret stored in: %s%s", SecretLocation.FILE.label,
             f" (no usable OS keyring: {reason})" if reason else
             " (the OS keyring is usable: it moves there when the settings are next saved)")


def _store(path: Path, config: UploadConfig, secrets: SecretStore | None) -> SecretLocation:
    data = config.to_json()
    location = SecretLocation.FILE
    if secrets is not None and secrets.unavailable_reason() is None:
        try:
            _put_secrets(path, config, secrets)
        except SecretStoreError as exc:
            log.warning("upload secret kept in the settings file (0600): %s", exc.message)
        else:
            location = SecretLocation.KEYRING
            for name in UploadConfig.SECRET_FIELDS:
                data.pop(name, None)
            data[SECRETS_IN] = location.value
    write_json_atomic(path, data, mode=CONFIG_MODE)
    # os.replace keeps the temp file's 0600; chmod again in case a user loosened it.
    os.chmod(path, CONFIG_MODE)
    if location is SecretLocation.KEYRING and secrets is not None:
        for name in UploadConfig.SECRET_FIELDS:
            if not getattr(config, name):
                try:
                    secrets.delete(secret_account(path, name))  # a cleared secret leaves the keyring too
                except SecretStoreError as exc:
                    log.warning("could not remove the cleared %s from the OS keyring: %s", name, exc.message)
    return location


def _put_secrets(path: Path, config: UploadConfig, secrets: SecretStore) -> None:
    """Write each secret to the keyring and read it back: the file loses it only after this returns."""
    for name in UploadConfig.SECRET_FIELDS:
        value = getattr(config, name)
        if not value:
            continue
        account = secret_account(path, name)
        secrets.set(account, value)
        if secrets.get(account) != value:
            raise SecretStoreError(f"The OS keyring did not give back the {name} just stored")


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
    elif (placeholder_problem := template_problem(config.keyPrefix)) is not None:
        problems["keyPrefix"] = placeholder_problem
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


def apply_assignments(config: UploadConfig, assignments: dict[str, str]) -> UploadConfig:
    """Apply `KEY=VALUE` strings (from the CLI or a form) with type checks.

    Raises ConfigInvalid naming every bad key; an empty value clears an
    optional field. Does not validate the result (see check_assignments).
    """
    updated, problems = _assign(config, SettingsFile.UPLOAD, assignments)
    if problems:
        raise ConfigInvalid(problems)
    return updated


def check_assignments(config: UploadConfig, assignments: dict[str, str]) -> tuple[UploadConfig, dict[str, str]]:
    """The config with every well-formed assignment applied, and every problem at once:
    values that do not parse, and what validate_config finds in the result."""
    if "sse" in assignments:  # as typed, in any case: aes256, AWS:KMS, None
        typed = assignments["sse"].strip()
        assignments = {**assignments, "sse": {mode.lower(): mode for mode in SSE_MODES}.get(typed.lower(), typed)}
    updated, problems = _assign(config, SettingsFile.UPLOAD, assignments)
    return updated, {**validate_config(updated), **problems}


def check_settings_assignments(settings: AppSettings,
                               assignments: dict[str, str]) -> tuple[AppSettings, dict[str, str]]:
    """check_assignments for the app settings."""
    updated, problems = _assign(settings, SettingsFile.APP, assignments)
    return updated, {**validate_settings(updated), **problems}


_Settings = TypeVar("_Settings", UploadConfig, AppSettings)


def _assign(current: _Settings, file: SettingsFile, assignments: dict[str, str]) -> tuple[_Settings, dict[str, str]]:
    for name in UploadConfig.SECRET_FIELDS:
        register_secret(assignments.get(name))
    values, problems = parse_assignments(assignments, file)
    for name in assignments:
        key = KEYS.get(name)
        if key is None:
            problems[name] = unknown_setting()
        elif key.file is not file:
            problems[name] = f"not one of the {file.value} settings"
    data = current.to_json()
    data.update(values)
    return type(current).from_json(data), problems


def validate_settings(settings: AppSettings) -> dict[str, str]:
    """One readable message per bad app setting; empty when all are usable."""
    problems: dict[str, str] = {}
    try:
        parse_hotkey(settings.hotkey)
    except ValueError as exc:
        problems["hotkey"] = str(exc)
    if not 1 <= settings.fps <= MAX_FPS:
        problems["fps"] = f"must be a whole number from 1 to {MAX_FPS}"
    if settings.monitor < 0:
        problems["monitor"] = "must be 0 (all monitors), 1 (the primary one) or another monitor's number"
    if not MIN_SCREENSHOT_INTERVAL_S <= settings.screenshotIntervalS <= MAX_SCREENSHOT_INTERVAL_S:
        problems["screenshotIntervalS"] = (
            f"must be between {MIN_SCREENSHOT_INTERVAL_S:g} and {MAX_SCREENSHOT_INTERVAL_S:g} seconds")
    if not 1 <= settings.linkExpiresS <= MAX_LINK_EXPIRY_S:
        problems["linkExpiresS"] = f"must be between 1 and {MAX_LINK_EXPIRY_S} seconds (7 days, S3's limit)"
    if settings.keepUploadedDays < -1:
        problems["keepUploadedDays"] = "must be -1 (never), 0 (once verified) or a number of days"
    if settings.localBudgetMB < 0:
        problems["localBudgetMB"] = "must be 0 (no budget) or more"
    if settings.minFreeMB < 0:
        problems["minFreeMB"] = "must be 0 (no check) or more"
    return problems


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
