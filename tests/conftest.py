"""Shared fixtures. Area-specific fixtures live in tests/support/ and are imported by the tests that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traycap.clock import FakeClock, SystemClock
from traycap.context import Context, make_context
from traycap.paths import Paths


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests (and the traycap processes they start) keep secrets in the file unless a test opts in to the
    OS keyring (tests/support/secret_service.py): a developer's own keyring is never touched."""
    monkeypatch.setenv("TRAYCAP_KEYRING", "off")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh traycap data dir; TRAYCAP_HOME points at it for subprocesses too."""
    root = tmp_path / "traycap-home"
    root.mkdir(mode=0o700)  # as traycap makes it: an open one is tightened, and the CLI says so
    monkeypatch.setenv("TRAYCAP_HOME", str(root))
    return root


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ctx(home: Path, clock: FakeClock) -> Iterator[Context]:
    yield make_context(Paths(root=home, logs=home / "logs"), clock)


@pytest.fixture
def live_ctx(home: Path) -> Context:
    """A context on the real clock, for tests whose worker threads really run (the recorder).

    Such tests wait on conditions (tests.support.waiting.wait_until), never on sleeps.
    """
    return make_context(Paths(root=home, logs=home / "logs"), SystemClock())
