"""Where the upload secrets are kept: the keyring (through a SecretStore) or the 0600 file; migration order."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.support.platforms import WINDOWS
from tests.support.secret_stores import MemorySecretStore
from traycap.errors import SecretStoreError, SecretUnreachable
from traycap.models import UploadConfig
from traycap.storage.config_store import (
    SECRETS_IN,
    load_config,
    migrate_secrets,
    read_config,
    save_config,
    secret_account,
)
from traycap.storage.secrets import NoSecretStore, SecretLocation, choose_secret_store

GOOD = UploadConfig(bucket="my-bucket", region="us-east-1", accessKeyId="AKIDEXAMPLE",
                    secretAccessKey="s3cr3t-value", sessionToken="token-value-123")


def raw(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_with_a_usable_keyring_the_file_holds_no_secret(tmp_path: Path) -> None:
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    assert save_config(path, GOOD, store) is SecretLocation.KEYRING
    data = raw(path)
    assert "secretAccessKey" not in data and "sessionToken" not in data and data[SECRETS_IN] == "keyring"
    assert "s3cr3t-value" not in path.read_text() and "token-value-123" not in path.read_text()
    assert store.entries == {secret_account(path, "secretAccessKey"): "s3cr3t-value",
                             secret_account(path, "sessionToken"): "token-value-123"}
    assert WINDOWS or stat.S_IMODE(path.stat().st_mode) == 0o600  # Windows: the data dir's ACL
    assert load_config(path, store) == GOOD


def test_two_data_dirs_have_their_own_keyring_entries(tmp_path: Path) -> None:
    store = MemorySecretStore()
    a, b = tmp_path / "a" / "upload-config.json", tmp_path / "b" / "upload-config.json"
    save_config(a, GOOD, store)
    save_config(b, GOOD.with_(secretAccessKey="other-secret"), store)
    assert load_config(a, store) == GOOD
    loaded_b = load_config(b, store)
    assert loaded_b is not None and loaded_b.secretAccessKey == "other-secret"


def test_without_a_keyring_the_secret_stays_in_the_0600_file(tmp_path: Path) -> None:
    path = tmp_path / "upload-config.json"
    store = MemorySecretStore(reason="no Secret Service on this bus")
    assert save_config(path, GOOD, store) is SecretLocation.FILE
    assert raw(path)["secretAccessKey"] == "s3cr3t-value" and SECRETS_IN not in raw(path)
    assert WINDOWS or stat.S_IMODE(path.stat().st_mode) == 0o600  # Windows: the data dir's ACL
    stored = read_config(path, store)
    assert stored is not None and stored.location is SecretLocation.FILE and stored.config == GOOD


@pytest.mark.parametrize("failure", ["fail_set", "lose_writes"])
def test_a_keyring_write_that_fails_or_does_not_read_back_keeps_the_secret_in_the_file(
        tmp_path: Path, failure: str) -> None:
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    setattr(store, failure, True)
    assert save_config(path, GOOD, store) is SecretLocation.FILE
    assert raw(path)["secretAccessKey"] == "s3cr3t-value"
    assert load_config(path, store) == GOOD


def test_clearing_the_session_token_removes_it_from_the_keyring(tmp_path: Path) -> None:
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    save_config(path, GOOD, store)
    save_config(path, GOOD.with_(sessionToken=None), store)
    assert secret_account(path, "sessionToken") not in store.entries
    loaded = load_config(path, store)
    assert loaded is not None and loaded.sessionToken is None and loaded.secretAccessKey == "s3cr3t-value"


def test_migration_writes_and_verifies_the_keyring_before_rewriting_the_file(tmp_path: Path) -> None:
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    save_config(path, GOOD)  # an older traycap: the secret in the file
    order: list[str] = []
    real_set, real_get = store.set, store.get

    def spy_set(account: str, value: str) -> None:
        order.append(f"set, file has secret: {'s3cr3t-value' in path.read_text()}")
        real_set(account, value)

    def spy_get(account: str) -> str | None:
        order.append(f"get, file has secret: {'s3cr3t-value' in path.read_text()}")
        return real_get(account)

    store.set, store.get = spy_set, spy_get  # type: ignore[method-assign]
    stored = migrate_secrets(path, store)
    assert stored is not None and stored.location is SecretLocation.KEYRING
    assert order == ["set, file has secret: True", "get, file has secret: True"] * 2
    assert "s3cr3t-value" not in path.read_text() and raw(path)[SECRETS_IN] == "keyring"
    assert load_config(path, store) == GOOD


def test_a_migration_interrupted_before_the_file_is_rewritten_finishes_at_the_next_start(tmp_path: Path) -> None:
    """Crash after the keyring write: the secret is in both places (never in neither); the next start moves it."""
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    save_config(path, GOOD)
    store.entries[secret_account(path, "secretAccessKey")] = "s3cr3t-value"  # what the crashed run wrote
    assert load_config(path, store) == GOOD  # the file still wins until the move is done
    stored = migrate_secrets(path, store)
    assert stored is not None and stored.location is SecretLocation.KEYRING
    assert "s3cr3t-value" not in path.read_text()


def test_migration_without_a_keyring_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "upload-config.json"
    save_config(path, GOOD)
    before = path.read_bytes()
    stored = migrate_secrets(path, MemorySecretStore(reason="headless"))
    assert stored is not None and stored.location is SecretLocation.FILE and stored.config == GOOD
    assert path.read_bytes() == before


def test_a_keyring_that_cannot_be_read_is_reported_not_mistaken_for_no_secret(tmp_path: Path) -> None:
    path, store = tmp_path / "upload-config.json", MemorySecretStore()
    save_config(path, GOOD, store)
    store.reason = "the collection is locked"
    stored = read_config(path, store)
    assert stored is not None and stored.location is SecretLocation.KEYRING
    assert stored.problem is not None and "locked" in stored.problem
    assert stored.config.bucket == "my-bucket" and stored.config.secretAccessKey == ""
    with pytest.raises(SecretUnreachable) as caught:
        load_config(path, store)
    assert caught.value.transient  # an upload waiting for it is retried later, not failed for good
    with pytest.raises(SecretUnreachable):
        load_config(path)  # a caller without the keyring is told the same


def test_choose_secret_store_honours_the_off_switch() -> None:
    store = choose_secret_store({"TRAYCAP_KEYRING": "off"})
    assert isinstance(store, NoSecretStore) and store.unavailable_reason() is not None
    with pytest.raises(SecretStoreError):
        store.set("a", "b")
    assert not isinstance(choose_secret_store({}), NoSecretStore)
