"""The Upload settings dialog (tkinter; the only tkinter importer).

It runs in its own process (`python -m traycap.ui.settings`, started by the
tray), so neither toolkit's main loop can freeze the other; the tray reloads
the files when the process exits. "Test connection" runs HeadBucket on a
helper thread and reports back through Tk's `after` polling, because Tk may
only be touched from its own thread.

The form logic is pure (`form_values`, `parse_form`) and tested without Tk;
`SettingsDialog` only moves strings between widgets and those functions.
Set TRAYCAP_SETTINGS_STATE to a file path and the dialog writes its visible
state (field errors, status line, widget positions) there after each change:
tests use it to find widgets and read the inline errors.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tkinter import ttk
from typing import Any

from traycap.errors import TraycapError
from traycap.models import MIB, AppSettings, KeystrokePrivacy, UploadConfig
from traycap.storage.atomic import write_json_atomic
from traycap.storage.config_store import (
    SETTINGS_KEYS,
    check_assignments,
    check_settings_assignments,
    save_config,
    save_settings,
)

log = logging.getLogger(__name__)

STATE_ENV = "TRAYCAP_SETTINGS_STATE"
CLOSED_WITHOUT_SAVING = 3  # exit status: the user cancelled (0 = saved, 1 = could not open)
_HOTKEY_RE = re.compile(r"^(<[a-z0-9_]+>\+)*(<[a-z0-9_]+>|[a-z0-9])$")


@dataclass(frozen=True)
class Field:
    key: str  # UploadConfig / AppSettings JSON name
    label: str
    kind: str  # text | secret | bool | int | choice
    target: str  # config | settings
    choices: tuple[str, ...] = ()
    hint: str = ""


FIELDS: tuple[Field, ...] = (
    Field("bucket", "Bucket", "text", "config"),
    Field("region", "Region", "text", "config", hint="for example us-east-1"),
    Field("keyPrefix", "Key prefix", "text", "config", hint="sessions/ puts sessions/ID.zip in the bucket"),
    Field("endpointUrl", "Endpoint URL", "text", "config", hint="blank for AWS; http://host:port for MinIO etc."),
    Field("pathStyle", "Path-style addressing", "bool", "config"),
    Field("accessKeyId", "Access key ID", "text", "config"),
    Field("secretAccessKey", "Secret access key", "secret", "config"),
    Field("sessionToken", "Session token (optional)", "secret", "config"),
    Field("profile", "AWS profile (instead of keys)", "text", "config"),
    Field("useDefaultCredentials", "Use the standard AWS credential chain (no keys here)", "bool", "config"),
    Field("maxRetries", "Max retries", "int", "config"),
    Field("partSizeMiB", "Part size (MiB)", "int", "config", hint="5 or more"),
    Field("autoUpload", "Upload automatically after a recording stops", "bool", "config"),
    Field("hotkey", "Hotkey", "text", "settings", hint="pynput syntax: <ctrl>+<shift>+r"),
    Field("fps", "Frames per second", "int", "settings"),
    Field("screenshotIntervalS", "Screenshot every (seconds)", "text", "settings"),
    Field("keystrokePrivacy", "Keystrokes", "choice", "settings", tuple(k.value for k in KeystrokePrivacy),
          hint="full, no_text (letters masked) or none"),
    Field("copyLinkOnDone", "Copy the share link when an upload is done", "bool", "settings"),
    Field("keepUploadedDays", "Keep uploaded sessions locally (days)", "int", "settings",
          hint="0 = delete once verified, -1 = keep forever"),
    Field("localBudgetMB", "Local disk budget (MB)", "int", "settings", hint="0 = no budget"),
    Field("minFreeMB", "Stop recording below free disk (MB)", "int", "settings", hint="0 = no check"),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


# --- pure form logic -------------------------------------------------------------
def form_values(config: UploadConfig | None, settings: AppSettings) -> dict[str, Any]:
    """What the widgets show: strings for entries, bools for check boxes."""
    c = config or UploadConfig()
    return {
        "bucket": c.bucket,
        "region": c.region,
        "keyPrefix": c.keyPrefix,
        "endpointUrl": c.endpointUrl or "",
        "pathStyle": c.pathStyle,
        "accessKeyId": c.accessKeyId,
        "secretAccessKey": c.secretAccessKey,
        "sessionToken": c.sessionToken or "",
        "profile": c.profile or "",
        "useDefaultCredentials": c.useDefaultCredentials,
        "maxRetries": str(c.maxRetries),
        "partSizeMiB": _mib_text(c.partSizeBytes),
        "autoUpload": c.autoUpload,
        "hotkey": settings.hotkey,
        "fps": str(settings.fps),
        "screenshotIntervalS": f"{settings.screenshotIntervalS:g}",
        "keystrokePrivacy": settings.keystrokePrivacy.value,
        "copyLinkOnDone": settings.copyLinkOnDone,
        **{key: str(getattr(settings, key)) for key in SETTINGS_KEYS},
    }


def _mib_text(n: int) -> str:
    return str(n // MIB) if n % MIB == 0 else f"{n / MIB:g}"


def parse_form(
    values: dict[str, Any], base_config: UploadConfig | None, base_settings: AppSettings,
) -> tuple[UploadConfig | None, AppSettings | None, dict[str, str]]:
    """(config, settings, errors by field key). Config (or settings) is None when one of its fields is bad;
    Save needs no errors at all, Test connection only a good config."""
    errors: dict[str, str] = {}
    text = {k: str(v).strip() for k, v in values.items() if not isinstance(v, bool)}
    flags = {k: v for k, v in values.items() if isinstance(v, bool)}
    assignments = {
        k: text.get(k, "") for k in (
            "bucket", "region", "keyPrefix", "endpointUrl", "accessKeyId", "secretAccessKey", "sessionToken",
            "profile", "maxRetries",
        )
    }
    assignments["pathStyle"] = "true" if flags.get("pathStyle") else "false"
    assignments["autoUpload"] = "true" if flags.get("autoUpload") else "false"
    assignments["useDefaultCredentials"] = "true" if flags.get("useDefaultCredentials") else "false"
    part = text.get("partSizeMiB", "")
    try:
        mib = float(part)
        if mib <= 0:
            raise ValueError
        assignments["partSizeBytes"] = str(int(mib * MIB))
    except ValueError:
        errors["partSizeMiB"] = "must be a number of MiB, 5 or more"
    # Every problem at once: values that do not parse AND what validation finds in the rest.
    config: UploadConfig | None
    config, problems = check_assignments(base_config or UploadConfig(), assignments)
    for key, message in problems.items():
        errors.setdefault("partSizeMiB" if key == "partSizeBytes" else key, message)

    settings_errors: dict[str, str] = {}
    hotkey = text.get("hotkey", "").lower()
    if not _HOTKEY_RE.fullmatch(hotkey):
        settings_errors["hotkey"] = "write it like <ctrl>+<shift>+r"
    fps = _int(text.get("fps", ""))
    if fps is None or not 1 <= fps <= 60:
        settings_errors["fps"] = "must be a whole number from 1 to 60"
    interval = _float(text.get("screenshotIntervalS", ""))
    if interval is None or not 0.5 <= interval <= 3600:
        settings_errors["screenshotIntervalS"] = "must be between 0.5 and 3600 seconds"
    privacy_text = text.get("keystrokePrivacy", "")
    try:
        privacy = KeystrokePrivacy(privacy_text)
    except ValueError:
        settings_errors["keystrokePrivacy"] = "choose full, no_text or none"
        privacy = base_settings.keystrokePrivacy
    retention, retention_errors = check_settings_assignments(
        base_settings, {key: text[key] for key in SETTINGS_KEYS if key in text})
    settings_errors.update(retention_errors)
    errors.update(settings_errors)
    settings: AppSettings | None = None
    if not settings_errors and fps is not None and interval is not None:
        settings = retention.with_(
            hotkey=hotkey, fps=fps, screenshotIntervalS=interval, keystrokePrivacy=privacy,
            copyLinkOnDone=bool(flags.get("copyLinkOnDone")),
        )
    config_bad = any(FIELD_BY_KEY[k].target == "config" for k in errors if k in FIELD_BY_KEY)
    config_bad = config_bad or any(k not in FIELD_BY_KEY for k in errors)
    return (None if config_bad else config), settings, errors


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def check_connection(config: UploadConfig) -> tuple[bool, str]:
    """HeadBucket through the upload service: (ok, what to show)."""
    from traycap.upload.s3 import UploadService

    try:
        result = UploadService(config).validate_credentials()
    except TraycapError as exc:
        return False, exc.user_text()
    if result.valid:
        return True, f"Connection OK: bucket {config.bucket} is reachable with these credentials"
    return False, result.error or "the bucket could not be reached"


# --- the dialog ----------------------------------------------------------------------
class SettingsDialog:
    def __init__(
        self,
        root: tk.Tk,
        config_path: Path,
        settings_path: Path,
        config: UploadConfig | None,
        settings: AppSettings,
        *,
        tester: Callable[[UploadConfig], tuple[bool, str]] = check_connection,
        on_saved: Callable[[], None] | None = None,
        state_path: Path | None = None,
    ) -> None:
        self.root = root
        self.config_path = config_path
        self.settings_path = settings_path
        self.base_config = config
        self.base_settings = settings
        self.tester = tester
        self.on_saved = on_saved
        self.state_path = state_path
        self.saved = False
        self.vars: dict[str, tk.StringVar | tk.BooleanVar] = {}
        self.widgets: dict[str, tk.Widget] = {}
        self.error_labels: dict[str, ttk.Label] = {}
        self._test_result: tuple[bool, str] | None = None
        self._build(form_values(config, settings))
        self.dump_state()

    def _build(self, values: dict[str, Any]) -> None:
        root = self.root
        root.title("traycap: Upload settings")
        style = ttk.Style(root)
        style.configure("Error.TLabel", foreground="#c62828")
        style.configure("Hint.TLabel", foreground="#666666")
        frame = ttk.Frame(root, padding=12)
        frame.grid(sticky="nsew")
        root.columnconfigure(0, weight=1)
        row = 0
        for section, target in (("S3 upload", "config"), ("Recording", "settings")):
            ttk.Label(frame, text=section, font=("TkDefaultFont", 11, "bold")).grid(
                row=row, column=0, columnspan=3, sticky="w", pady=(8 if row else 0, 4))
            row += 1
            for f in (f for f in FIELDS if f.target == target):
                self._add_field(frame, row, f, values[f.key])
                row += 1
        self.status = ttk.Label(frame, text="", wraplength=560)
        self.status.grid(row=row, column=0, columnspan=3, sticky="w", pady=(10, 4))
        row += 1
        buttons = ttk.Frame(frame)
        buttons.grid(row=row, column=0, columnspan=3, sticky="e")
        self.test_button = ttk.Button(buttons, text="Test connection", command=self.test_connection)
        self.save_button = ttk.Button(buttons, text="Save", command=self.save)
        self.cancel_button = ttk.Button(buttons, text="Cancel", command=self.root.destroy)
        for i, b in enumerate((self.test_button, self.save_button, self.cancel_button)):
            b.grid(row=0, column=i, padx=4)
        self.widgets.update(test=self.test_button, save=self.save_button, cancel=self.cancel_button)
        root.bind("<Escape>", lambda _e: self.root.destroy())
        first = self.widgets["bucket"]
        first.focus_set()

    def _add_field(self, frame: ttk.Frame, row: int, f: Field, value: Any) -> None:
        widget: tk.Widget
        if f.kind == "bool":
            var: tk.StringVar | tk.BooleanVar = tk.BooleanVar(value=bool(value))
            widget = ttk.Checkbutton(frame, text=f.label, variable=var)
            widget.grid(row=row, column=0, columnspan=2, sticky="w", pady=2)
        else:
            ttk.Label(frame, text=f.label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
            var = tk.StringVar(value=str(value))
            if f.kind == "choice":
                widget = ttk.Combobox(frame, textvariable=var, values=list(f.choices), state="readonly", width=36)
            else:
                widget = ttk.Entry(frame, textvariable=var, width=38, show="•" if f.kind == "secret" else "")
            widget.grid(row=row, column=1, sticky="ew", pady=2)
        error = ttk.Label(frame, text=f.hint, style="Hint.TLabel", wraplength=300)
        error.grid(row=row, column=2, sticky="w", padx=(8, 0))
        self.vars[f.key] = var
        self.widgets[f.key] = widget
        self.error_labels[f.key] = error

    # --- reading and showing ---------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {k: v.get() for k, v in self.vars.items()}

    def set_value(self, key: str, value: Any) -> None:
        self.vars[key].set(value)

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self.error_labels.items():
            if key in errors:
                label.configure(text=errors[key], style="Error.TLabel")
            else:
                label.configure(text=FIELD_BY_KEY[key].hint, style="Hint.TLabel")
        unknown = {k: v for k, v in errors.items() if k not in self.error_labels}
        if unknown:  # a field the form does not show (e.g. maxConcurrency from a hand-edited file)
            self.set_status("; ".join(f"{k}: {v}" for k, v in unknown.items()), error=True)

    def error_text(self, key: str) -> str:
        label = self.error_labels[key]
        return str(label.cget("text")) if str(label.cget("style")) == "Error.TLabel" else ""

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.configure(text=text, style="Error.TLabel" if error else "TLabel")
        self.dump_state()

    # --- buttons ---------------------------------------------------------------
    def save(self) -> bool:
        config, settings, errors = parse_form(self.values(), self.base_config, self.base_settings)
        self.show_errors(errors)
        if errors or config is None or settings is None:
            self.set_status("Not saved: fix the fields marked in red.", error=True)
            return False
        try:
            save_config(self.config_path, config)  # atomic, mode 0600
            save_settings(self.settings_path, settings)
        except TraycapError as exc:
            self.set_status(f"Not saved: {exc.user_text()}", error=True)
            return False
        except OSError as exc:
            self.set_status(f"Not saved: {exc.strerror or exc}", error=True)
            return False
        self.saved = True
        log.info("upload settings saved")
        self.set_status("Saved.")
        if self.on_saved is not None:
            self.on_saved()
        return True

    def test_connection(self) -> None:
        config, _settings, errors = parse_form(self.values(), self.base_config, self.base_settings)
        self.show_errors(errors)
        if config is None:
            self.set_status("Fix the S3 fields marked in red, then test again.", error=True)
            return
        self.test_button.state(["disabled"])
        self.set_status("Testing the connection…")
        self._test_result = None
        tested = config

        def work() -> None:
            try:
                self._test_result = self.tester(tested)
            except Exception as exc:  # never leave the dialog stuck on "Testing…"
                self._test_result = (False, f"{type(exc).__name__}: {exc}")

        threading.Thread(target=work, name="settings-test", daemon=True).start()
        self.root.after(50, self._poll_test)

    def _poll_test(self) -> None:
        result = self._test_result
        if result is None:
            self.root.after(50, self._poll_test)
            return
        self.test_button.state(["!disabled"])
        ok, text = result
        self.set_status(("✓ " if ok else "✗ ") + text, error=not ok)

    # --- for tests -----------------------------------------------------------------
    def dump_state(self) -> None:
        if self.state_path is None:
            return
        self.root.update_idletasks()
        state = {
            "status": str(self.status.cget("text")),
            "errors": {k: self.error_text(k) for k in self.error_labels if self.error_text(k)},
            "saved": self.saved,
            "widgets": {
                k: [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]
                for k, w in self.widgets.items()
            },
        }
        write_json_atomic(self.state_path, state)


def main(argv: list[str] | None = None) -> int:
    from traycap.context import make_context
    from traycap.logs import setup_logging

    ctx = make_context()
    setup_logging(ctx.paths.logs, "INFO", to_stderr=True)
    problems: list[str] = []
    try:
        config = ctx.load_config()
    except TraycapError as exc:
        config = None
        problems.append(exc.user_text())
    try:
        settings = ctx.load_settings()
    except TraycapError as exc:
        settings = AppSettings()
        problems.append(exc.user_text())
    try:
        root = tk.Tk(className="traycap-settings")
    except tk.TclError as exc:
        print(f"traycap: cannot open the settings window: {exc}", file=sys.stderr)
        return 1
    state = os.environ.get(STATE_ENV)
    dialog = SettingsDialog(
        root, ctx.paths.config, ctx.paths.settings, config, settings,
        on_saved=root.destroy, state_path=Path(state) if state else None,
    )
    if problems:
        dialog.set_status("The saved settings could not be read; saving replaces them. " + "; ".join(problems),
                          error=True)
    root.mainloop()
    return 0 if dialog.saved else CLOSED_WITHOUT_SAVING


if __name__ == "__main__":
    raise SystemExit(main())
