"""The tray menu model: every recording state x session status gives the right items."""

from __future__ import annotations

import itertools

import pytest

from traycap.models import SessionListItem, UploadProgress, UploadStatus
from traycap.ui.menu import (
    RECENT_LIMIT,
    ActionKind,
    AppView,
    IconState,
    MenuItem,
    RecordingMode,
    build_menu,
    find_action,
    icon_spec,
    row_label,
    session_actions,
    tooltip,
)

T0 = 1_700_000_000_000
K = ActionKind
RECORDER_PROBLEM = ("Recording stopped: The disk is full: could not write actions.jsonl. "
                    "What was recorded is saved as session 20261125-181514-40ba79.")
HOTKEY_ERROR = "The hotkey <ctrl>+<shift>+r cannot be registered: Cannot listen to the keyboard: it did not start"


def item(
    status: UploadStatus = UploadStatus.NOT_UPLOADED,
    *,
    sid: str = "s1",
    exported: bool = True,
    progress: int = 0,
    error: str | None = None,
    problem: str | None = None,
    created: int = T0,
) -> SessionListItem:
    return SessionListItem(
        sessionId=sid, createdAt=created, endedAt=created + 83_000, actionCount=5, isExported=exported,
        uploadStatus=status, uploadProgress=progress, fileSizeBytes=3 * 1024 * 1024,
        lastUploadError=error, problem=problem,
    )


def top_actions(items: tuple[MenuItem, ...]) -> list[tuple[str, bool]]:
    return [(i.action.id, i.enabled) for i in items if i.action is not None]


def labels(items: tuple[MenuItem, ...]) -> list[str]:
    return [i.label for i in items if not i.separator]


# (status, exported, lastUploadError, problem) -> the session submenu's actions, in order
# (View for every exported session: the page also serves an uploaded one whose zip retention removed)
SESSION_TABLE: list[tuple[UploadStatus, bool, str | None, str | None, list[ActionKind]]] = [
    (UploadStatus.NOT_UPLOADED, True, None, None, [K.VIEW, K.UPLOAD, K.OPEN_FOLDER]),
    (UploadStatus.NOT_UPLOADED, False, None, None, [K.OPEN_FOLDER]),
    (UploadStatus.NOT_UPLOADED, True, "cancelled", None, [K.VIEW, K.UPLOAD, K.OPEN_FOLDER, K.SHOW_ERROR]),
    (UploadStatus.NOT_UPLOADED, False, None, "meta unreadable", [K.OPEN_FOLDER, K.SHOW_ERROR]),
    (UploadStatus.PENDING, True, None, None, [K.VIEW, K.CANCEL, K.OPEN_FOLDER]),
    (UploadStatus.PENDING, True, "connection reset", None, [K.VIEW, K.CANCEL, K.OPEN_FOLDER, K.SHOW_ERROR]),
    (UploadStatus.UPLOADING, True, None, None, [K.VIEW, K.CANCEL, K.OPEN_FOLDER]),
    (UploadStatus.DONE, True, None, None, [K.VIEW, K.COPY_LINK, K.OPEN_FOLDER]),
    (UploadStatus.DONE, True, "an old error", None, [K.VIEW, K.COPY_LINK, K.OPEN_FOLDER]),
    (UploadStatus.FAILED, True, "The access key was rejected", None, [K.VIEW, K.RETRY, K.OPEN_FOLDER, K.SHOW_ERROR]),
    (UploadStatus.FAILED, True, None, "state unreadable", [K.VIEW, K.RETRY, K.OPEN_FOLDER, K.SHOW_ERROR]),
]

RECORDING_TABLE: dict[RecordingMode, list[tuple[str, bool]]] = {
    RecordingMode.IDLE: [("toggle_recording", True)],
    RecordingMode.STARTING: [],  # the screen is being opened (a picker may be open): nothing to click
    RecordingMode.RECORDING: [("toggle_recording", True), ("pause", True)],
    RecordingMode.PAUSED: [("toggle_recording", True), ("resume", True)],
    RecordingMode.STOPPING: [],
}
TAIL = [("pause_uploads", True), ("toggle_microphone", True), ("open_settings", True), ("open_sessions_folder", True),
        ("quit", True)]


@pytest.mark.parametrize(
    ("mode", "row", "config_ok"),
    list(itertools.product(RecordingMode, SESSION_TABLE, [True, False])),
    ids=lambda v: v.value if isinstance(v, RecordingMode) else None,
)
def test_every_recording_state_times_every_session_status(
    mode: RecordingMode,
    row: tuple[UploadStatus, bool, str | None, str | None, list[ActionKind]],
    config_ok: bool,
) -> None:
    status, exported, error, problem, expected = row
    progress = 45 if status is UploadStatus.UPLOADING else 0
    s = item(status, exported=exported, error=error, problem=problem, progress=progress)
    view = AppView(recording=mode, recent=(s,), config_problem=None if config_ok else "No upload settings yet")
    menu = build_menu(view)

    assert top_actions(menu) == RECORDING_TABLE[mode] + TAIL
    recent = next(i for i in menu if i.label == "Recent sessions")
    (session_row,) = recent.children
    assert session_row.label == row_label(s)
    got = [(i.action.kind, i.action.session_id) for i in session_row.children if i.action]
    assert got == [(k, "s1") for k in expected]
    # Upload, Retry and Copy link need working settings; the rest never do.
    needs_config = {K.UPLOAD, K.RETRY, K.COPY_LINK}
    for child in session_row.children:
        assert child.action is not None
        assert child.enabled == (config_ok or child.action.kind not in needs_config), child.label
    if status is UploadStatus.UPLOADING:
        assert session_row.label.endswith("Uploading 45%")
    if not config_ok:
        assert "Upload settings needed: No upload settings yet" in labels(menu)


def test_start_label_shows_hotkey_and_stop_label_too() -> None:
    assert build_menu(AppView())[0].label == "Start recording (Ctrl+Shift+R)"
    assert build_menu(AppView(recording=RecordingMode.RECORDING))[0].label == "Stop recording (Ctrl+Shift+R)"
    assert build_menu(AppView(recording=RecordingMode.STOPPING))[0].label == "Stopping and exporting…"
    assert not build_menu(AppView(recording=RecordingMode.STOPPING))[0].enabled


def test_hotkey_failure_is_shown_and_not_advertised() -> None:
    menu = build_menu(AppView(hotkey_error="another program holds Ctrl+Shift+R"))
    assert menu[0].label == "Start recording"
    assert "Hotkey unavailable: another program holds Ctrl+Shift+R" in labels(menu)
    assert icon_spec(AppView(hotkey_error="x")).state is IconState.ATTENTION


def test_start_disabled_until_startup_finished() -> None:
    assert not build_menu(AppView(ready=False))[0].enabled
    assert build_menu(AppView(ready=True))[0].enabled


def test_recent_sessions_limited_to_ten_newest_first_order_kept() -> None:
    rows = tuple(item(sid=f"s{i:02d}", created=T0 - i * 60_000) for i in range(25))
    menu = build_menu(AppView(recent=rows, pending_count=3))
    recent = next(i for i in menu if i.label == "Recent sessions")
    assert len(recent.children) == RECENT_LIMIT
    first_ids = [c.children[0].action.session_id for c in recent.children if c.children[0].action]
    assert first_ids == [f"s{i:02d}" for i in range(RECENT_LIMIT)]
    assert "Upload queue: 3 pending" in labels(menu)


def test_no_sessions_line_and_queue_line_with_progress() -> None:
    up = UploadProgress("s1", UploadStatus.UPLOADING, 45, 100, 45)
    menu = build_menu(AppView(pending_count=2, active_upload=up))
    assert "Recent sessions: none yet" in labels(menu)
    assert "Upload queue: 2 pending, uploading 45%" in labels(menu)


def test_row_label_has_date_duration_size_status() -> None:
    label = row_label(item(UploadStatus.DONE))
    assert "1:23" in label and "3.0 MB" in label and label.endswith("Done")
    assert row_label(item(UploadStatus.NOT_UPLOADED, exported=False)).endswith("Not exported")


def test_find_action() -> None:
    menu = build_menu(AppView(recent=(item(UploadStatus.FAILED, error="x"),)))
    found = find_action(menu, "retry:s1")
    assert found is not None and found.label == "Retry"
    assert find_action(menu, "upload:s1") is None


ICON_TABLE = [
    (AppView(), IconState.IDLE, 0, "traycap: idle"),
    (AppView(pending_count=2), IconState.IDLE, 0, "traycap: idle, 2 waiting"),
    (AppView(recording=RecordingMode.RECORDING), IconState.RECORDING, 0, "traycap: recording"),
    (AppView(recording=RecordingMode.PAUSED), IconState.PAUSED, 0, "traycap: recording paused"),
    (
        AppView(pending_count=3, active_upload=UploadProgress("s", UploadStatus.UPLOADING, 45, 100, 45)),
        IconState.UPLOADING, 45, "traycap: uploading 45%, 2 more waiting",
    ),
    (AppView(failed_count=2), IconState.ATTENTION, 0, "traycap: needs attention: 2 uploads failed"),
    (
        AppView(config_problem="No upload settings yet"), IconState.ATTENTION, 0,
        "traycap: needs attention: No upload settings yet",
    ),
    # Recording wins over a failed upload: the user must see the camera is on.
    (AppView(recording=RecordingMode.RECORDING, failed_count=1), IconState.RECORDING, 0, "traycap: recording"),
]


@pytest.mark.parametrize(("view", "state", "progress", "text"), ICON_TABLE)
def test_icon_state_and_tooltip(view: AppView, state: IconState, progress: int, text: str) -> None:
    spec = icon_spec(view)
    assert (spec.state, spec.progress) == (state, progress)
    assert tooltip(view) == text


def test_session_actions_without_config_show_why_upload_is_disabled() -> None:
    (_view, upload, _folder) = session_actions(item(), can_upload=False)
    assert not upload.enabled and "Upload settings" in upload.label


def all_labels(items: tuple[MenuItem, ...]) -> list[str]:
    """Every label, submenus included."""
    return [label for i in items for label in (i.label, *all_labels(i.children))]


def test_long_problem_lines_are_shortened_so_the_menu_fits_the_screen() -> None:
    """Found in review (fix: bbb3ea4), under Xvfb at 1024x600: these two lines made the GTK menu
    1049 px wide, cut off at the right."""
    view = AppView(recorder_problem=RECORDER_PROBLEM, hotkey_error=HOTKEY_ERROR,
                   config_problem="the settings file is unreadable (" + "x" * 200 + ")")
    labels = all_labels(build_menu(view))
    assert max(len(label) for label in labels) <= 80, labels
    problem = next(label for label in labels if label.startswith("Recording problem: "))
    assert problem.endswith("…") and RECORDER_PROBLEM.startswith(problem[len("Recording problem: "):-1])


def test_an_uploaded_session_without_its_local_copy_says_so_and_keeps_its_link() -> None:
    from dataclasses import replace

    row = replace(item(UploadStatus.DONE), localCopy=False)
    assert row_label(row).endswith("Uploaded, local copy removed")
    assert [m.action.kind for m in session_actions(row) if m.action] == [K.VIEW, K.COPY_LINK, K.OPEN_FOLDER]
    assert row_label(item(UploadStatus.DONE)).endswith("Done")


def test_a_full_local_budget_needs_attention_and_is_shown() -> None:
    problem = "sessions not uploaded hold 25.0 GB, over the 20.0 GB budget"
    view = AppView(storage_problem=problem)
    assert icon_spec(view).state is IconState.ATTENTION
    assert f"Disk: {problem}" in [m.label for m in build_menu(view)]
    assert problem in tooltip(view)


def test_paused_uploads_show_in_the_queue_line_and_offer_resume() -> None:
    running = build_menu(AppView())
    assert find_action(running, "pause_uploads") is not None and find_action(running, "resume_uploads") is None
    paused = AppView(uploads_paused=True, pending_count=2)
    menu = build_menu(paused)
    resume = find_action(menu, "resume_uploads")
    assert resume is not None and resume.label == "Resume uploads" and resume.enabled
    assert find_action(menu, "pause_uploads") is None
    assert any(item.label == "Upload queue: 2 pending (paused)" for item in menu)
    assert tooltip(paused) == "traycap: idle, 2 waiting, uploads paused"


def test_the_menu_says_what_a_recording_holds_and_how_to_bind_keys_on_wayland() -> None:
    """Issue 21: while recording, a line says which tracks the recording holds; on Wayland without global
    shortcuts, idle, a line says how to start it from the keyboard."""
    note = "Recording screen with pointer; no clicks or keys (Wayland)"
    for mode in (RecordingMode.RECORDING, RecordingMode.PAUSED):
        menu = build_menu(AppView(recording=mode, recording_note=note, hotkey_label=None))
        assert note in labels(menu)
        assert next(i for i in menu if i.action and i.action.kind is K.TOGGLE_RECORDING).label == "Stop recording"
    assert note not in labels(build_menu(AppView(recording=RecordingMode.IDLE, recording_note=note)))
    keys = "Keys: bind `traycap toggle` in your desktop (Upload settings… says how)"
    idle = build_menu(AppView(recording=RecordingMode.IDLE, hotkey_label=None, shortcut_note=keys))
    assert keys in labels(idle) and "Start recording" in labels(idle)
    starting = AppView(recording=RecordingMode.STARTING)
    assert "Starting recording…" in labels(build_menu(starting))
    assert tooltip(starting) == "traycap: starting a recording"
