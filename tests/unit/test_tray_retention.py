"""The tray's side of retention: a full budget shows and notifies once; a verified upload runs the rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.sessions import make_exported_session
from traycap.context import Context
from traycap.models import MIB, AppSettings, UploadProgress, UploadState, UploadStatus
from traycap.storage.config_store import save_settings
from traycap.tray.app import TrayApp
from traycap.tray.parts import Parts
from traycap.ui import notify
from traycap.ui.menu import Action, IconSpec, IconState, MenuItem, build_menu, icon_spec


class _Tray:
    def update(self, items: tuple[MenuItem, ...], spec: IconSpec, tooltip: str) -> None:
        pass

    def run(self, on_shown: Callable[[], None]) -> None:
        pass

    def stop(self) -> None:
        pass


def _unused(*args: Any) -> Any:
    raise AssertionError("not used by these tests")


def _app(ctx: Context, delivered: list[notify.Notice]) -> TrayApp:
    def make_tray(on_action: Callable[[Action], None]) -> _Tray:
        return _Tray()

    parts = Parts(make_tray=make_tray, make_queue=_unused, make_recorder=_unused, make_hotkey=_unused,
                  queue_lock=_unused, notifier=notify.Notifier(delivered.append, available=lambda: True),  # type: ignore[arg-type]
                  copy_text=_unused, open_folder=_unused, share_link=_unused, launch_settings=_unused)
    return TrayApp(ctx, parts)


def _state(ctx: Context, sid: str, status: UploadStatus) -> None:
    now = ctx.clock.now_ms()
    ctx.states.write(UploadState(sessionId=sid, status=status, createdAt=now, updatedAt=now,
                                 completedAt=now if status is UploadStatus.DONE else None))


def test_sessions_not_uploaded_over_the_budget_show_attention_and_notify_once(ctx: Context) -> None:
    save_settings(ctx.paths.settings, AppSettings(localBudgetMB=1))
    make_exported_session(ctx, "s1", 2 * MIB)
    _state(ctx, "s1", UploadStatus.FAILED)
    delivered: list[notify.Notice] = []
    app = _app(ctx, delivered)
    app.retention.run()
    app.retention.run()  # still over: no second notification
    view = app.model.view()
    assert icon_spec(view).state is IconState.ATTENTION
    assert any(m.label.startswith("Disk: sessions not uploaded hold 2.0 MB") for m in build_menu(view))
    save_settings(ctx.paths.settings, AppSettings(localBudgetMB=10))
    app.retention.run()
    assert app.model.view().storage_problem is None
    app.parts.notifier.close()
    assert [n.title for n in delivered] == ["Local disk budget exceeded"]
    assert ctx.sessions.item("s1").localCopy  # nothing that is not done was deleted


def test_a_verified_upload_runs_the_rules(ctx: Context) -> None:
    save_settings(ctx.paths.settings, AppSettings(keepUploadedDays=0))
    make_exported_session(ctx, "s1", MIB)
    _state(ctx, "s1", UploadStatus.DONE)
    app = _app(ctx, [])
    app.events._upload_done(UploadProgress("s1", UploadStatus.DONE, MIB, MIB, 100))
    assert not ctx.sessions.item("s1").localCopy
    app.actions.drain()
    row = app.model.cache.get("s1")
    assert row is not None and not row.localCopy
