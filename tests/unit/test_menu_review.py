"""Review findings in the pure menu model."""

from __future__ import annotations

from traycap.ui.menu import AppView, MenuItem, build_menu

RECORDER_PROBLEM = ("Recording stopped: The disk is full: could not write actions.jsonl. "
                    "What was recorded is saved as session 20261125-181514-40ba79.")
HOTKEY_ERROR = "The hotkey <ctrl>+<shift>+r cannot be registered: Cannot listen to the keyboard: it did not start"


def _labels(items: tuple[MenuItem, ...]) -> list[str]:
    return [label for i in items for label in (i.label, *_labels(i.children))]


def test_long_problem_lines_are_shortened_so_the_menu_fits_the_screen() -> None:
    # Seen under Xvfb at 1024x600: these two lines made the GTK menu 1049 px wide, cut off at the right.
    view = AppView(recorder_problem=RECORDER_PROBLEM, hotkey_error=HOTKEY_ERROR,
                   config_problem="the settings file is unreadable (" + "x" * 200 + ")")
    labels = _labels(build_menu(view))
    assert max(len(label) for label in labels) <= 80, labels
    problem = next(label for label in labels if label.startswith("Recording problem: "))
    assert problem.endswith("…") and RECORDER_PROBLEM.startswith(problem[len("Recording problem: "):-1])
