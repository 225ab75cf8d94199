"""The upload queue's unit-test parts: a fake engine and a queue on the FakeClock context."""

from __future__ import annotations

import pytest

from tests.support.fake_engine import FakeEngine
from tests.support.sessions import write_config
from traycap.context import Context
from traycap.upload.queue import UploadQueue


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine(part_size=1024)


@pytest.fixture
def queue(ctx: Context, engine: FakeEngine) -> UploadQueue:
    write_config(ctx)
    return UploadQueue(ctx, engine.factory)
