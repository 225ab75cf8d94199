"""Helpers shared by the command modules."""

from __future__ import annotations

import logging
import sys

from traycap.context import Context
from traycap.errors import TraycapError
from traycap.storage.secrets import SecretLocation

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


def fail(text: str) -> int:
    print(f"traycap: {text}", file=sys.stderr)
    return EXIT_FAIL


def not_available(what: str) -> int:
    return fail(f"{what} is not available yet in this version")


def settle_secrets(ctx: Context) -> None:
    """At the start of a long-running command: move file secrets into a usable keyring, and say once
    in the log where they are."""
    from traycap.storage.config_store import migrate_secrets

    try:
        stored = migrate_secrets(ctx.paths.config, ctx.secrets)
    except TraycapError as exc:
        log.warning("upload settings: %s", exc.user_text())
        return
    if stored is None:
        return
    if stored.location is SecretLocation.KEYRING:
        if stored.problem is not None:
            log.warning("the upload secret is in the OS keyring, which cannot be read now: %s", stored.problem)
        else:
            log.info("upload secret stored in: keyring")
        return
    reason = ctx.secrets.unavailable_reason()
    log.info("upload secret stored in: %s%s", stored.location.label,
             f" (no usable OS keyring: {reason})" if reason else "")
