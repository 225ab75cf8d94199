"""traycap.ui.menu.hotkey_label: the hotkey as the user's OS names its keys (pure)."""

from __future__ import annotations

import pytest

from traycap.ui.menu import hotkey_label


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_the_default_hotkey_reads_ctrl_shift_r_everywhere(platform: str) -> None:
    assert hotkey_label("<ctrl>+<shift>+r", platform) == "Ctrl+Shift+R"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", "Super+Alt+R"), ("win32", "Win+Alt+R"), ("darwin", "Cmd+Option+R")],
)
def test_system_and_alt_keys_use_the_os_names(platform: str, expected: str) -> None:
    assert hotkey_label("<cmd>+<alt>+r", platform) == expected


def test_left_and_right_variants_read_as_the_key() -> None:
    assert hotkey_label("<ctrl_l>+<f9>", "win32") == "Ctrl+F9"
