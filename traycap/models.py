"""The data traycap keeps on disk and passes around, as frozen dataclasses.

JSON field names are those of docs/design.md (camelCase). `from_json` checks every
field's type and raises ValueError with the field's name, so a hand-edited or
half-written file is reported precisely instead of crashing later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3's smallest allowed part (all but the last)
MAX_PARTS = 10_000  # S3's largest part number
DEFAULT_PART_SIZE = 10 * MIB
DEFAULT_MAX_RETRIES = 10

T = TypeVar("T")
_MISSING: Any = object()


class UploadStatus(str, enum.Enum):
    NOT_UPLOADED = "not_uploaded"
    PENDING = "pending"
    UPLOADING = "uploading"
    DONE = "done"
    FAILED = "failed"
    # Uploaded while recording, by the live lane of the recording process (traycap/upload/live.py);
    # the queue never picks it up.
    LIVE = "live"


def _field(d: dict[str, Any], name: str, kind: type[T] | tuple[type, ...], default: Any = _MISSING) -> Any:
    value = d.get(name)
    if value is None:
        if default is _MISSING:
            raise ValueError(f"field {name!r} is missing")
        return default
    if type(value) is kind:  # the common case, checked first: listing 1,000 sessions parses 15,000 fields
        return value
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a JSON true is never a valid count or time.
    if isinstance(value, bool) and bool not in kinds:
        raise ValueError(f"field {name!r} must be {_names(kinds)}, not {type(value).__name__}")
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, kinds):
        raise ValueError(f"field {name!r} must be {_names(kinds)}, not {type(value).__name__}")
    return value


E = TypeVar("E", bound=enum.Enum)


def _choice(d: dict[str, Any], name: str, kind: type[E], default: E) -> E:
    """A field holding one of an enum's values."""
    raw = _field(d, name, str, default.value)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"field {name!r} has unknown value {raw!r}") from None


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


def _obj(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object, not {type(data).__name__}")
    return data


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class CompletedPart:
    partNumber: int
    etag: str
    size: int
    checksum: str | None = None  # base64 checksum S3 verified (SHA-256/CRC32C/MD5), if any

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {"partNumber": self.partNumber, "etag": self.etag, "size": self.size, "checksum": self.checksum}
        )

    @classmethod
    def from_json(cls, data: Any) -> CompletedPart:
        d = _obj(data, "part")
        return cls(
            partNumber=_field(d, "partNumber", int),
            etag=_field(d, "etag", str),
            size=_field(d, "size", int),
            checksum=_field(d, "checksum", str, None),
        )


@dataclass(frozen=True)
class UploadState:
    sessionId: str
    status: UploadStatus
    createdAt: int
    updatedAt: int
    bytesUploaded: int = 0
    totalBytes: int = 0
    retryCount: int = 0
    maxRetries: int = DEFAULT_MAX_RETRIES
    s3Key: str | None = None
    lastError: str | None = None
    lastAttemptAt: int | None = None
    completedAt: int | None = None
    # Backoff survives a restart: the queue does not try before this time.
    nextAttemptAt: int | None = None
    # Resume: the multipart upload in progress and the parts S3 already has.
    uploadId: str | None = None
    partSize: int | None = None
    parts: tuple[CompletedPart, ...] = ()
    # The stall rule (docs/queue.md): attempts on this uploadId that got no part accepted
    # while the server answered, and multipart uploads already abandoned for stalling.
    stalls: int = 0
    freshStarts: int = 0
    # The multipart upload was started while recording, without x-amz-meta-sha256: whoever
    # completes it stamps the metadata afterwards (a self-copy).
    stampAfterComplete: bool = False

    @property
    def progress(self) -> int:
        if self.status is UploadStatus.DONE:
            return 100
        if self.totalBytes <= 0:
            return 0
        return max(0, min(100, (self.bytesUploaded * 100) // self.totalBytes))

    def with_(self, **changes: Any) -> UploadState:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "sessionId": self.sessionId,
                "status": self.status.value,
                "s3Key": self.s3Key,
                "bytesUploaded": self.bytesUploaded,
                "totalBytes": self.totalBytes,
                "retryCount": self.retryCount,
                "maxRetries": self.maxRetries,
                "lastError": self.lastError,
                "lastAttemptAt": self.lastAttemptAt,
                "completedAt": self.completedAt,
                "createdAt": self.createdAt,
                "updatedAt": self.updatedAt,
                "nextAttemptAt": self.nextAttemptAt,
                "uploadId": self.uploadId,
                "partSize": self.partSize,
                "parts": [p.to_json() for p in self.parts],
                "stalls": self.stalls or None,
                "freshStarts": self.freshStarts or None,
                "stampAfterComplete": self.stampAfterComplete or None,
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> UploadState:
        d = _obj(data, "upload state")
        raw_status = _field(d, "status", str)
        try:
            status = UploadStatus(raw_status)
        except ValueError:
            raise ValueError(f"field 'status' has unknown value {raw_status!r}") from None
        parts_raw = _field(d, "parts", list, [])
        for name in ("bytesUploaded", "totalBytes", "retryCount", "maxRetries", "partSize", "stalls", "freshStarts"):
            value = d.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"field {name!r} must not be negative, not {value}")
        return cls(
            sessionId=_field(d, "sessionId", str),
            status=status,
            s3Key=_field(d, "s3Key", str, None),
            bytesUploaded=_field(d, "bytesUploaded", int, 0),
            totalBytes=_field(d, "totalBytes", int, 0),
            retryCount=_field(d, "retryCount", int, 0),
            maxRetries=_field(d, "maxRetries", int, DEFAULT_MAX_RETRIES),
            lastError=_field(d, "lastError", str, None),
            lastAttemptAt=_field(d, "lastAttemptAt", int, None),
            completedAt=_field(d, "completedAt", int, None),
            createdAt=_field(d, "createdAt", int),
            updatedAt=_field(d, "updatedAt", int),
            nextAttemptAt=_field(d, "nextAttemptAt", int, None),
            uploadId=_field(d, "uploadId", str, None),
            partSize=_field(d, "partSize", int, None),
            parts=tuple(CompletedPart.from_json(p) for p in parts_raw),
            stalls=_field(d, "stalls", int, 0),
            freshStarts=_field(d, "freshStarts", int, 0),
            stampAfterComplete=_field(d, "stampAfterComplete", bool, False),
        )


@dataclass(frozen=True)
class UploadConfig:
    bucket: str = ""
    region: str = ""
    keyPrefix: str = "sessions/"
    accessKeyId: str = ""
    secretAccessKey: str = field(default="", repr=False)  # repr(config) must not show a secret
    sessionToken: str | None = field(default=None, repr=False)
    maxRetries: int = DEFAULT_MAX_RETRIES
    partSizeBytes: int = DEFAULT_PART_SIZE
    endpointUrl: str | None = None
    pathStyle: bool = False
    profile: str | None = None
    useDefaultCredentials: bool = False
    autoUpload: bool = False
    # With autoUpload: upload a recording while it is recorded (the live lane), so its link is
    # ready moments after Stop. Off: the whole zip is queued at Stop.
    uploadWhileRecording: bool = True
    # For stores that reject boto3's default flexible checksums (older MinIO,
    # some S3 clones): send checksums only when required, use Content-MD5.
    compatibility: bool = False
    maxConcurrency: int = 4  # parts in flight within one upload
    # Server-side encryption asked of the store: "none", "AES256" (SSE-S3) or "aws:kms" (SSE-KMS,
    # with sseKmsKeyId, or the account's default KMS key when it is empty).
    sse: str = "none"
    sseKmsKeyId: str | None = None
    maxUploadMBps: float = 0.0  # cap on the upload rate, all parts in flight together; 0 = none

    SECRET_FIELDS = ("secretAccessKey", "sessionToken")

    def with_(self, **changes: Any) -> UploadConfig:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "bucket": self.bucket,
                "region": self.region,
                "keyPrefix": self.keyPrefix,
                "accessKeyId": self.accessKeyId,
                "secretAccessKey": self.secretAccessKey,
                "sessionToken": self.sessionToken,
                "maxRetries": self.maxRetries,
                "partSizeBytes": self.partSizeBytes,
                "endpointUrl": self.endpointUrl,
                "pathStyle": self.pathStyle,
                "profile": self.profile,
                "useDefaultCredentials": self.useDefaultCredentials,
                "autoUpload": self.autoUpload,
                "uploadWhileRecording": self.uploadWhileRecording,
                "compatibility": self.compatibility,
                "maxConcurrency": self.maxConcurrency,
                "sse": self.sse,
                "sseKmsKeyId": self.sseKmsKeyId,
                "maxUploadMBps": self.maxUploadMBps,
            }
        )

    def masked_json(self) -> dict[str, Any]:
        """The config for display: secrets show only their last 4 characters."""
        out = self.to_json()
        for name in self.SECRET_FIELDS:
            if out.get(name):
                out[name] = mask_secret(out[name])
        return out

    @classmethod
    def from_json(cls, data: Any) -> UploadConfig:
        d = _obj(data, "upload config")
        return cls(
            bucket=_field(d, "bucket", str, ""),
            region=_field(d, "region", str, ""),
            keyPrefix=_field(d, "keyPrefix", str, "sessions/"),
            accessKeyId=_field(d, "accessKeyId", str, ""),
            secretAccessKey=_field(d, "secretAccessKey", str, ""),
            sessionToken=_field(d, "sessionToken", str, None),
            maxRetries=_field(d, "maxRetries", int, DEFAULT_MAX_RETRIES),
            partSizeBytes=_field(d, "partSizeBytes", int, DEFAULT_PART_SIZE),
            endpointUrl=_field(d, "endpointUrl", str, None),
            pathStyle=_field(d, "pathStyle", bool, False),
            profile=_field(d, "profile", str, None),
            useDefaultCredentials=_field(d, "useDefaultCredentials", bool, False),
            autoUpload=_field(d, "autoUpload", bool, False),
            uploadWhileRecording=_field(d, "uploadWhileRecording", bool, True),
            compatibility=_field(d, "compatibility", bool, False),
            maxConcurrency=_field(d, "maxConcurrency", int, 4),
            sse=_field(d, "sse", str, "none"),
            sseKmsKeyId=_field(d, "sseKmsKeyId", str, None),
            maxUploadMBps=float(_field(d, "maxUploadMBps", float, 0.0)),
        )


def mask_secret(secret: str) -> str:
    if len(secret) <= 4:
        return "****"
    return "****" + secret[-4:]


@dataclass(frozen=True)
class SessionMeta:
    sessionId: str
    createdAt: int
    endedAt: int | None = None
    actionCount: int = 0
    screenshotCount: int = 0
    videoRef: str | None = None
    zipPath: str | None = None
    fileSizeBytes: int | None = None
    sha256: str | None = None  # of the zip, hex
    crc32: str | None = None  # of the zip, hex: the upload checks its parts against it (upload/s3/sources.py)
    # Anything else the recorder wants to keep (fps achieved, monitors, ...);
    # unknown keys from other versions survive a round trip here too.
    extra: dict[str, Any] = field(default_factory=dict)

    KNOWN = (
        "sessionId", "createdAt", "endedAt", "actionCount", "screenshotCount",
        "videoRef", "zipPath", "fileSizeBytes", "sha256", "crc32",
    )

    def with_(self, **changes: Any) -> SessionMeta:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.extra)
        out.update(
            _drop_none(
                {
                    "sessionId": self.sessionId,
                    "createdAt": self.createdAt,
                    "endedAt": self.endedAt,
                    "actionCount": self.actionCount,
                    "screenshotCount": self.screenshotCount,
                    "videoRef": self.videoRef,
                    "zipPath": self.zipPath,
                    "fileSizeBytes": self.fileSizeBytes,
                    "sha256": self.sha256,
                    "crc32": self.crc32,
                }
            )
        )
        return out

    @classmethod
    def from_json(cls, data: Any) -> SessionMeta:
        d = _obj(data, "session meta")
        return cls(
            sessionId=_field(d, "sessionId", str),
            createdAt=_field(d, "createdAt", int),
            endedAt=_field(d, "endedAt", int, None),
            actionCount=_field(d, "actionCount", int, 0),
            screenshotCount=_field(d, "screenshotCount", int, 0),
            videoRef=_field(d, "videoRef", str, None),
            zipPath=_field(d, "zipPath", str, None),
            fileSizeBytes=_field(d, "fileSizeBytes", int, None),
            sha256=_field(d, "sha256", str, None),
            crc32=_field(d, "crc32", str, None),
            extra={k: v for k, v in d.items() if k not in cls.KNOWN},
        )


@dataclass(frozen=True)
class SessionListItem:
    sessionId: str
    createdAt: int
    actionCount: int
    isExported: bool
    uploadStatus: UploadStatus
    uploadProgress: int = 0
    endedAt: int | None = None
    fileSizeBytes: int | None = None
    zipPath: str | None = None
    lastUploadError: str | None = None
    # A readable problem with this session's files (corrupt JSON, ...), if any.
    problem: str | None = None
    retryCount: int = 0
    maxRetries: int = DEFAULT_MAX_RETRIES
    # False once retention removed the local zip of an uploaded session (its meta and state stay).
    localCopy: bool = True
    # Bytes in the bucket so far (the parts accepted): shown while uploading while recording.
    uploadedBytes: int = 0

    @property
    def durationMs(self) -> int | None:
        return None if self.endedAt is None else max(0, self.endedAt - self.createdAt)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "sessionId": self.sessionId,
                "createdAt": self.createdAt,
                "endedAt": self.endedAt,
                "actionCount": self.actionCount,
                "fileSizeBytes": self.fileSizeBytes,
                "zipPath": self.zipPath,
                "isExported": self.isExported,
                "uploadStatus": self.uploadStatus.value,
                "uploadProgress": self.uploadProgress,
                "lastUploadError": self.lastUploadError,
                "problem": self.problem,
                "retryCount": self.retryCount,
                "maxRetries": self.maxRetries,
                "localCopy": self.localCopy,
                "uploadedBytes": self.uploadedBytes if self.uploadStatus is UploadStatus.LIVE else None,
            }
        )


@dataclass(frozen=True)
class UploadProgress:
    sessionId: str
    status: UploadStatus
    bytesUploaded: int
    totalBytes: int
    progress: int
    error: str | None = None

    @classmethod
    def of(cls, state: UploadState) -> UploadProgress:
        return cls(
            sessionId=state.sessionId,
            status=state.status,
            bytesUploaded=state.bytesUploaded,
            totalBytes=state.totalBytes,
            progress=state.progress,
            error=state.lastError,
        )

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "sessionId": self.sessionId,
                "status": self.status.value,
                "bytesUploaded": self.bytesUploaded,
                "totalBytes": self.totalBytes,
                "progress": self.progress,
                "error": self.error,
            }
        )


class KeystrokePrivacy(str, enum.Enum):
    FULL = "full"  # every key as typed
    NO_TEXT = "no_text"  # letters and digits masked; modifiers and special keys kept
    NONE = "none"  # no key events at all


class WaylandSource(str, enum.Enum):
    """What the desktop's screen picker offers on Wayland (docs/wayland.md)."""

    SCREEN = "screen"  # a whole screen
    WINDOW = "window"  # one window: the recording holds only the window chosen (where the desktop offers it)


class WaylandInput(str, enum.Enum):
    """Where clicks and keys come from on Wayland, where no app hears them outside its own windows."""

    NONE = "none"  # no click or key track (the pointer is drawn into the video)
    DEVICES = "devices"  # read the keyboard and mouse devices: needs the user in the `input` group


class AudioMode(str, enum.Enum):
    """What a recording hears (docs/audio.md): nothing unless the user asks."""

    NONE = "none"
    MIC = "mic"  # the microphone (`audioDevice`, or the system's default input)
    SYSTEM = "system"  # what the computer plays (PulseAudio's monitor source, WASAPI loopback)
    BOTH = "both"  # the two mixed into one track

    @property
    def mic(self) -> bool:
        return self in (AudioMode.MIC, AudioMode.BOTH)

    @property
    def system(self) -> bool:
        return self in (AudioMode.SYSTEM, AudioMode.BOTH)


class VideoEncoderSetting(str, enum.Enum):
    """Which H.264 encoder records (media/encoders.py decides with a probe encode)."""

    AUTO = "auto"  # a hardware encoder when one works, else libx264
    HARDWARE = "hardware"  # the same, and a warning when none works
    X264 = "x264"  # libx264 only (the CPU)


@dataclass(frozen=True)
class AppSettings:
    """Recorder and tray preferences (app-settings.json; holds no secret)."""

    hotkey: str = "<ctrl>+<shift>+r"
    fps: int = 10
    monitor: int = 0  # 0 = all monitors, 1 = primary, N = Nth (mss numbering)
    screenshotIntervalS: float = 5.0
    keystrokePrivacy: KeystrokePrivacy = KeystrokePrivacy.FULL
    copyLinkOnDone: bool = False
    linkExpiresS: int = 7 * 24 * 3600
    # Retention (docs/retention.md): only `done` sessions' local copies are ever deleted.
    keepUploadedDays: int = 7  # 0 = as soon as the upload is verified; -1 = never
    localBudgetMB: int = 20480  # 0 = no budget
    minFreeMB: int = 1024  # a recording does not start (and stops) below this much free disk
    # Windows (class, app name or title; fnmatch patterns, any case) whose keys and screen are never recorded.
    excludedApps: tuple[str, ...] = ()
    # Wayland only (docs/wayland.md): what the screen picker offers, and whether input devices are read.
    waylandSource: WaylandSource = WaylandSource.SCREEN
    waylandInput: WaylandInput = WaylandInput.NONE
    audio: AudioMode = AudioMode.NONE
    audioDevice: str = ""  # the microphone by name (as `traycap config devices` lists it); "" = the default
    encoder: VideoEncoderSetting = VideoEncoderSetting.AUTO

    def with_(self, **changes: Any) -> AppSettings:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "hotkey": self.hotkey,
            "fps": self.fps,
            "monitor": self.monitor,
            "screenshotIntervalS": self.screenshotIntervalS,
            "keystrokePrivacy": self.keystrokePrivacy.value,
            "copyLinkOnDone": self.copyLinkOnDone,
            "linkExpiresS": self.linkExpiresS,
            "keepUploadedDays": self.keepUploadedDays,
            "localBudgetMB": self.localBudgetMB,
            "minFreeMB": self.minFreeMB,
            "excludedApps": list(self.excludedApps),
            "waylandSource": self.waylandSource.value,
            "waylandInput": self.waylandInput.value,
            "audio": self.audio.value,
            "audioDevice": self.audioDevice,
            "encoder": self.encoder.value,
        }

    @classmethod
    def from_json(cls, data: Any) -> AppSettings:
        d = _obj(data, "app settings")
        privacy = _choice(d, "keystrokePrivacy", KeystrokePrivacy, KeystrokePrivacy.FULL)
        excluded = _field(d, "excludedApps", list, [])
        if not all(isinstance(p, str) for p in excluded):
            raise ValueError("field 'excludedApps' must be a list of strings")
        return cls(
            hotkey=_field(d, "hotkey", str, "<ctrl>+<shift>+r"),
            fps=_field(d, "fps", int, 10),
            monitor=_field(d, "monitor", int, 0),
            screenshotIntervalS=float(_field(d, "screenshotIntervalS", float, 5.0)),
            keystrokePrivacy=privacy,
            copyLinkOnDone=_field(d, "copyLinkOnDone", bool, False),
            linkExpiresS=_field(d, "linkExpiresS", int, 7 * 24 * 3600),
            keepUploadedDays=_field(d, "keepUploadedDays", int, 7),
            localBudgetMB=_field(d, "localBudgetMB", int, 20480),
            minFreeMB=_field(d, "minFreeMB", int, 1024),
            excludedApps=tuple(excluded),
            waylandSource=_choice(d, "waylandSource", WaylandSource, WaylandSource.SCREEN),
            waylandInput=_choice(d, "waylandInput", WaylandInput, WaylandInput.NONE),
            audio=_choice(d, "audio", AudioMode, AudioMode.NONE),
            audioDevice=_field(d, "audioDevice", str, ""),
            encoder=_choice(d, "encoder", VideoEncoderSetting, VideoEncoderSetting.AUTO),
        )
