"""`traycap config show [--json] | set KEY=VALUE... | test`: every setting, upload and app alike.

The keys are the fields of UploadConfig (upload-config.json, mode 0600) and
AppSettings (app-settings.json), read off the dataclasses by
storage/setting_keys.py: a new field needs no change here.
"""

from __future__ import annotations

import argparse
import json
import sys

from traycap.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from traycap.context import Context
from traycap.errors import ConfigInvalid, ConfigMissing
from traycap.models import UploadConfig
from traycap.storage.config_store import (
    check_assignments,
    check_settings_assignments,
    require_config,
    save_config,
    save_settings,
    validate_config,
    validate_settings,
)
from traycap.storage.setting_keys import KEYS, SettingsFile, display_value, keys_of, unknown_setting


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.config_command == "show":
        return _show(args, ctx)
    if args.config_command == "set":
        return _set(args, ctx)
    if args.config_command == "test":
        return _test(ctx)
    return EXIT_USAGE


def _show(args: argparse.Namespace, ctx: Context) -> int:
    """Every setting of both files, secrets masked; a file not written yet shows its defaults."""
    config = ctx.load_config()
    settings = ctx.load_settings()
    upload = (config or UploadConfig()).masked_json()
    app = settings.to_json()
    if args.json:
        shown = {key.name: (upload if key.file is SettingsFile.UPLOAD else app).get(key.name) for key in KEYS.values()}
        print(json.dumps(shown, indent=2))
    else:
        for path, file, values in ((ctx.paths.config, SettingsFile.UPLOAD, upload),
                                   (ctx.paths.settings, SettingsFile.APP, app)):
            print(f"# {path}{'' if path.exists() else ' (not written yet: defaults)'}")
            for key in keys_of(file):
                print(f"{key.name} = {display_value(values.get(key.name))}")
    if config is None:
        print(f"traycap: no upload settings yet ({ctx.paths.config}); use `traycap config set KEY=VALUE`",
              file=sys.stderr)
    else:
        for name, text in validate_config(config).items():
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
    by_file = {file: {k: v for k, v in assignments.items() if k in KEYS and KEYS[k].file is file}
               for file in SettingsFile}
    problems = {k: unknown_setting() for k in assignments if k not in KEYS}
    # Only the files this command changes are read and validated: `fps=15` needs no upload settings.
    config = settings = None
    if by_file[SettingsFile.UPLOAD]:
        config, upload_problems = check_assignments(ctx.load_config() or UploadConfig(), by_file[SettingsFile.UPLOAD])
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
    if config is not None:
        save_config(ctx.paths.config, config)
        saved.append(f"{', '.join(sorted(by_file[SettingsFile.UPLOAD]))} to {ctx.paths.config}")
    if settings is not None:
        save_settings(ctx.paths.settings, settings)
        saved.append(f"{', '.join(sorted(by_file[SettingsFile.APP]))} to {ctx.paths.settings}")
    print(f"Saved {' and '.join(saved)}")
    return EXIT_OK


def _test(ctx: Context) -> int:
    try:
        config = require_config(ctx.paths.config)
    except (ConfigMissing, ConfigInvalid) as exc:
        return fail(exc.user_text())
    from traycap.upload.s3 import UploadService

    result = UploadService(config).validate_credentials()
    if result.valid:
        print(f"OK: bucket {config.bucket!r} is reachable with these credentials")
        return EXIT_OK
    return fail(result.error or "the connection test failed")
