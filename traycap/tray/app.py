"""The tray app's composition root: wires the recorder, the upload queue, the hotkey,
notifications and the tray icon; owns start-up, the UI loop and shutdown.

Its collaborators, each in its own module of this package:
- view.TrayModel: what the menu shows (mode, settings, problems, session rows), one lock.
- actions.ActionDispatcher: what a menu click or the hotkey does, on worker lanes.
- events.EventRouter: queue progress and recorder events -> model + notifications.
- retention.RetentionHook: the retention rules as the tray runs them.
What is uploaded, and how, is traycap/sharing/'s (the same for `traycap record` and `worker`):
start-up runs `settle_at_start`, the recorder gets `Sharing.live_sink`, the router asks
`Sharing.exported`, and upload requests go through one `UploadRequests`.

Threads, and what each may do:
- main: the toolkit's main loop (pystray). Menu callbacks only post work.
- traycap-secrets: asks the OS keyring once at start-up (`settle_secrets`), while
  the icon, the menu and the hotkey come up; then the settings are re-read and
  the upload queue starts. Until then a secret in the keyring reads as "not
  known yet" at once, never as a wait.
- traycap-actions: runs recording work (start/stop + export, pause, resume,
  quit, hotkey presses) one at a time; traycap-actions-menu runs the other
  menu actions (enqueue, copy a link, open a folder, settings...), so neither
  the menu nor those actions wait for a slow export.
- traycap-requests: takes `traycap toggle` / `traycap pause` requests from the
  data dir every POLL_S (ui/tray_requests.py), answers each at once and posts the
  work to the lanes.
- traycap-ui: re-renders the menu/icon/tooltip when something changed, at
  most every RENDER_INTERVAL_S (progress ticks are coalesced), re-reads the
  settings files when another process changed them (a stat of each every
  SETTINGS_POLL_S), and re-lists the sessions from disk every FULL_RELIST_S
  (sessions copied in by hand, requests written by `traycap upload` in
  another terminal).
- the queue's worker and the recorder's threads call the EventRouter, which
  updates the in-memory session cache in O(1).

With 1,000 sessions on disk the disk is listed once at start-up and then
only on that slow timer; a progress tick touches one cached row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable

from traycap.context import Context
from traycap.errors import CorruptFile, HotkeyUnavailable, SecretUnreachable, TraycapError
from traycap.logs import register_secret
from traycap.models import AppSettings, UploadConfig
from traycap.osutil.desktop import WAYLAND
from traycap.recorder.api import RecorderState
from traycap.sharing.recordings import Sharing
from traycap.sharing.requests import UploadRequests
from traycap.sharing.startup import settle_at_start
from traycap.storage.config_store import log_secret_location, validate_config
from traycap.storage.filelock import PidLock
from traycap.storage.secrets import SettlingStore
from traycap.storage.settings_watch import SettingsWatch
from traycap.tray.actions import ActionDispatcher
from traycap.tray.events import EventRouter
from traycap.tray.parts import HotkeyLike, Parts, Running, ShortcutsLike
from traycap.tray.retention import RetentionHook
from traycap.tray.view import TrayModel
from traycap.ui import notify
from traycap.ui.menu import RecordingMode, build_menu, icon_spec, tooltip
from traycap.ui.tray_requests import POLL_S as REQUEST_POLL_S
from traycap.ui.tray_requests import RequestInbox

log = logging.getLogger(__name__)

RENDER_INTERVAL_S = 0.25
FULL_RELIST_S = 60.0
QUEUE_LOCK_RETRY_S = 2.0  # how often a tray without the queue lock tries to take it
QUIT_UPLOAD_TIMEOUT_S = 10.0
QUIT_EXPORT_TIMEOUT_S = 60.0
SETTINGS_POLL_S = 1.0  # a change by another process shows within this + one render (issue: within 2 s)
BIND_TOGGLE_NOTE = "Keys: bind `traycap toggle` in your desktop (Upload settings… says how)"
BIND_IN_DESKTOP_NOTE = "Keys: choose them in your desktop's keyboard settings (traycap's shortcuts)"


def config_problem(ctx: Context) -> tuple[UploadConfig | None, str | None]:
    """The config and, when it cannot be used for uploads, why (in words)."""
    try:
        config = ctx.load_config()
    except CorruptFile as exc:
        return None, f"the settings file is unreadable ({exc.reason})"
    except SecretUnreachable as exc:
        return None, exc.message
    if config is None:
        return None, "no upload settings yet"
    problems = validate_config(config)
    if problems:
        return config, "check " + ", ".join(sorted(problems))
    return config, None


class TrayApp:
    def __init__(self, ctx: Context, parts: Parts) -> None:
        # Every part gets a store that answers "not known yet" until `settle_secrets` asked the keyring.
        self._secrets = SettlingStore(ctx.secrets)
        ctx = self.ctx = dataclasses.replace(ctx, secrets=self._secrets)
        self.parts = parts
        self.running = Running()
        self.model = TrayModel(ctx)
        # Retention (docs/retention.md): at start-up, after every export and verified upload, hourly.
        self.retention = RetentionHook(ctx, parts, self.model)
        # The tray calls back into the dispatcher, which is made next: bound late.
        self.tray = parts.make_tray(lambda action: self.dispatch.handle(action))
        # Upload requests go to this tray's queue once it runs one, to disk before (and without the lock).
        self.requests = UploadRequests(ctx)
        self.lanes = parts.make_lanes(ctx) if parts.make_lanes is not None else None  # no thread until a recording
        self.sharing = Sharing(ctx, self.requests, self.lanes)
        self.dispatch = ActionDispatcher(ctx, parts, self.model, self.running, self.requests,
                                         show_mode=self._show_mode, quit=self.shutdown,
                                         settings_closed=self.reload_settings)
        self.actions = self.dispatch.runner
        self.events = EventRouter(ctx, parts, self.model, self.running, self.dispatch, self.sharing,
                                  show_mode=self._show_mode, run_retention=self.retention.run)
        if self.lanes is not None:
            self.lanes.subscribe(self.events.on_progress)  # a live upload shows like a queued one
        self._stopping = threading.Event()
        self._quit_done = threading.Event()
        self._has_queue_lock = False
        self._queue_start = threading.Lock()  # the queue starts once: restored and secrets settled
        self._queue_started = False
        self._next_lock_try = 0.0  # without the lock: when the UI thread tries to take it again
        self._unsubscribe: Callable[[], None] | None = None
        self._hotkey: HotkeyLike | None = None
        self._hotkey_spec: str | None = None  # the hotkey last registered (or tried), once start-up did
        self._shortcuts: ShortcutsLike | None = None  # Wayland: the desktop's keys, bound once at start
        self._shortcuts_asked = False
        self.inbox = RequestInbox(ctx.paths.root)
        # Settings are reloaded by the UI thread (files changed) and the dialog's watcher (dialog closed):
        # one at a time, or both would register the hotkey and one listener would leak.
        self._settings_lock = threading.RLock()
        self._ui_thread: threading.Thread | None = None
        # Before the first load: a change made while loading is seen at the next look.
        self._settings_watch = SettingsWatch((ctx.paths.config, ctx.paths.settings), ctx.clock, SETTINGS_POLL_S)
        self.reload_settings()

    # --- view -------------------------------------------------------------
    def render(self) -> None:
        view = self.model.view()
        self.tray.update(build_menu(view), icon_spec(view), tooltip(view))

    def _show_mode(self, mode: RecordingMode) -> None:
        self.model.set_mode(mode)
        self.render()  # the record state shows at once, not after the next tick

    def ui_step(self) -> None:
        """One pass of the UI thread: settings changed by another process, take over the queue if
        free, re-list when due, render."""
        if self._settings_watch.poll():
            log.info("the settings files changed: reloading them")
            self.reload_settings()
        now = self.ctx.clock.monotonic()
        if now >= self._next_lock_try:
            self._next_lock_try = now + QUEUE_LOCK_RETRY_S
            self._take_over_queue()
        if self.retention.due():
            self.actions.post("retention", self.retention.run, lane="menu")
        if now - self.model.last_relist >= FULL_RELIST_S:
            self.model.relist()
        self.model.dirty.clear()
        try:
            self.render()
        except Exception:
            log.exception("could not update the tray menu")

    def _ui_loop(self) -> None:
        clock = self.ctx.clock
        while not self._stopping.is_set():
            clock.sleep(min(FULL_RELIST_S / 4, self._settings_watch.due_in()), self.model.dirty)
            if self._stopping.is_set():
                return
            self.ui_step()
            clock.sleep(RENDER_INTERVAL_S, self._stopping)  # coalesce bursts of progress ticks

    # --- requests from `traycap toggle` / `traycap pause` ---------------------------------
    def poll_requests(self) -> int:
        """Take the waiting requests, act on each (on the lanes), answer it; how many there were."""
        requests = self.inbox.take(self.ctx.clock.now_ms())
        for request in requests:
            answer = self.dispatch.remote_request(request.action)
            log.info("traycap %s (request %s): %s%s", request.action.value, request.id, answer.message,
                     "" if answer.ok else " (refused)")
            self.inbox.answer(request, answer)
        return len(requests)

    def _requests_loop(self) -> None:
        self.inbox.drop_uncollected_answers(self.ctx.clock.now_ms() / 1000)
        while not self._stopping.is_set():
            try:
                self.poll_requests()
            except Exception:
                log.exception("handling a request to the tray failed")
            self.ctx.clock.sleep(REQUEST_POLL_S, self._stopping)

    # --- the queue ----------------------------------------------------------
    def _make_queue(self) -> None:
        """With the queue lock held: build the queue and restore it from disk (not started yet)."""
        try:
            q = self.parts.make_queue(self.ctx)
            self._unsubscribe = q.subscribe(self.events.on_progress)
            q.restore()
            self.running.queue = q
            self.requests.attach(q)
        except Exception as exc:
            log.exception("the upload queue could not start")
            self.model.set_queue_problem(f"the upload queue could not start ({exc})")

    def _take_over_queue(self) -> None:
        """Without the queue lock, try again: the process that held it (a `traycap worker`, or a CLI
        command that held it for a moment) may have gone, and then this tray runs the queue."""
        if self._has_queue_lock or self._stopping.is_set() or not self.parts.queue_lock.try_acquire():
            return
        self._has_queue_lock = True
        log.info("the upload queue lock is free again: this tray now runs the upload queue")
        self._make_queue()
        self._start_queue()
        self.model.relist()

    # --- start-up --------------------------------------------------------
    def run(self) -> int:
        """Show the icon and block until Quit. Start-up work runs once the icon is up; the keyring is
        asked meanwhile, on its own thread."""
        threading.Thread(target=self.settle_secrets, name="traycap-secrets", daemon=True).start()
        self.render()  # the first menu: Start recording disabled until start-up finished

        def shown() -> None:
            threading.Thread(target=self._requests_loop, name="traycap-requests", daemon=True).start()
            try:
                self.startup()
            except Exception:
                log.exception("start-up failed")
            self._ui_thread = threading.Thread(target=self._ui_loop, name="traycap-ui", daemon=True)
            self._ui_thread.start()
            self.model.changed()

        self.tray.run(shown)
        # The main loop ended: Quit, a signal, or the toolkit gave up.
        if not self._quit_done.is_set():
            self.shutdown()
        return 0

    def startup(self) -> None:
        """Queue lock, recorder recovery, orphan cleanup, queue restore, sessions, hotkey."""
        ctx = self.ctx
        steps: list[str] = []
        mark = ctx.clock.monotonic()

        def step(name: str) -> None:
            nonlocal mark
            now = ctx.clock.monotonic()
            steps.append(f"{name} {now - mark:.2f}s")
            mark = now

        self._has_queue_lock = self.parts.queue_lock.acquire_as_owner()
        if not self._has_queue_lock:
            log.warning("another traycap process runs the upload queue; this tray only sends it requests")
        # Recovery before cleanup: a recording killed mid-way and found again after more
        # than 24 h is exported (kept), not deleted as an orphan. No queue yet: requests go to
        # disk, and the queue's restore picks them up.
        if self.parts.recover is not None:
            try:
                settle_at_start(ctx, self.requests, recover=self.parts.recover,
                                abort=self.lanes.abort if self.lanes is not None else None)
            except Exception:
                log.exception("recovering unfinished recordings failed")
        step("recovery")
        report = ctx.sessions.cleanup_orphans(ctx.clock.now_ms())
        if report.deleted:
            log.info("removed %d orphaned session(s)", len(report.deleted))
        step("cleanup")
        self.retention.run()
        step("retention")
        if self._has_queue_lock:
            self._make_queue()
        step("restore")
        self.model.relist()
        for item in self.model.cache.recent(len(self.model.cache)):
            self.model.gate.seed(item.sessionId, item.uploadStatus.value)
        step("list")
        self._start_queue()
        try:
            self.running.recorder = self.parts.make_recorder(ctx, self.model.settings, self.events.on_recorder_event,
                                                             self.sharing.live_sink)
        except Exception as exc:
            log.exception("the recorder could not be set up")
            self.model.set_recorder_problem(f"recording is not available ({exc})")
        step("recorder")
        self.register_hotkey()
        step("hotkey")
        self.model.set_ready()
        keys = "the desktop's (Wayland)" if self.parts.desktop == WAYLAND else self.model.settings.hotkey
        log.info("traycap is ready: %d session(s), hotkey %s (%s)", len(self.model.cache), keys, ", ".join(steps))

    def settle_secrets(self) -> None:
        """Ask the OS keyring once (a start nobody watches: quietly, or not at all when it did not answer
        lately), say where the secrets are, re-read the settings with them, and let the queue start."""
        try:
            self._secrets.settle()
            log_secret_location(self.ctx.paths.config, self._secrets)
            self.reload_settings()
        except Exception:
            log.exception("settling the upload secrets failed")
        self._start_queue()

    def _start_queue(self) -> None:
        """Start the queue once it is restored and the secrets are settled (its first attempt needs them):
        whichever of start-up and `settle_secrets` comes second starts it."""
        with self._queue_start:
            queue = self.running.queue
            if queue is None or self._queue_started or self._stopping.is_set() or not self._secrets.settled(0):
                return
            self._queue_started = True
        queue.start()

    # --- settings -------------------------------------------------------------
    def reload_settings(self) -> None:
        """Re-read both settings files: the menu, the next recording and the hotkey follow them."""
        with self._settings_lock:
            self._reload_settings()

    def _reload_settings(self) -> None:
        try:
            settings = self.ctx.load_settings()
        except CorruptFile as exc:
            log.warning("%s; using the default settings", exc.user_text())
            settings = AppSettings()
        config, problem = config_problem(self.ctx)
        if config is not None:
            register_secret(config.secretAccessKey)
            register_secret(config.sessionToken)
        self.model.set_settings(settings, config, problem)
        recorder = self.running.recorder
        if recorder is not None:
            recorder.update_settings(settings)  # applies to the next recording
        if self._hotkey_spec is not None and settings.hotkey != self._hotkey_spec:
            self._register_hotkey()

    def register_hotkey(self) -> None:
        with self._settings_lock:
            self._register_hotkey()

    def _register_hotkey(self) -> None:
        if self.parts.desktop == WAYLAND:
            # No app may listen for keys on Wayland: the desktop binds them (GlobalShortcuts), once per start,
            # on a lane of its own (the desktop may ask the person first, for minutes, and the menu's actions
            # must not wait for that); the hotkey setting does not apply.
            self._hotkey_spec = self.model.settings.hotkey
            if not self._shortcuts_asked:
                self._shortcuts_asked = True
                self.actions.post("desktop-shortcuts", self.bind_desktop_shortcuts, lane="desktop-keys")
            return
        if self._hotkey is not None:
            with contextlib.suppress(Exception):
                self._hotkey.stop()
            self._hotkey = None
        spec = self._hotkey_spec = self.model.settings.hotkey
        try:
            hk = self.parts.make_hotkey(spec, self.dispatch.hotkey_pressed)
            hk.start()
        except TraycapError as exc:
            message = exc.message
        except Exception as exc:  # pynput raises plain exceptions on odd X servers
            message = str(exc) or type(exc).__name__
        else:
            self._hotkey = hk
            self.model.set_hotkey_error(None)
            log.info("hotkey %s registered", spec)
            return
        self.model.set_hotkey_error(message)
        log.warning("hotkey %s unavailable: %s", spec, message)
        self.parts.notifier.send(
            notify.Notice(notify.NoticeKind.PROBLEM, "Hotkey unavailable", f"{message}. The tray menu still works.")
        )

    def bind_desktop_shortcuts(self) -> None:
        """Wayland: the desktop's start/stop and pause keys; without them, the menu says how to bind
        `traycap toggle` (and the settings dialog tells exactly where)."""
        make = self.parts.make_shortcuts
        try:
            if make is None:
                raise HotkeyUnavailable("no global shortcuts on this desktop")
            shortcuts = make(self.dispatch.hotkey_pressed, self.dispatch.pause_pressed)
            trigger = shortcuts.start()
        except TraycapError as exc:
            log.info("desktop shortcuts: %s; `traycap toggle` / `traycap pause` are the way", exc.message)
            self.model.set_desktop_keys(None, BIND_TOGGLE_NOTE)
            return
        self._shortcuts = shortcuts
        log.info("desktop shortcuts bound (start/stop: %s)", trigger or "no key yet")
        self.model.set_desktop_keys(trigger or None, None if trigger else BIND_IN_DESKTOP_NOTE)

    # --- quit ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Quit: a recording is stopped and exported, the upload stops at a part boundary."""
        if self._quit_done.is_set():
            return
        log.info("quitting")
        self._stopping.set()
        self.model.changed()
        recorder = self.running.recorder
        if recorder is not None:
            recorder.abort_start()  # a screen picker still open: the start gives up
            if recorder.state is not RecorderState.IDLE:
                try:
                    recorder.stop()
                except Exception:
                    log.exception("stopping the recording at quit failed")
            # A recording stopped just before (hotkey, failure) may still be exporting while the recorder is IDLE.
            if not recorder.wait_idle(QUIT_EXPORT_TIMEOUT_S):
                log.warning("the export did not finish within %.0f s; it is finished at the next start",
                            QUIT_EXPORT_TIMEOUT_S)
        if self.lanes is not None:
            self.lanes.hand_over_all()  # a finished bundle's upload goes on in the queue, as the same upload
        if self._hotkey is not None:
            with contextlib.suppress(Exception):
                self._hotkey.stop()
        if self._shortcuts is not None:
            with contextlib.suppress(Exception):
                self._shortcuts.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.requests.attach(None)  # from here on a request goes to disk, for the next process
        if self.running.queue is not None:
            try:
                self.running.queue.stop(timeout=QUIT_UPLOAD_TIMEOUT_S)
            except Exception:
                log.exception("the upload queue reported an error while stopping")
        if self._has_queue_lock:
            self.parts.queue_lock.release()
        self.dispatch.close_settings()
        self.parts.notifier.close()
        self._quit_done.set()
        self.tray.stop()
        self.actions.close()
        log.info("traycap stopped")


# --- single instance ------------------------------------------------------------------
InstanceLock = PidLock  # on paths.instance_lock
