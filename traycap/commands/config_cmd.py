"""`traycap config show [--json] | set KEY=VALUE... | test`."""

from __future__ import annotations

import argparse
import json
import sys

from traycap.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from traycap.context import Context
from traycap.errors import ConfigInvalid, ConfigMissing
from traycap.models import AppSettings, UploadConfig
from traycap.storage.config_store import (
    SETTINGS_KEYS,
    check_assignments,
    check_settings_assignments,
    require_config,
    save_config,
    save_settings,
    validate_config,
)


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.config_command == "show":
        return _show(args, ctx)
    if args.config_command == "set":
        return _set(args, ctx)
    if args.config_command == "test":
        return _test(ctx)
    return EXIT_USAGE


def _show(args: argparse.Namespace, ctx: Context) -> int:
    config = ctx.load_config()
    if config is None:
        if args.json:
            print("null")
        print(f"No upload settings yet ({ctx.paths.config}); use `traycap config set KEY=VALUE`", file=sys.stderr)
        return EXIT_OK
    shown = config.masked_json()
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        print(f"# {ctx.paths.config}")
        for key, value in shown.items():
            print(f"{key} = {json.dumps(value) if not isinstance(value, str) else value}")
        problems = validate_config(config)
        for key, text in problems.items():
            print(f"traycap: warning: {key}: {text}", file=sys.stderr)
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
    app_part = {k: v for k, v in assignments.items() if k in SETTINGS_KEYS}
    upload_part = {k: v for k, v in assignments.items() if k not in SETTINGS_KEYS}
    problems: dict[str, str] = {}
    updated: UploadConfig | None = None
    if upload_part:
        updated, problems = check_assignments(ctx.load_config() or UploadConfig(), upload_part)
    new_settings: AppSettings | None = None
    if app_part:
        new_settings, settings_problems = check_settings_assignments(ctx.load_settings(), app_part)
        problems.update(settings_problems)
    if problems:
        print("traycap: settings not saved (nothing was written):", file=sys.stderr)
        for key, text in problems.items():
            print(f"  {key}: {text}", file=sys.stderr)
        print("  (several settings can be given in one command: traycap config set bucket=B region=R ...)",
              file=sys.stderr)
        return EXIT_FAIL
    if updated is not None:
        save_config(ctx.paths.config, updated)
        print(f"Saved {', '.join(sorted(upload_part))} to {ctx.paths.config}")
    if new_settings is not None:
        save_settings(ctx.paths.settings, new_settings)
        print(f"Saved {', '.join(sorted(app_part))} to {ctx.paths.settings}")
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
