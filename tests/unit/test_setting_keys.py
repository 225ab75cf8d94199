"""The settings table (storage/setting_keys.py) and the app settings' validation: every field of
UploadConfig and AppSettings is a key `config set` can parse, whatever its type."""

from __future__ import annotations

import dataclasses

import pytest

from traycap.models import AppSettings, KeystrokePrivacy, UploadConfig
from traycap.storage.config_store import check_settings_assignments, validate_settings
from traycap.storage.setting_keys import (
    KEYS,
    SettingKey,
    SettingsFile,
    display_value,
    keys_of,
    parse_assignments,
    parse_value,
)


def test_every_field_of_both_dataclasses_is_a_key_of_its_file() -> None:
    assert [k.name for k in keys_of(SettingsFile.UPLOAD)] == [f.name for f in dataclasses.fields(UploadConfig)]
    assert [k.name for k in keys_of(SettingsFile.APP)] == [f.name for f in dataclasses.fields(AppSettings)]
    assert {k.name for k in KEYS.values() if k.secret} == set(UploadConfig.SECRET_FIELDS)


@pytest.mark.parametrize("file, cls", [(SettingsFile.UPLOAD, UploadConfig), (SettingsFile.APP, AppSettings)])
def test_every_key_takes_back_what_config_show_prints(file: SettingsFile, cls: type) -> None:
    """A field another change adds, of a type the table cannot parse, fails here (not at a user's prompt)."""
    shown = cls().to_json()
    for key in keys_of(file):
        value = parse_value(key, display_value(shown.get(key.name)))
        data = {**shown, key.name: value}
        assert cls.from_json(data).to_json() == shown, key.name


def test_values_are_parsed_by_the_field_type() -> None:
    assert parse_value(KEYS["fps"], " 15 ") == 15
    assert parse_value(KEYS["screenshotIntervalS"], "2.5") == 2.5
    assert parse_value(KEYS["copyLinkOnDone"], "YES") is True
    assert parse_value(KEYS["keystrokePrivacy"], "no_text") == KeystrokePrivacy.NO_TEXT.value
    assert parse_value(KEYS["endpointUrl"], "") is None  # optional: empty clears it
    assert parse_value(KEYS["keyPrefix"], "") == ""  # a plain string stays as written
    apps = SettingKey("excludedApps", SettingsFile.APP, tuple[str, ...], secret=False)
    assert parse_value(apps, "Slack, zoom ,,") == ["Slack", "zoom"] and parse_value(apps, "") == []
    for key, text, reason in (("fps", "15.5", "must be a whole number"), ("screenshotIntervalS", "x", "a number"),
                              ("copyLinkOnDone", "maybe", "true or false"),
                              ("keystrokePrivacy", "some", "one of full, no_text, none")):
        with pytest.raises(ValueError, match=reason):
            parse_value(KEYS[key], text)


def test_parse_assignments_takes_only_its_files_keys() -> None:
    values, problems = parse_assignments({"fps": "12", "bucket": "b", "monitor": "two"}, SettingsFile.APP)
    assert values == {"fps": 12} and problems == {"monitor": "must be a whole number"}


def test_app_settings_are_validated_as_a_whole_with_every_problem_at_once() -> None:
    settings, problems = check_settings_assignments(AppSettings(), {
        "fps": "0", "monitor": "-1", "hotkey": "ctrl+hyperdrive", "screenshotIntervalS": "0.1",
        "linkExpiresS": "604801",
        "keystrokePrivacy": "none", "colour": "blue"})
    assert set(problems) == {"fps", "monitor", "hotkey", "screenshotIntervalS", "linkExpiresS", "colour"}
    assert problems["colour"].startswith("unknown setting (known: ")
    assert settings.keystrokePrivacy is KeystrokePrivacy.NONE  # the good ones are applied (not saved: problems)
    good, none = check_settings_assignments(AppSettings(), {"fps": "15", "hotkey": "<alt>+<f9>", "monitor": "2"})
    assert none == {} and (good.fps, good.hotkey, good.monitor) == (15, "<alt>+<f9>", 2)
    assert validate_settings(AppSettings()) == {}


def test_an_upload_key_is_not_an_app_setting() -> None:
    _, problems = check_settings_assignments(AppSettings(), {"bucket": "b"})
    assert problems == {"bucket": "not one of the app settings"}


def test_a_list_setting_takes_the_comma_form_or_a_json_list() -> None:
    """Issue 18: `config set 'excludedApps=["Vaultapp"]'` stored the pattern `["Vaultapp"]` literally."""
    key = KEYS["excludedApps"]
    assert parse_value(key, "KeePassXC, 1Password") == ["KeePassXC", "1Password"]
    assert parse_value(key, '["Vaultapp"]') == ["Vaultapp"]
    assert parse_value(key, '[" KeePassXC ", "*Private Browsing*"]') == ["KeePassXC", "*Private Browsing*"]
    assert parse_value(key, "[]") == []
    for bad in ('["Vaultapp"', "[1, 2]", '[["a"]]'):
        with pytest.raises(ValueError, match=r"comma-separated \(excludedApps=KeePassXC,1Password\)"):
            parse_value(key, bad)


def test_the_hotkey_is_written_as_people_write_it_stored_as_one_form_shown_as_written() -> None:
    settings, problems = check_settings_assignments(AppSettings(), {"hotkey": "Ctrl+Alt+F9"})
    assert problems == {} and settings.hotkey == "<ctrl>+<alt>+<f9>"
    assert display_value(settings.hotkey, "hotkey") == "Ctrl+Alt+F9"  # what `config show` prints
    assert parse_value(KEYS["hotkey"], display_value(settings.hotkey, "hotkey")) == settings.hotkey
    _, problems = check_settings_assignments(AppSettings(), {"hotkey": "R"})
    assert "needs Ctrl, Alt or the system key" in problems["hotkey"]
