"""`traycap config show [--json] | set KEY=VALUE... | test`.

`config set secretAccessKey=-` (or sessionToken=-) reads the secret from
standard input, so it never appears in a command line: a prompt without
echo on a terminal, one line from a pipe. A secret given as an argument
still works, with a warning.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TextIO

from traycap.commands.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, fail
from traycap.context import Context
from traycap.errors import ConfigError, CorruptFile, SecretUnreachable
from traycap.models import UploadConfig
from traycap.storage.config_store import check_assignments, read_config, validate_config

FROM_STDIN = "-"


def run(args: argparse.Namespace, ctx: Context) -> int:
    if args.config_command == "show":
        return _show(args, ctx)
    if args.config_command == "set":
        return _set(args, ctx)
    if args.config_command == "test":
        return _test(ctx)
    return EXIT_USAGE


def _show(args: argparse.Namespace, ctx: Context) -> int:
    stored = read_config(ctx.paths.config, ctx.secrets)
    if stored is None:
        if args.json:
            print("null")
        print(f"No upload settings yet ({ctx.paths.config}); use `traycap config set KEY=VALUE`", file=sys.stderr)
        return EXIT_OK
    config = stored.config
    shown = config.masked_json()
    if stored.problem is not None:
        shown["secretAccessKey"] = "(in the OS keyring, which cannot be read now)"
    if args.json:
        print(json.dumps({**shown, "secretStoredIn": stored.location.label}, indent=2))
    else:
        print(f"# {ctx.paths.config}")
        for key, value in shown.items():
            print(f"{key} = {json.dumps(value) if not isinstance(value, str) else value}")
        print(f"secret stored in: {stored.location.label}")
    if stored.problem is not None:
        print(f"traycap: warning: the secrets in the OS keyring cannot be read now: {stored.problem}",
              file=sys.stderr)
    elif not args.json:
        for key, text in validate_config(config).items():
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
    try:
        _read_secrets(assignments, sys.stdin)
    except ConfigError as exc:
        return fail(exc.user_text())
    stored = read_config(ctx.paths.config, ctx.secrets)
    if stored is not None and stored.problem is not None and "secretAccessKey" not in assignments:
        # Saving now would write a file that has lost track of the secret.
        return fail(SecretUnreachable(f"The upload secret is in the OS keyring, which cannot be read now: "
                                      f"{stored.problem}; nothing was saved").user_text())
    current = stored.config if stored is not None else UploadConfig()
    updated, problems = check_assignments(current, assignments)
    if problems:
        print("traycap: settings not saved (nothing was written):", file=sys.stderr)
        for key, text in problems.items():
            print(f"  {key}: {text}", file=sys.stderr)
        print("  (several settings can be given in one command: traycap config set bucket=B region=R ...)",
              file=sys.stderr)
        return EXIT_FAIL
    location = ctx.save_config(updated)
    secrets_set = sorted(k for k in assignments if k in UploadConfig.SECRET_FIELDS and assignments[k])
    where = f" (secret stored in: {location.label})" if secrets_set else ""
    print(f"Saved {', '.join(sorted(assignments))} to {ctx.paths.config}{where}")
    return EXIT_OK


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
