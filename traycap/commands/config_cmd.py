"""`traycap config show [--json] | set KEY=VALUE... | test | devices [--json]`: every setting, upload and
app alike, and the sound devices `audioDevice` may name.

The keys are the fields of UploadConfig (upload-config.json, mode 0600) and
AppSettings (app-settings.json), read off the dataclasses by
storage/setting_keys.py: a new field needs no change here.

`config set secretAccessKey=-` (or sessionToken=-) reads the secret from
standard input, so it never appears in a command line: a prompt without
echo on a terminal, one line from a pipe. A secret given as an argument
still works, with a warning. Secrets live in the OS keyring when one is
usable, else in the 0600 file (storage/secrets.py). `config set` is where a
secret still in the file moves into a usable keyring (a start never moves it),
and it makes the next start ask a keyring that did not answer lately.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any, TextIO

from traycap.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from traycap.context import Context
from traycap.errors import ConfigError, CorruptFile, SecretUnreachable, SoundUnavailable
from traycap.media.sound import list_devices
from traycap.media.sound.base import MIC
from traycap.models import UploadConfig
from traycap.storage.config_store import (
    check_assignments,
    check_settings_assignments,
    migrate_secrets,
    read_config,
    save_settings,
    validate_config,
    validate_settings,
)
from traycap.storage.secrets import SecretLocation
from traycap.storage.setting_keys import KEYS, SettingsFile, display_value, keys_of, unknown_setting

FROM_STDIN = "-"


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.config_command == "show":
        return _show(args, ctx)
    if args.config_command == "set":
        return _set(args, ctx)
    if args.config_command == "test":
        return _test(ctx)
    if args.config_command == "devices":
        return _devices(args, ctx)
    return EXIT_USAGE


def _devices(args: argparse.Namespace, ctx: Context) -> int:
    """The microphones (audioDevice takes a name as printed) and the outputs whose sound can be recorded."""
    try:
        devices = list_devices()
    except SoundUnavailable as exc:
        return fail(exc.user_text())
    chosen = ctx.load_settings().audioDevice
    if args.json:
        print(json.dumps([{"name": d.name, "kind": d.kind, "default": d.default, "chosen": d.name == chosen}
                          for d in devices], indent=1))
        return EXIT_OK
    if not devices:
        print("no sound devices")
    for d in devices:
        marks = [m for m, on in (("default", d.default), ("chosen: audioDevice", d.name == chosen)) if on]
        kind = "microphone" if d.kind == MIC else "computer's sound"
        print(f"{kind:18} {d.name}" + (f"  ({', '.join(marks)})" if marks else ""))
    return EXIT_OK


def _show(args: argparse.Namespace, ctx: Context) -> int:
    """Every setting of both files, secrets masked; a file not written yet shows its defaults."""
    stored = read_config(ctx.paths.config, ctx.secrets)
    settings = ctx.load_settings()
    config = stored.config if stored is not None else None
    upload: dict[str, Any] = (config or UploadConfig()).masked_json()
    if stored is not None and stored.problem is not None:
        upload["secretAccessKey"] = "(in the OS keyring, which cannot be read now)"
    app = settings.to_json()
    location = stored.location.label if stored is not None else None
    if args.json:
        shown = {key.name: (upload if key.file is SettingsFile.UPLOAD else app).get(key.name) for key in KEYS.values()}
        print(json.dumps({**shown, "secretStoredIn": location}, indent=2))
    else:
        for path, file, values in ((ctx.paths.config, SettingsFile.UPLOAD, upload),
                                   (ctx.paths.settings, SettingsFile.APP, app)):
            print(f"# {path}{'' if path.exists() else ' (not written yet: defaults)'}")
            for key in keys_of(file):
                print(f"{key.name} = {display_value(values.get(key.name), key.name)}")
            if file is SettingsFile.UPLOAD and location is not None:
                print(f"secret stored in: {location}")
    if stored is None:
        print(f"traycap: no upload settings yet ({ctx.paths.config}); use `traycap config set KEY=VALUE`",
              file=sys.stderr)
    elif stored.problem is not None:
        print(f"traycap: warning: the secrets in the OS keyring cannot be read now: {stored.problem}",
              file=sys.stderr)
    else:
        for name, text in validate_config(stored.config).items():
            print(f"traycap: warning: {name}: {text}", file=sys.stderr)
    for name, text in validate_settings(settings).items():
        print(f"traycap: warning: {name}: {text}", file=sys.stderr)
    return EXIT_OK


def _set(args: argparse.Namespace, ctx: Context) -> int:
    assignments: dict[str, str] = {}
    for n, item in enumerate(args.assignments, start=1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # The argument is not echoed: it may be a secret typed without its key.
            print(f"traycap: argument {n} of `config set` is not KEY=VALUE", file=sys.stderr)
            return EXIT_USAGE
        assignments[key.strip()] = value
    try:
        _read_secrets(assignments, sys.stdin)
    except ConfigError as exc:
        return fail(exc.user_text())
    # The user acts: a keyring that did not answer a start lately is asked again, here and at the next start.
    ctx.keyring_memory().forget()
    by_file = {file: {k: v for k, v in assignments.items() if k in KEYS and KEYS[k].file is file}
               for file in SettingsFile}
    problems = {k: unknown_setting() for k in assignments if k not in KEYS}
    # Only the files this command changes are read and validated: `fps=15` needs no upload settings.
    config = settings = None
    if by_file[SettingsFile.UPLOAD]:
        stored = read_config(ctx.paths.config, ctx.secrets)
        if stored is not None and stored.problem is not None and "secretAccessKey" not in assignments:
            # Saving now would write a file that has lost track of the secret.
            return fail(SecretUnreachable(f"The upload secret is in the OS keyring, which cannot be read now: "
                                          f"{stored.problem}; nothing was saved").user_text())
        current = stored.config if stored is not None else UploadConfig()
        config, upload_problems = check_assignments(current, by_file[SettingsFile.UPLOAD])
        problems.update(upload_problems)
    if by_file[SettingsFile.APP]:
        settings, app_problems = check_settings_assignments(ctx.load_settings(), by_file[SettingsFile.APP])
        problems.update(app_problems)
    if problems:
        print("traycap: settings not saved (nothing was written):", file=sys.stderr)
        for key, text in problems.items():
            print(f"  {key}: {text}", file=sys.stderr)
        print("  (several settings can be given in one command: traycap config set bucket=B region=R ...)",
              file=sys.stderr)
        return EXIT_FAIL
    saved = []
    secret_in_file = _secret_in_file(ctx)
    upload_keys = by_file[SettingsFile.UPLOAD]
    secrets_set = any(upload_keys.get(k) for k in UploadConfig.SECRET_FIELDS)
    location: SecretLocation | None = None
    if config is not None:
        location = ctx.save_config(config)
        where = f" (secret stored in: {location.label})" if secrets_set else ""
        saved.append(f"{', '.join(sorted(upload_keys))} to {ctx.paths.config}{where}")
    if settings is not None:
        save_settings(ctx.paths.settings, settings)
        saved.append(f"{', '.join(sorted(by_file[SettingsFile.APP]))} to {ctx.paths.settings}")
    if config is None and secret_in_file:
        stored = migrate_secrets(ctx.paths.config, ctx.secrets)  # keyring first, read back, then the file
        location = stored.location if stored is not None else None
    print(f"Saved {' and '.join(saved)}")
    if secret_in_file and not secrets_set and location is SecretLocation.KEYRING:
        print(f"The upload secret moved from {ctx.paths.config} into the OS keyring")
    return EXIT_OK


def _secret_in_file(ctx: Context) -> bool:
    """The upload settings file still holds a secret (an older traycap, or no usable keyring then)."""
    try:
        in_file = ctx.load_config_choices()
    except CorruptFile:
        return False
    return in_file is not None and bool(in_file.secretAccessKey or in_file.sessionToken)


def _read_secrets(assignments: dict[str, str], stdin: TextIO) -> None:
    """Replace each `SECRET=-` by a value from standard input; warn about a secret given as an argument."""
    for key in UploadConfig.SECRET_FIELDS:
        value = assignments.get(key)
        if value == FROM_STDIN:
            assignments[key] = _secret_from_stdin(key, stdin)
        elif value:
            print(f"traycap: warning: the {key} given on the command line is now in your shell history and was "
                  f"visible to other processes; next time use `traycap config set {key}=-` to type or pipe it "
                  "instead", file=sys.stderr)


def _secret_from_stdin(key: str, stdin: TextIO) -> str:
    if stdin.isatty():
        try:
            value = getpass.getpass(f"{key} (not shown): ")
        except EOFError:
            value = ""
    else:
        value = stdin.readline().rstrip("\r\n")
    if not value:
        raise ConfigError(f"No {key} was read from standard input; nothing was saved",
                          f"type it at the prompt, or pipe one line: `... | traycap config set {key}=-`")
    return value


def _test(ctx: Context) -> int:
    try:
        config = ctx.require_config()
    except (ConfigError, CorruptFile) as exc:
        return fail(exc.user_text())
    from traycap.upload.s3 import UploadService

    result = UploadService(config).validate_credentials()
    if result.valid:
        print(f"OK: bucket {config.bucket!r} is reachable with these credentials")
        return EXIT_OK
    return fail(result.error or "the connection test failed")
