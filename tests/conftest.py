"""Shared fixtures. Area-specific fixtures live in tests/support/ and are imported by the tests that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from traycap.clock import FakeClock, SystemClock
from traycap.context import Context, make_context
from traycap.paths import Paths


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--windows-full", action="store_true",
        help="also the on-demand Windows bench checks (scripts/windows-bench.sh passes it): the whole unit "
             "suite and every CLI/GUI probe under the Windows CPython, most of which the installed-app test "
             "covers on every run",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked windows_full run only with --windows-full: deselected (not skipped) otherwise."""
    if config.getoption("--windows-full"):
        return
    kept = [item for item in items if item.get_closest_marker("windows_full") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


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
