"""`traycap config set` in-process (traycap/commands/config_cmd.py): where a secret still in the 0600 file
moves into a usable keyring, and where a keyring that did not answer a start is asked again (issue 24).
What it prints and refuses is tested on the real command in tests/integration/test_cli.py."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from tests.support.secret_stores import MemorySecretStore
from traycap.commands import config_cmd
from traycap.context import Context
from traycap.models import UploadConfig
from traycap.storage.config_store import SECRETS_IN, load_config, save_config, secret_account

CONFIG = UploadConfig(bucket="my-bucket", region="us-east-1", accessKeyId="AKIDEXAMPLE", secretAccessKey="s3cr3t-value")


def config_set(ctx: Context, *assignments: str) -> int:
    return config_cmd.run(argparse.Namespace(config_command="set", assignments=list(assignments)), ctx)


def test_any_config_set_makes_the_next_start_ask_the_keyring_again(ctx: Context) -> None:
    ctx.keyring_memory().remember("the keyring did not answer within 5 s")
    assert config_set(ctx, "fps=15") == 0
    assert ctx.keyring_memory().recall() is None and not ctx.paths.keyring_unanswered.exists()


@pytest.mark.parametrize("assignment", ["fps=15", "region=eu-west-1"])
def test_config_set_moves_a_file_secret_into_a_usable_keyring(ctx: Context, assignment: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    save_config(ctx.paths.config, CONFIG)  # an older traycap, or no usable keyring back then
    keyring = MemorySecretStore()
    ctx = dataclasses.replace(ctx, secrets=keyring)
    assert config_set(ctx, assignment) == 0
    data = json.loads(ctx.paths.config.read_text())
    assert "secretAccessKey" not in data and data[SECRETS_IN] == "keyring"
    assert keyring.entries == {secret_account(ctx.paths.config, "secretAccessKey"): "s3cr3t-value"}
    out = capsys.readouterr().out
    assert f"The upload secret moved from {ctx.paths.config} into the OS keyring" in out
    assert "s3cr3t-value" not in out
    loaded = load_config(ctx.paths.config, keyring)
    assert loaded is not None and loaded.secretAccessKey == "s3cr3t-value"


def test_config_set_without_a_usable_keyring_leaves_the_secret_in_the_file(
        ctx: Context, capsys: pytest.CaptureFixture[str]) -> None:
    save_config(ctx.paths.config, CONFIG)
    ctx = dataclasses.replace(ctx, secrets=MemorySecretStore(reason="no Secret Service on this bus"))
    assert config_set(ctx, "fps=15") == 0
    assert json.loads(ctx.paths.config.read_text())["secretAccessKey"] == "s3cr3t-value"
    assert "moved" not in capsys.readouterr().out
