"""The Upload settings dialog (tkinter; the only tkinter importer).

It runs in its own process (`python -m traycap.ui.settings`, started by the
tray), so neither toolkit's main loop can freeze the other; the tray reloads
the files when the process exits. While open, the dialog follows changes other
programs make to the files (a stat a second): fields the user has not edited
show the new values, edited ones are kept. "Test connection" runs HeadBucket on a
helper thread and reports back through Tk's `after` polling, because Tk may
only be touched from its own thread.

The form logic is pure (settings_form.py: `form_values`, `parse_form`) and tested
without Tk; `SettingsDialog` only moves strings between widgets and those functions.
Set TRAYCAP_SETTINGS_STATE to a file path and the dialog writes its visible
state (field errors, status line, widget positions) there after each change:
tests use it to find widgets and read the inline errors.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import ttk
from typing import Any

from traycap.errors import TraycapError
from traycap.media.sound import list_devices
from traycap.media.sound.base import MIC
from traycap.models import AppSettings, UploadConfig
from traycap.osutil.desktop import WAYLAND, session_type
from traycap.storage.atomic import write_json_atomic
from traycap.storage.config_store import read_config, save_config, save_settings
from traycap.storage.keyring_memory import KeyringMemory
from traycap.storage.secrets import SecretStore
from traycap.storage.settings_watch import SettingsWatch
from traycap.ui.settings_form import (
    DEFAULT_DEVICE,
    PAGES,
    DesktopInfo,
    Field,
    device_choices,
    fields_for,
    form_values,
    keys_text,
    merge_changed_elsewhere,
    parse_form,
    shortcut_from_keypress,
    what_is_recorded,
)

log = logging.getLogger(__name__)

STATE_ENV = "TRAYCAP_SETTINGS_STATE"
CLOSED_WITHOUT_SAVING = 3  # exit status: the user cancelled (0 = saved, 1 = could not open)
WATCH_INTERVAL_S = 1.0  # how often the open dialog looks at the settings files (one stat each)
WATCH_TICK_MS = 250


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
        secrets: SecretStore | None = None,
        keyring_memory: KeyringMemory | None = None,
        desktop: DesktopInfo | None = None,
    ) -> None:
        self.root = root
        self.desktop = desktop or DesktopInfo()
        self.fields = {f.key: f for f in fields_for(self.desktop)}  # this desktop's fields (Wayland has its own)
        self.secrets = secrets
        self.keyring_memory = keyring_memory  # Save forgets that the keyring did not answer: it is asked again
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
        self._shown = self._form_values(config, settings)  # what the files held when last loaded
        self._build(self._shown)
        if state_path is not None:  # tests read what the fields hold as they are typed into
            for var in self.vars.values():
                var.trace_add("write", lambda *_args: self.dump_state())
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
        self.notebook = ttk.Notebook(frame)
        self.notebook.grid(row=0, column=0, columnspan=3, sticky="nsew")
        self.pages: dict[str, ttk.Frame] = {}
        for name in PAGES:
            page = ttk.Frame(self.notebook, padding=10)
            self.notebook.add(page, text=name)
            self.pages[name] = page
            row = 0
            if name == "Recording":
                notice = ttk.Label(page, text=what_is_recorded(self.desktop), wraplength=620)
                notice.grid(row=row, column=0, columnspan=3, sticky="w", pady=(0, 8))
                self.widgets["whatIsRecorded"] = notice
                row += 1
                keys = keys_text(self.desktop)
                if keys is not None:  # Wayland: no shortcut field; how to start and stop from the keyboard instead
                    label = ttk.Label(page, text=keys, wraplength=620, justify="left")
                    label.grid(row=row, column=0, columnspan=3, sticky="w", pady=(0, 8))
                    self.widgets["keys"] = label
                    row += 1
            for f in (f for f in self.fields.values() if f.page == name):
                self._add_field(page, row, f, values[f.key])
                row += 1
        self.notebook.bind("<<NotebookTabChanged>>", lambda _e: self.dump_state())
        row = 1
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
        # Uploading while recording is part of automatic upload: greyed out without it.
        self.vars["autoUpload"].trace_add("write", lambda *_a: self._sync_live_box())
        self._sync_live_box()
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
            elif f.kind == "device":
                widget = ttk.Combobox(frame, textvariable=var, values=self._microphones(str(value)), state="readonly",
                                      width=36)
            elif f.key == "hotkey":
                widget = self._shortcut_field(frame, row, var)
            else:
                widget = ttk.Entry(frame, textvariable=var, width=38, show="•" if f.kind == "secret" else "")
            if f.key != "hotkey":
                widget.grid(row=row, column=1, sticky="ew", pady=2)
        error = ttk.Label(frame, text=f.hint, style="Hint.TLabel", wraplength=300)
        error.grid(row=row, column=2, sticky="w", padx=(8, 0))
        self.vars[f.key] = var
        self.widgets[f.key] = widget
        self.error_labels[f.key] = error

    def _microphones(self, saved: str) -> list[str]:
        """The microphones the sound system lists now (none when it cannot be asked: the hint says why)."""
        try:
            found = [d.name for d in list_devices() if d.kind == MIC]
        except TraycapError as exc:
            log.info("no microphone list: %s", exc.user_text())
            found = []
        return device_choices(found, "" if saved == DEFAULT_DEVICE else saved)

    def _shortcut_field(self, frame: ttk.Frame, row: int, var: tk.StringVar) -> ttk.Entry:
        """The shortcut's entry, and beside it "Record shortcut": the next key combination pressed fills it."""
        box = ttk.Frame(frame)
        box.grid(row=row, column=1, sticky="ew", pady=2)
        entry = ttk.Entry(box, textvariable=var, width=22)
        entry.pack(side="left", fill="x", expand=True)
        self.record_button = ttk.Button(box, text="Record shortcut", command=self.record_shortcut)
        self.record_button.pack(side="left", padx=(6, 0))
        self.record_button.bind("<KeyPress>", self._shortcut_key)
        self.widgets["recordShortcut"] = self.record_button
        self._recording_shortcut = False
        return entry

    def record_shortcut(self) -> None:
        """Listen for the next key combination (the button holds the keyboard focus meanwhile)."""
        self._recording_shortcut = True
        self.record_button.configure(text="Press the keys…")
        self.record_button.focus_set()
        self.set_status("Press the new start/stop shortcut, for example Ctrl+Shift+R (Esc keeps the old one).")

    def _shortcut_key(self, event: tk.Event[Any]) -> str | None:
        if not self._recording_shortcut:
            return None  # space or Enter on the button press it, as usual
        text = shortcut_from_keypress(str(event.keysym), int(event.state))
        if text is None:
            return "break"  # a modifier alone: wait for the key
        self._recording_shortcut = False
        self.record_button.configure(text="Record shortcut")
        if text == "Esc":
            self.set_status("The shortcut is unchanged.")
        else:
            self.set_value("hotkey", text)
            _config, _settings, errors = parse_form(self.values(), self.base_config, self.base_settings)
            problem = errors.get("hotkey")
            self.set_status(f"{text} cannot be the shortcut: {problem}." if problem else
                            f"Shortcut {text}: Save keeps it.", error=problem is not None)
        return "break"  # the key press is the shortcut, not a click of the button

    def _sync_live_box(self) -> None:
        box = self.widgets["uploadWhileRecording"]
        box.configure(state="normal" if self.vars["autoUpload"].get() else "disabled")  # type: ignore[call-arg]

    # --- reading and showing ---------------------------------------------------
    def _form_values(self, config: UploadConfig | None, settings: AppSettings) -> dict[str, Any]:
        """The values of the fields this dialog shows."""
        return {k: v for k, v in form_values(config, settings).items() if k in self.fields}

    def values(self) -> dict[str, Any]:
        return {k: v.get() for k, v in self.vars.items()}

    def set_value(self, key: str, value: Any) -> None:
        self.vars[key].set(value)

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self.error_labels.items():
            if key in errors:
                label.configure(text=errors[key], style="Error.TLabel")
            else:
                label.configure(text=self.fields[key].hint, style="Hint.TLabel")
        # A page with a red field says so in its tab, and the first such page is shown.
        # (typeshed leaves ttk.Notebook's methods untyped: hence the ignores below.)
        bad_pages = [name for name in PAGES if any(self.fields[k].page == name for k in errors if k in self.fields)]
        for name, page in self.pages.items():
            self.notebook.tab(page, text=f"{name} (!)" if name in bad_pages else name)  # type: ignore[no-untyped-call]
        if bad_pages and self.selected_page() not in bad_pages:
            self.notebook.select(self.pages[bad_pages[0]])  # type: ignore[no-untyped-call]
        unknown = {k: v for k, v in errors.items() if k not in self.error_labels}
        if unknown:  # a field the form does not show (e.g. maxConcurrency from a hand-edited file)
            self.set_status("; ".join(f"{k}: {v}" for k, v in unknown.items()), error=True)

    def error_text(self, key: str) -> str:
        label = self.error_labels[key]
        return str(label.cget("text")) if str(label.cget("style")) == "Error.TLabel" else ""

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.configure(text=text, style="Error.TLabel" if error else "TLabel")
        self.dump_state()

    def changed_elsewhere(self, config: UploadConfig | None, settings: AppSettings) -> None:
        """Another program (`traycap config set`, an editor) saved new settings while the dialog is open."""
        incoming = self._form_values(config, settings)
        merged, kept = merge_changed_elsewhere(self.values(), self._shown, incoming)
        for key, value in merged.items():
            if self.vars[key].get() != value:
                self.set_value(key, value)
        self._shown = incoming
        self.base_config, self.base_settings = config, settings  # Save keeps what the form does not show
        note = "The settings were changed by another program; the form shows them"
        if kept:
            labels = ", ".join(self.fields[k].label for k in kept if k in self.fields)
            note += f", except your unsaved edits ({labels})"
        self.set_status(note + ".")

    # --- buttons ---------------------------------------------------------------
    def save(self) -> bool:
        config, settings, errors = parse_form(self.values(), self.base_config, self.base_settings)
        self.show_errors(errors)
        if errors or config is None or settings is None:
            self.set_status("Not saved: fix the fields marked in red.", error=True)
            return False
        try:
            if self.keyring_memory is not None:
                self.keyring_memory.forget()
            save_config(self.config_path, config, self.secrets)  # keyring, else the 0600 file (a file secret moves)
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

    def selected_page(self) -> str:
        selected = self.notebook.select()  # type: ignore[no-untyped-call]
        return next((name for name, page in self.pages.items() if str(page) == str(selected)), "")

    def _tab_boxes(self) -> dict[str, list[int]]:
        """Where each tab's header is on the screen: found by asking the notebook which tab is at x."""
        nb = self.notebook
        y = 8  # inside the header row of every theme's tabs
        spans: dict[str, list[int]] = {}
        for x in range(0, nb.winfo_width(), 3):
            try:
                index = nb.index(f"@{x},{y}")  # type: ignore[no-untyped-call]
            except tk.TclError:
                continue
            name = PAGES[int(index)]
            lo_hi = spans.setdefault(name, [x, x])
            lo_hi[1] = x
        return {f"tab:{name}": [nb.winfo_rootx() + lo, nb.winfo_rooty(), hi - lo + 1, 2 * y]
                for name, (lo, hi) in spans.items()}

    # --- for tests -----------------------------------------------------------------
    def dump_state(self) -> None:
        if self.state_path is None:
            return
        self.root.update_idletasks()
        state = {
            "status": str(self.status.cget("text")),
            "values": {k: v.get() for k, v in self.vars.items() if self.fields[k].kind != "secret"},
            "errors": {k: self.error_text(k) for k in self.error_labels if self.error_text(k)},
            "saved": self.saved,
            "widgets": {
                **{k: [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]
                   for k, w in self.widgets.items()},
                **self._tab_boxes(),
            },
            "texts": {k: str(self.widgets[k].cget("text")) for k in ("whatIsRecorded", "keys") if k in self.widgets},
            "page": self.selected_page(),
            "pageOf": {**{f.key: f.page for f in self.fields.values()}, "recordShortcut": "Recording"},
        }
        write_json_atomic(self.state_path, state)


def desktop_info() -> DesktopInfo:
    """Wayland or not, whether its desktop binds global shortcuts for apps, and the command to bind."""
    if session_type() != WAYLAND:
        return DesktopInfo()
    return DesktopInfo(wayland=True, shortcuts_portal=_has_global_shortcuts(), command=_traycap_command())


def _has_global_shortcuts() -> bool:
    from traycap.portal.dbus import GioBus
    from traycap.portal.shortcuts import GlobalShortcutsPortal

    try:
        bus = GioBus()
    except TraycapError:
        return False
    try:
        return GlobalShortcutsPortal(bus).available()
    finally:
        bus.close()


def _traycap_command() -> str:
    """The command a key binding runs, by its full path: a desktop's shortcuts may not have the shell's PATH."""
    if getattr(sys, "frozen", False):
        return sys.executable
    found = shutil.which("traycap")
    return str(Path(found).absolute()) if found else f"{sys.executable} -m traycap"


def main(argv: list[str] | None = None) -> int:
    from traycap.context import make_context
    from traycap.logs import setup_logging

    ctx = make_context()
    setup_logging(ctx.paths.logs, "INFO", to_stderr=True)
    # Before loading: a save by another program from here on is seen (live settings).
    watch = SettingsWatch((ctx.paths.config, ctx.paths.settings), ctx.clock, WATCH_INTERVAL_S)
    problems: list[str] = []
    try:
        stored = read_config(ctx.paths.config, ctx.secrets)
    except TraycapError as exc:
        stored = None
        problems.append(exc.user_text())
    config = stored.config if stored is not None else None
    if stored is not None and stored.problem is not None:
        problems.append(f"the secret key is in the OS keyring, which cannot be read now ({stored.problem})")
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
        on_saved=root.destroy, state_path=Path(state) if state else None, secrets=ctx.secrets,
        keyring_memory=ctx.keyring_memory(),
        desktop=desktop_info(),
    )
    if problems:
        dialog.set_status("The saved settings could not be read; saving replaces them. " + "; ".join(problems),
                          error=True)

    def follow_files() -> None:
        if watch.poll():
            try:
                dialog.changed_elsewhere(ctx.load_config(), ctx.load_settings())
            except TraycapError as exc:  # half-edited by hand: keep the form, say so
                dialog.set_status(f"The settings files changed but cannot be read: {exc.user_text()}", error=True)
        root.after(WATCH_TICK_MS, follow_files)

    root.after(WATCH_TICK_MS, follow_files)
    root.mainloop()
    return 0 if dialog.saved else CLOSED_WITHOUT_SAVING


if __name__ == "__main__":
    raise SystemExit(main())
