"""`traycap config set / show` as one settings surface: upload and app settings alike, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import no_traceback, run
from traycap.storage.setting_keys import KEYS

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYcliSECRETzq9"


def test_config_set_takes_app_settings_without_any_upload_settings(home: Path) -> None:
    proc = run(home, "config", "set", "fps=15", "hotkey=<alt>+<f9>", "keystrokePrivacy=no_text", "monitor=1",
               "screenshotIntervalS=2.5", "linkExpiresS=3600", "copyLinkOnDone=yes")
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((home / "app-settings.json").read_text())
    expected = {"hotkey": "<alt>+<f9>", "fps": 15, "monitor": 1, "screenshotIntervalS": 2.5,
                "keystrokePrivacy": "no_text", "copyLinkOnDone": True, "linkExpiresS": 3600}
    assert {k: saved[k] for k in expected} == expected
    assert not (home / "upload-config.json").exists()  # `fps=15` needs no bucket


def test_one_bad_value_writes_nothing_in_either_file_and_lists_every_problem(home: Path) -> None:
    assert run(home, "config", "set", "bucket=my-bucket", "region=eu-west-1", "accessKeyId=AKIDEXAMPLE",
               f"secretAccessKey={SECRET}", "fps=12").returncode == 0
    before = {p: p.read_bytes() for p in (home / "upload-config.json", home / "app-settings.json")}
    proc = run(home, "config", "set", "fps=0", "monitor=-1", "keystrokePrivacy=all", "maxRetries=ten",
               "bucket=ok-bucket", "hotkey=<alt>+<f9>")
    assert proc.returncode == 1
    no_traceback(proc)
    for expected in ("fps: must be a whole number from 1 to 60", "monitor: must be 0", "maxRetries: must be a whole",
                     "keystrokePrivacy: must be one of full, no_text, none"):
        assert expected in proc.stderr, proc.stderr
    assert "nothing was written" in proc.stderr
    assert {p: p.read_bytes() for p in before} == before


def test_config_show_lists_every_setting_with_secrets_masked(home: Path) -> None:
    assert run(home, "config", "set", "bucket=my-bucket", "region=eu-west-1", "accessKeyId=AKIDEXAMPLE",
               f"secretAccessKey={SECRET}", "fps=15").returncode == 0
    shown = run(home, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert list(values) == [*KEYS, "secretStoredIn"]
    assert values["secretStoredIn"] in ("keyring", "file (0600)")
    assert values["secretAccessKey"] == "****" + SECRET[-4:] and values["fps"] == 15
    assert values["keystrokePrivacy"] == "full" and values["bucket"] == "my-bucket"
    text = run(home, "config", "show")
    assert text.returncode == 0 and SECRET not in text.stdout + text.stderr
    lines = text.stdout.splitlines()
    assert f"# {home / 'upload-config.json'}" in lines and f"# {home / 'app-settings.json'}" in lines
    assert {line.split(" = ")[0] for line in lines if " = " in line} == set(KEYS)
    # The hotkey as people write it (issue 18), which `config set hotkey=` takes back; --json keeps the stored form.
    assert "fps = 15" in lines and "hotkey = Ctrl+Shift+R" in lines and values["hotkey"] == "<ctrl>+<shift>+r"


def test_config_show_before_anything_was_set_shows_the_defaults(home: Path) -> None:
    shown = run(home, "config", "show", "--json")
    assert shown.returncode == 0 and "no upload settings yet" in shown.stderr
    values = json.loads(shown.stdout)
    assert values["fps"] == 10 and values["bucket"] == "" and values["maxRetries"] == 10
