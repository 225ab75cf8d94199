"""The settings dialog's form logic, without Tk."""

from __future__ import annotations

from traycap.models import MIB, AppSettings, KeystrokePrivacy, UploadConfig, WaylandInput, WaylandSource
from traycap.ui.settings_form import (
    FIELDS,
    WHAT_IS_RECORDED,
    DesktopInfo,
    fields_for,
    form_values,
    keys_text,
    parse_form,
    what_is_recorded,
)

GOOD = UploadConfig(bucket="my-bucket", region="eu-west-1", accessKeyId="AKIAX", secretAccessKey="secret-1234")


def test_round_trip_keeps_every_value() -> None:
    config = GOOD.with_(endpointUrl="http://127.0.0.1:9000", pathStyle=True, partSizeBytes=16 * MIB,
                        autoUpload=True, sessionToken="tok-5678", maxRetries=3)
    settings = AppSettings(hotkey="<alt>+<f9>", fps=15, screenshotIntervalS=2.5,
                           keystrokePrivacy=KeystrokePrivacy.NO_TEXT, copyLinkOnDone=True)
    values = form_values(config, settings)
    assert values["partSizeMiB"] == "16" and values["endpointUrl"] == "http://127.0.0.1:9000"
    got_config, got_settings, errors = parse_form(values, config, settings)
    assert errors == {}
    assert got_config == config and got_settings == settings


def test_upload_while_recording_is_on_by_default_and_can_be_turned_off() -> None:
    values = form_values(GOOD.with_(autoUpload=True), AppSettings())
    assert values["uploadWhileRecording"] is True
    config, _, errors = parse_form({**values, "uploadWhileRecording": False}, GOOD, AppSettings())
    assert errors == {} and config is not None and config.uploadWhileRecording is False


def test_every_field_has_a_form_value() -> None:
    values = form_values(None, AppSettings())
    assert {f.key for f in FIELDS} == set(values)


def test_missing_bucket_is_an_inline_error_on_that_field() -> None:
    values = form_values(GOOD.with_(bucket=""), AppSettings())
    config, settings, errors = parse_form(values, None, AppSettings())
    assert errors == {"bucket": "a bucket name is required"}
    assert config is None and settings == AppSettings()


def test_bad_numbers_and_hotkey_are_reported_per_field() -> None:
    values = form_values(GOOD, AppSettings())
    values.update(maxRetries="many", partSizeMiB="2", fps="0", screenshotIntervalS="x", hotkey="ctrl+hyperdrive",
                  endpointUrl="minio:9000")
    config, settings, errors = parse_form(values, GOOD, AppSettings())
    assert config is None and settings is None
    # Every bad field is marked in one round, not one more round trip per field.
    assert set(errors) == {"maxRetries", "partSizeMiB", "endpointUrl", "fps", "screenshotIntervalS", "hotkey"}
    values["maxRetries"] = "5"
    config, settings, errors = parse_form(values, GOOD, AppSettings())
    assert "maxRetries" not in errors
    assert errors["partSizeMiB"].startswith("must be at least")
    assert errors["endpointUrl"] == "must start with http:// or https:// (leave blank for AWS)"


def test_blank_optional_fields_clear_them_and_profile_replaces_keys() -> None:
    values = form_values(GOOD.with_(sessionToken="t-1234"), AppSettings())
    values.update(sessionToken="", accessKeyId="", secretAccessKey="", profile="work")
    config, _s, errors = parse_form(values, GOOD, AppSettings())
    assert errors == {}
    assert config is not None and config.sessionToken is None and config.profile == "work"


def test_settings_errors_do_not_block_testing_the_connection() -> None:
    values = form_values(GOOD, AppSettings())
    values["fps"] = "500"
    config, settings, errors = parse_form(values, GOOD, AppSettings())
    assert config == GOOD and settings is None and set(errors) == {"fps"}


def test_standard_credential_chain_needs_no_keys() -> None:
    values = form_values(GOOD, AppSettings())
    values.update(accessKeyId="", secretAccessKey="", useDefaultCredentials=True)
    config, _s, errors = parse_form(values, GOOD, AppSettings())
    assert errors == {}
    assert config is not None and config.useDefaultCredentials and not config.accessKeyId


def test_every_bad_s3_field_is_marked_at_once() -> None:
    values = form_values(None, AppSettings())
    values.update(bucket="my-bucket", region="", accessKeyId="AKIAEXAMPLE", secretAccessKey="", maxRetries="abc")
    config, settings, errors = parse_form(values, None, AppSettings())
    assert config is None and settings is not None
    assert {"maxRetries", "region", "secretAccessKey"} <= set(errors), errors


def test_a_change_made_elsewhere_updates_the_fields_the_user_did_not_edit() -> None:
    from traycap.ui.settings_form import merge_changed_elsewhere

    shown = form_values(GOOD, AppSettings())
    current = {**shown, "region": "us-west-2", "fps": "12"}  # the user's unsaved edits
    incoming = form_values(GOOD.with_(bucket="other-bucket", region="eu-central-1"), AppSettings(fps=12, hotkey="<f9>"))
    merged, kept = merge_changed_elsewhere(current, shown, incoming)
    assert merged["bucket"] == "other-bucket" and merged["hotkey"] == "F9"  # untouched: the new values (as shown)
    assert merged["region"] == "us-west-2" and merged["fps"] == "12"  # edited: the user's text stays
    assert kept == ["region"]  # fps was edited to what the file now says anyway


def test_excluded_apps_are_a_comma_separated_list_in_the_form() -> None:
    settings = AppSettings(excludedApps=("KeePassXC", "*Private Browsing*"))
    values = form_values(None, settings)
    assert values["excludedApps"] == "KeePassXC, *Private Browsing*"
    values["excludedApps"] = " 1Password ,, *Private Browsing* , "
    _config, parsed, errors = parse_form(values, None, settings)
    assert "excludedApps" not in errors
    assert parsed is not None and parsed.excludedApps == ("1Password", "*Private Browsing*")


def test_the_form_says_what_is_recorded_and_how_to_exclude_apps() -> None:
    from traycap.ui.settings_form import WHAT_IS_RECORDED

    text = WHAT_IS_RECORDED.lower()
    assert "every key you type" in text and "passwords included" in text and "never record these apps" in text


def test_retention_and_disk_guard_settings_round_trip_and_are_checked() -> None:
    settings = AppSettings(keepUploadedDays=0, localBudgetMB=512, minFreeMB=2048)
    values = form_values(GOOD, settings)
    assert (values["keepUploadedDays"], values["localBudgetMB"], values["minFreeMB"]) == ("0", "512", "2048")
    assert parse_form(values, GOOD, settings)[1] == settings
    values.update(keepUploadedDays="-2", localBudgetMB="lots")
    config, got, errors = parse_form(values, GOOD, settings)
    assert got is None and config == GOOD
    assert errors == {"keepUploadedDays": "must be -1 (never), 0 (once verified) or a number of days",
                      "localBudgetMB": "must be a whole number"}


def test_encryption_and_the_rate_cap_are_in_the_form_and_checked() -> None:
    values = form_values(GOOD, AppSettings())
    assert (values["sse"], values["sseKmsKeyId"], values["maxUploadMBps"]) == ("none", "", "0")
    values.update(sse="aws:kms", sseKmsKeyId="alias/traycap", maxUploadMBps="2.5")
    config, _settings, errors = parse_form(values, GOOD, AppSettings())
    assert errors == {} and config is not None
    assert (config.sse, config.sseKmsKeyId, config.maxUploadMBps) == ("aws:kms", "alias/traycap", 2.5)
    values.update(sse="AES256", maxUploadMBps="fast")
    config, _settings, errors = parse_form(values, GOOD, AppSettings())
    assert config is None and set(errors) == {"sseKmsKeyId", "maxUploadMBps"}


def test_a_key_press_reads_as_the_shortcut_it_makes() -> None:
    """The dialog's "Record shortcut" (Tk's keysym and modifier state bits per windowing system)."""
    from traycap.format import parse_hotkey
    from traycap.ui.settings_form import shortcut_from_keypress

    ctrl, shift, alt_x11, super_x11 = 0x4, 0x1, 0x8, 0x40
    assert shortcut_from_keypress("R", ctrl | shift, "linux") == "Ctrl+Shift+R"
    assert shortcut_from_keypress("F9", ctrl | alt_x11, "linux") == "Ctrl+Alt+F9"
    assert shortcut_from_keypress("Prior", super_x11, "linux") == "Super+PageUp"
    assert shortcut_from_keypress("F9", ctrl | 0x20000, "win32") == "Ctrl+Alt+F9"  # Alt is another bit on Windows
    assert shortcut_from_keypress("r", 0x8 | 0x10, "darwin") == "Option+Cmd+R"
    assert shortcut_from_keypress("minus", ctrl | alt_x11, "linux") == "Ctrl+Alt+-"
    assert shortcut_from_keypress("Control_L", ctrl, "linux") is None  # a modifier alone: the key is still to come
    assert shortcut_from_keypress("Shift_R", ctrl | shift, "linux") is None
    assert shortcut_from_keypress("Escape", 0, "linux") == "Esc"  # the dialog keeps the old shortcut
    # What the field shows is what Save stores, through the same parser as a typed shortcut.
    assert parse_hotkey("Option+Cmd+R") == "<alt>+<cmd>+r"
    assert parse_hotkey(shortcut_from_keypress("minus", ctrl | alt_x11, "linux") or "") == "<ctrl>+<alt>+-"


def test_on_wayland_the_form_says_how_to_bind_keys_and_what_a_recording_holds() -> None:
    """Issue 21: no app can listen for keys on Wayland; the dialog says exactly how to bind `traycap toggle` on
    GNOME and KDE (or that the desktop binds the shortcuts), hides the shortcut field, shows the Wayland choices,
    and says that excluded apps cannot be honoured there."""
    x11 = DesktopInfo()
    wayland = DesktopInfo(wayland=True, command="/home/me/.local/bin/traycap")
    assert keys_text(x11) is None
    text = keys_text(wayland)
    assert text is not None
    assert ("GNOME: Settings > Keyboard > View and Customize Shortcuts > Custom Shortcuts > +: Name \"traycap "
            "toggle\", Command \"/home/me/.local/bin/traycap toggle\", Shortcut Ctrl+Alt+R") in text
    assert ("KDE Plasma: System Settings > Keyboard > Shortcuts > Add New > Command or Script: "
            "\"/home/me/.local/bin/traycap toggle\"") in text
    assert "your desktop binds traycap's shortcuts" in str(keys_text(DesktopInfo(wayland=True, shortcuts_portal=True)))
    assert "pointer drawn in" in what_is_recorded(wayland) and what_is_recorded(x11) == WHAT_IS_RECORDED
    shown = {f.key: f for f in fields_for(wayland)}
    assert "hotkey" not in shown and {"waylandSource", "waylandInput"} <= set(shown)
    assert "cannot see which window has focus" in shown["excludedApps"].hint
    assert "input group" in shown["waylandInput"].hint
    assert {"waylandSource", "waylandInput"}.isdisjoint(f.key for f in fields_for(x11))


def test_a_wayland_form_saves_its_choices_and_keeps_the_hotkey_it_does_not_show() -> None:
    base = AppSettings(hotkey="<ctrl>+<alt>+k")
    values = {k: v for k, v in form_values(None, base).items()
              if k in {f.key for f in fields_for(DesktopInfo(wayland=True))}}
    values.update(bucket="traycap-test", region="us-east-1", accessKeyId="AKIAX", secretAccessKey="s",
                  waylandSource="window", waylandInput="devices")
    _config, settings, errors = parse_form(values, None, base)
    assert errors == {} and settings is not None
    assert settings.waylandSource is WaylandSource.WINDOW and settings.waylandInput is WaylandInput.DEVICES
    assert settings.hotkey == "<ctrl>+<alt>+k"
    values["waylandInput"] = "keyboard"
    assert "waylandInput" in parse_form(values, None, base)[2]


def test_the_sound_boxes_make_the_audio_setting_and_the_device_list_keeps_the_saved_one() -> None:
    from traycap.models import AudioMode
    from traycap.ui.settings_form import DEFAULT_DEVICE, WHAT_IS_RECORDED, device_choices

    values = form_values(GOOD, AppSettings())
    assert values["recordMicrophone"] is False and values["audioDevice"] == DEFAULT_DEVICE
    for mic, system, mode in [(True, False, AudioMode.MIC), (False, True, AudioMode.SYSTEM),
                              (True, True, AudioMode.BOTH), (False, False, AudioMode.NONE)]:
        _, settings, errors = parse_form({**values, "recordMicrophone": mic, "recordSystemSound": system,
                                          "audioDevice": "USB Mic"}, GOOD, AppSettings())
        assert errors == {} and settings is not None
        assert settings.audio is mode and settings.audioDevice == "USB Mic"
    _, settings, _ = parse_form({**values, "recordMicrophone": True}, GOOD, AppSettings(audioDevice="USB Mic"))
    assert settings is not None and settings.audioDevice == ""  # the default entry means "no name"
    assert device_choices(["Built-in", "USB Mic"], "Headset") == [DEFAULT_DEVICE, "Built-in", "USB Mic", "Headset"]
    assert "microphone" in WHAT_IS_RECORDED and "computer plays" in WHAT_IS_RECORDED
