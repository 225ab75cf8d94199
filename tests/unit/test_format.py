"""traycap/format.py: key combinations as people write and read them (`parse_hotkey`, `hotkey_label`),
sizes and durations (pure)."""

from __future__ import annotations

import pytest

from traycap.format import hotkey_label, human_duration, human_size, parse_hotkey


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_the_default_hotkey_reads_ctrl_shift_r_everywhere(platform: str) -> None:
    assert hotkey_label("<ctrl>+<shift>+r", platform) == "Ctrl+Shift+R"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", "Super+Alt+R"), ("win32", "Win+Alt+R"), ("darwin", "Cmd+Option+R")],
)
def test_system_and_alt_keys_use_the_os_names(platform: str, expected: str) -> None:
    assert hotkey_label("<cmd>+<alt>+r", platform) == expected


@pytest.mark.parametrize(
    ("spec", "label"),
    [("<ctrl>+<shift>+r", "Ctrl+Shift+R"), ("<alt>+<f9>", "Alt+F9"), ("<cmd>+<shift>+s", "Super+Shift+S"),
     ("<ctrl>+<page_up>", "Ctrl+PageUp")],
)
def test_hotkey_label(spec: str, label: str) -> None:
    assert hotkey_label(spec, "linux") == label


def test_left_and_right_variants_read_as_the_key() -> None:
    assert hotkey_label("<ctrl_l>+<f9>", "win32") == "Ctrl+F9"


@pytest.mark.parametrize(("written", "stored"), [
    ("Ctrl+Shift+R", "<ctrl>+<shift>+r"),
    ("ctrl+alt+F9", "<ctrl>+<alt>+<f9>"),
    ("<ctrl>+<shift>+r", "<ctrl>+<shift>+r"),  # what older settings files hold stays as it is
    ("<alt>+<f9>", "<alt>+<f9>"),
    ("Shift + Ctrl + r", "<ctrl>+<shift>+r"),  # spaces, any order: one canonical form
    ("Control-Option-R", "<ctrl>+<alt>+r"),
    ("Cmd+Option+R", "<alt>+<cmd>+r"),
    ("Win+Alt+R", "<alt>+<cmd>+r"),
    ("Super+PgUp", "<cmd>+<page_up>"),
    ("F9", "<f9>"),  # a function key may stand alone
    ("ctrl ctrl r", "<ctrl>+r"),
    ("Ctrl+Alt+Escape", "<ctrl>+<alt>+<esc>"),
])
def test_a_shortcut_is_read_as_people_write_it_and_stored_in_one_form(written: str, stored: str) -> None:
    assert parse_hotkey(written) == stored
    assert parse_hotkey(hotkey_label(stored, "linux")) == stored  # what is shown reads back the same
    assert parse_hotkey(hotkey_label(stored, "darwin")) == stored
    assert parse_hotkey(hotkey_label(stored, "win32")) == stored


@pytest.mark.parametrize(("written", "why"), [
    ("", "write a key combination"),
    ("r", "needs Ctrl, Alt or the system key"),
    ("Shift+R", "needs Ctrl, Alt or the system key"),
    ("Ctrl+Shift", "no key, only modifiers"),
    ("Ctrl+R+T", "2 keys"),
    ("Ctrl+Hyperdrive", "'Hyperdrive' is not a key"),
    ("Ctrl++", "the + key"),
])
def test_what_cannot_be_a_shortcut_says_why(written: str, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("+", r"\+")):
        parse_hotkey(written)


def test_sizes_and_durations() -> None:
    assert (human_size(None), human_size(512), human_size(1536)) == ("-", "512 B", "1.5 KB")
    assert (human_duration(None), human_duration(61_000), human_duration(3_661_000)) == ("-", "1:01", "1:01:01")
