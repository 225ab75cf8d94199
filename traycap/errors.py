"""One error tree for traycap.

Every error carries `message` (what happened, in words a person can act on)
and `hint` (what to do about it). `transient` decides whether the upload queue
retries: True means "try again later", False means "retrying will not help".
An UploadError also keeps what the server said as fields (`code`: the S3 error
code, `status`: the HTTP status), so nobody digs them out of `__cause__`.

    TraycapError
    ├── ConfigError                       permanent
    │   ├── ConfigMissing                 no upload-config.json yet
    │   ├── ConfigInvalid                 one message per bad field (.fields)
    │   └── SecretUnreachable             transient: the secret is in an OS keyring that does not answer
    ├── StorageError                      permanent
    │   ├── CorruptFile                   unreadable/invalid JSON (.path)
    │   ├── SecretStoreError              transient: the OS keyring refused, failed or did not answer
    │   ├── DiskFull                      ENOSPC while writing
    │   │   └── LowDisk                   free space below minFreeMB (.free_bytes, .path)
    │   └── InvalidSessionId              a name that is not a session id
    ├── SessionError                      permanent
    │   ├── SessionNotFound
    │   ├── SessionNotExported
    │   ├── ZipMissing
    │   └── ZipChanged                    size/SHA-256 differ from export
    ├── UploadError
    │   ├── UploadRetryable               transient
    │   │   ├── NetworkError              reset, refused, timeout
    │   │   ├── ServerError               5xx
    │   │   │   └── UploadGone            NoSuchUpload: the multipart upload expired or was aborted
    │   │   ├── Throttled                 503 SlowDown, throttling
    │   │   └── UploadStalled             a part silent too long while the server answers (.part, .endpoint)
    │   ├── UploadPermanent               permanent
    │   │   ├── CredentialsRejected       InvalidAccessKeyId, SignatureDoesNotMatch
    │   │   ├── AccessDenied              403 AccessDenied
    │   │   ├── BucketNotFound            404 NoSuchBucket
    │   │   ├── BadRequest                400 and other 4xx
    │   │   ├── EncryptionKeyRejected     the KMS key is unknown, disabled or not usable
    │   │   └── VerificationFailed        the stored object does not match the zip
    │   └── UploadCancelled               the user cancelled or the app is quitting
    ├── QueueError                        permanent
    │   ├── IllegalTransition             a state-machine move that is not allowed
    │   └── QueueBusy                     another process holds the queue lock
    ├── RecorderError                     permanent
    │   ├── NoDisplay
    │   ├── CaptureLost                   display went away mid-recording (Wayland: the screen cast stopped)
    │   ├── HotkeyUnavailable             (Wayland: no GlobalShortcuts portal, or the binding was declined)
    │   ├── AlreadyRecording / NotRecording
    │   ├── PortalError                   Wayland: the desktop portal gave no screen cast (.step)
    │   │   ├── PortalUnavailable         no xdg-desktop-portal, or no ScreenCast in it
    │   │   ├── PortalTooOld              ScreenCast before version 4: no remembered permission
    │   │   ├── CaptureCancelled          the person closed the desktop's screen picker
    │   │   └── PortalFailed              the portal answered "failed" or refused a call
    │   ├── PipeWireUnavailable           no PipeWire connection, or no frame from it
    │   ├── InputDevicesDenied            /dev/input/event* unreadable: not in the input group
    │   └── SoundUnavailable              no sound device, no sound server, or access refused: recorded without sound
    │       └── SoundLost                 the device went away (or went quiet) mid-recording: silent from there
    ├── UiError                           permanent
    │   └── TrayUnavailable               no tray backend with a menu
    └── AutostartError                    permanent: start-at-login entry not readable/writable
        └── AutostartUnsupported          no autostart mechanism on this platform
"""

from __future__ import annotations


class TraycapError(Exception):
    transient: bool = False
    default_hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.hint_given = hint is not None  # False: the class's generic hint

    def user_text(self) -> str:
        """The message and hint as one line for a person (CLI, notification, menu)."""
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def __str__(self) -> str:
        return self.user_text()


# --- configuration ---------------------------------------------------------
class ConfigError(TraycapError):
    default_hint = "run `traycap config set KEY=VALUE` or open Upload settings"


class ConfigMissing(ConfigError):
    pass


class ConfigInvalid(ConfigError):
    def __init__(self, fields: dict[str, str], hint: str | None = None) -> None:
        self.fields = dict(fields)
        text = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        super().__init__(f"Upload settings are not valid: {text}", hint)


class SecretUnreachable(ConfigError):
    transient = True
    default_hint = ("unlock the keyring (log in to the desktop), or run `traycap config set secretAccessKey=-` "
                    "to store the secret in the 0600 settings file instead")


# --- storage -------------------------------------------------------------
class StorageError(TraycapError):
    pass


class SecretStoreError(StorageError):
    transient = True
    default_hint = "the secret stays in the settings file (mode 0600) until the keyring works"


class CorruptFile(StorageError):
    default_hint = "fix or delete that file; other sessions are unaffected"

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} is unreadable: {reason}", hint)


class DiskFull(StorageError):
    default_hint = "free some disk space; what was recorded so far is kept"


class LowDisk(DiskFull):
    default_hint = "free some disk space, or lower minFreeMB (`traycap config set minFreeMB=N`)"

    def __init__(self, path: str, free_bytes: int, min_free_bytes: int, hint: str | None = None) -> None:
        self.path = path
        self.free_bytes = free_bytes
        self.min_free_bytes = min_free_bytes
        mb = 1024 * 1024
        super().__init__(f"Only {free_bytes // mb} MB free on the disk of {path}; recording needs at least "
                         f"{min_free_bytes // mb} MB free", hint)


class InvalidSessionId(StorageError):
    default_hint = "a session id is 1-64 characters of A-Z a-z 0-9 _ - starting with a letter or digit"


# --- sessions --------------------------------------------------------------
class SessionError(TraycapError):
    default_hint = "run `traycap sessions` to see the sessions on this machine"


class SessionNotFound(SessionError):
    pass


class SessionNotExported(SessionError):
    default_hint = "stop the recording first; only exported sessions can be uploaded"


class ZipMissing(SessionError):
    default_hint = "the session's zip file was moved or deleted; it cannot be uploaded"


class ZipChanged(SessionError):
    default_hint = "the zip changed after export; it is not uploaded to avoid sending a corrupt bundle"


# --- upload ----------------------------------------------------------------
class UploadError(TraycapError):
    def __init__(
        self, message: str, hint: str | None = None, *, code: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, hint)
        self.code = code or None  # the S3 error code ("NoSuchUpload"), None when no answer came
        self.status = status  # the HTTP status of the answer, None when no answer came


class UploadRetryable(UploadError):
    transient = True
    default_hint = "traycap will retry automatically"

    def gave_up_text(self, attempts: int) -> str:
        """What to show once the queue stops retrying: the generic hint promised a retry."""
        if self.hint_given:
            return self.user_text()
        return f"{self.message} (gave up after {attempts} attempts; Retry tries again)"


class NetworkError(UploadRetryable):
    pass


class ServerError(UploadRetryable):
    pass


class UploadGone(ServerError):
    """NoSuchUpload: the multipart upload expired or was aborted; the next attempt starts afresh."""


class Throttled(UploadRetryable):
    pass


class UploadStalled(UploadRetryable):
    """A part's body was taken and never answered, for the stall time in all (upload/s3/stall.py),
    while the server answered other requests.

    Not an outage: the queue (and the live lane) abandon that multipart upload for a fresh
    one, once (see docs/queue.md).
    """

    default_hint = "the server may be faulty"

    def __init__(self, message: str, hint: str | None = None, *, part: int, endpoint: str) -> None:
        super().__init__(message, hint)
        self.part = part
        self.endpoint = endpoint


class UploadPermanent(UploadError):
    default_hint = "check Upload settings, then Retry"


class CredentialsRejected(UploadPermanent):
    pass


class AccessDenied(UploadPermanent):
    pass


class BucketNotFound(UploadPermanent):
    pass


class BadRequest(UploadPermanent):
    pass


class EncryptionKeyRejected(UploadPermanent):
    default_hint = (
        "check sseKmsKeyId in Upload settings, and that these credentials may use the key "
        "(kms:GenerateDataKey and kms:Decrypt)"
    )


class VerificationFailed(UploadPermanent):
    default_hint = "the object in the bucket did not match the zip; Retry uploads it again"


class UploadCancelled(UploadError):
    pass


# --- queue -----------------------------------------------------------------
class QueueError(TraycapError):
    pass


class IllegalTransition(QueueError):
    pass


class QueueBusy(QueueError):
    default_hint = "another traycap process is running the upload queue"


# --- recorder --------------------------------------------------------------
class RecorderError(TraycapError):
    pass


class NoDisplay(RecorderError):
    default_hint = "run traycap inside a desktop session (DISPLAY must be set), or use `traycap worker` to upload only"


class CaptureLost(RecorderError):
    default_hint = "what was recorded until then is kept and exported"


class HotkeyUnavailable(RecorderError):
    default_hint = "choose another hotkey in settings; the tray menu still works"


class AlreadyRecording(RecorderError):
    pass


class NotRecording(RecorderError):
    pass


class PortalError(RecorderError):
    """The desktop portal (Wayland) gave no screen cast; `step` names the portal call that failed."""

    def __init__(self, message: str, hint: str | None = None, *, step: str = "") -> None:
        super().__init__(message, hint)
        self.step = step


class PortalUnavailable(PortalError):
    default_hint = ("install xdg-desktop-portal with your desktop's backend (xdg-desktop-portal-gnome, -kde or -wlr) "
                    "and log in again, or record in an X11 session")


class PortalTooOld(PortalError):
    default_hint = "update xdg-desktop-portal to 1.12 or later so the desktop remembers the screen you chose"


class CaptureCancelled(PortalError):
    default_hint = "Start again and choose a screen (or a window) in the desktop's dialog"


class PortalFailed(PortalError):
    default_hint = ("check that PipeWire and WirePlumber run (systemctl --user status pipewire wireplumber), "
                    "then Start again")


class PipeWireUnavailable(RecorderError):
    default_hint = ("start PipeWire and WirePlumber (systemctl --user start pipewire wireplumber) and check that "
                    "the GStreamer PipeWire plugin is installed (gstreamer1.0-pipewire)")


class InputDevicesDenied(RecorderError):
    default_hint = ("to record clicks and keys on Wayland, add yourself to the input group "
                    "(sudo usermod -aG input $USER) and log in again; the screen is recorded either way")


class SoundUnavailable(RecorderError):
    """Never stops a recording: it goes on without sound, and the tray and session.json say why."""

    default_hint = ("check the device in `traycap config devices` and the system's sound settings; "
                    "the screen is recorded either way")


class SoundLost(SoundUnavailable):
    default_hint = "the recording goes on, silent from there; plug the device back in for the next recording"


# --- UI --------------------------------------------------------------------
class UiError(TraycapError):
    pass


class TrayUnavailable(UiError):
    default_hint = "install the system packages listed in the README, or use `traycap record` / `traycap worker`"


# --- autostart -------------------------------------------------------------
class AutostartError(TraycapError):
    default_hint = "check the permissions of the file named, or add traycap to your login items by hand"


class AutostartUnsupported(AutostartError):
    default_hint = "start traycap from your desktop's own login-items settings"
