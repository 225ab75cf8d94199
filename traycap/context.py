"""What every command needs: where the files are, the clock, the stores."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from traycap.clock import Clock, SystemClock
from traycap.models import AppSettings, UploadConfig
from traycap.paths import Paths, default_paths
from traycap.storage.config_store import load_config, load_config_choices, load_settings, require_config, save_config
from traycap.storage.keyring_memory import KeyringMemory
from traycap.storage.secrets import SecretLocation, SecretStore, choose_secret_store
from traycap.storage.session_store import SessionStore
from traycap.storage.state_store import StateStore


@dataclass(frozen=True)
class Context:
    paths: Paths
    clock: Clock
    sessions: SessionStore
    states: StateStore
    # Where secrets go besides the 0600 file; the OS keyring is only touched when a secret is needed.
    secrets: SecretStore = field(default_factory=choose_secret_store)

    def load_config(self) -> UploadConfig | None:
        return load_config(self.paths.config, self.secrets)

    def load_config_choices(self) -> UploadConfig | None:
        """The upload settings without asking the keyring: for decisions (autoUpload, ...), not uploads."""
        return load_config_choices(self.paths.config)

    def require_config(self) -> UploadConfig:
        return require_config(self.paths.config, self.secrets)

    def save_config(self, config: UploadConfig) -> SecretLocation:
        return save_config(self.paths.config, config, self.secrets)

    def load_settings(self) -> AppSettings:
        return load_settings(self.paths.settings)

    def keyring_memory(self) -> KeyringMemory:
        """Whether the OS keyring did not answer lately (a start then does not ask it)."""
        return KeyringMemory(self.paths.keyring_unanswered, self.clock)

    def unattended(self) -> Context:
        """This context for a process that starts without a person at it (the tray at login, `record`,
        `worker`): the OS keyring never shows a prompt, and one that did not answer is not asked again
        for a day (docs/privacy.md)."""
        return replace(self, secrets=choose_secret_store(unattended=self.keyring_memory()))


def make_context(paths: Paths | None = None, clock: Clock | None = None) -> Context:
    p = (paths or default_paths()).ensure()
    return Context(paths=p, clock=clock or SystemClock(), sessions=SessionStore(p), states=StateStore(p))
