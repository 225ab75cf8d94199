"""Real S3-compatible servers on 127.0.0.1 for the integration tests, one per test module.

A module that needs something else (another scope, a proxy with other settings)
defines its own fixture of the same name, which pytest prefers to these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.s3servers import S3Server, moto_server, rclone_server
from tests.support.wayland import WaylandDesktop, wayland_desktop


@pytest.fixture(scope="module")
def rclone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with rclone_server(tmp_path_factory.mktemp("rclone-root")) as server:
        yield server


@pytest.fixture(scope="module")
def moto() -> Iterator[S3Server]:
    with moto_server() as server:
        yield server


@pytest.fixture(params=["rclone", "moto"])
def s3(request: pytest.FixtureRequest) -> S3Server:
    server: S3Server = request.getfixturevalue(request.param)
    return server


@pytest.fixture
def proxy(moto: S3Server) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the module's moto server."""
    with FaultProxy(moto.host, moto.port) as p:
        yield p


@pytest.fixture(scope="session")
def wayland_desk() -> Iterator[WaylandDesktop]:
    """The headless Wayland desktop (tests/support/wayland.py), started once for the whole run (~0.5 s)."""
    with wayland_desktop() as desk:
        yield desk
