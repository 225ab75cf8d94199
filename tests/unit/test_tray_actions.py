"""The tray app's action dispatcher (traycap/tray/actions.py).

View: the app starts `traycap view ID` through its parts (no browser here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traycap.context import Context
from traycap.models import SessionMeta
from traycap.tray.app import TrayApp
from traycap.tray.parts import Parts
from traycap.ui import notify
from traycap.ui.menu import Action, ActionKind, AppView, build_menu, find_action


class _Process:
    def poll(self) -> int | None:
        return None

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def terminate(self) -> None: ...


def _unused(*_args: Any) -> Any:
    raise AssertionError("not used by this test")


def test_view_starts_the_viewer_for_that_session(ctx: Context) -> None:
    meta = SessionMeta(sessionId="s-view", createdAt=1_700_000_000_000, zipPath="s-view.zip")
    ctx.sessions.save_meta(meta)
    ctx.paths.exported_marker(meta.sessionId).touch()
    launched: list[tuple[str, str]] = []

    def launch_viewer(c: Context, sid: str) -> _Process:
        launched.append((str(c.paths.root), sid))
        return _Process()

    class Tray:
        def __init__(self, on_action: Callable[[Action], None]) -> None: ...
        def update(self, *args: Any) -> None: ...
        def run(self, on_shown: Callable[[], None]) -> None: ...
        def stop(self) -> None: ...

    parts = Parts(make_tray=Tray, make_queue=_unused, make_recorder=_unused, make_hotkey=_unused,
                  queue_lock=_unused, notifier=notify.Notifier(lambda n: None, available=lambda: True),
                  copy_text=_unused, open_folder=_unused, share_link=_unused, launch_settings=_unused,
                  launch_viewer=launch_viewer)
    app = TrayApp(ctx, parts)
    item = find_action(build_menu(AppView(recent=(ctx.sessions.item(meta.sessionId),))), f"view:{meta.sessionId}")
    assert item is not None and item.label == "View" and item.action is not None
    app.dispatch.perform(item.action)
    assert launched == [(str(ctx.paths.root), "s-view")]
    assert item.action.kind is ActionKind.VIEW


def test_the_hotkey_does_nothing_while_the_settings_window_is_open(ctx: Context) -> None:
    """The dialog's "Record shortcut" listens for a combination: pressing the current one there must
    not start a recording in the tray."""
    from tests.support.fake_app_parts import Harness

    open_window = _Process()  # poll() None: still open
    h = Harness(ctx)
    h.parts.launch_settings = lambda c: open_window
    h.app.startup()
    h.do("open_settings")
    h.hotkeys[-1].callback()
    assert h.app.actions.drain() and h.recorder is not None and h.recorder.count == 0
    open_window.poll = lambda: 0  # type: ignore[method-assign]  # the window closed
    h.hotkeys[-1].callback()
    assert h.app.actions.drain() and h.recorder.count == 1
    h.app.actions.close()


def test_microphone_on_off_applies_to_the_next_recording_and_is_saved(ctx: Context) -> None:
    """Issue 23: the tray's Microphone on/off. Saved like `config set audio=...` (every process and the
    dialog see it), handed to the recorder for its next recording; the menu and tooltip follow."""
    from tests.support.fake_app_parts import Harness
    from traycap.models import AudioMode
    from traycap.recorder.api import RecorderEvent, RecorderEventKind
    from traycap.ui.menu import tooltip

    h = Harness(ctx)
    h.app.startup()
    assert any(i.label == "Microphone: off" for i in h.menu())
    h.do("toggle_microphone")
    assert ctx.load_settings().audio is AudioMode.MIC
    assert h.recorder is not None and h.recorder.settings[-1].audio is AudioMode.MIC
    assert any(i.label == "Microphone: on" for i in h.menu())
    h.do("toggle_recording")
    labels = [i.label for i in h.menu()]
    assert "Recording sound: microphone" in labels and "Microphone: on (next recording)" in labels
    assert tooltip(h.app.model.view()) == "traycap: recording with the microphone"
    h.recorder.on_event(RecorderEvent(RecorderEventKind.WARNING, "rec-1", message="The microphone 'USB' went away"))
    assert any(i.label.startswith("No sound: The microphone 'USB' went away") for i in h.menu())
    assert tooltip(h.app.model.view()).endswith("(no sound from a device)")
    h.do("toggle_microphone")  # off again: for the next recording only
    assert ctx.load_settings().audio is AudioMode.NONE
    assert "Recording sound: microphone" in [i.label for i in h.menu()]
    h.app.actions.close()
