"""Shared fixtures. Area-specific fixtures live in tests/support/ and are imported by the tests that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traycap.clock import FakeClock
from traycap.context import Context, make_context
from traycap.paths import Paths


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
