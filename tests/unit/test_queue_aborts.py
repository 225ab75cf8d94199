"""PendingAborts (traycap/upload/aborts.py): multipart uploads left to abort, one per step, best effort."""

from __future__ import annotations

from tests.support.fake_engine import FakeEngine
from traycap.errors import ConfigMissing
from traycap.upload.aborts import PendingAborts
from traycap.upload.engine import UploadEngine


def test_one_abort_per_step_in_order_and_first_jumps_the_line() -> None:
    engine = FakeEngine()
    aborts = PendingAborts(lambda: engine)
    aborts.add("k1", "u1")
    aborts.extend([("k2", "u2")])
    aborts.add("k0", "u0", first=True)
    assert aborts.run_one() and aborts.run_one() and aborts.run_one()
    assert not aborts.run_one()
    assert engine.aborted == [("k0", "u0"), ("k1", "u1"), ("k2", "u2")]


def test_an_abort_that_cannot_run_is_dropped_not_raised() -> None:
    def no_engine() -> UploadEngine:
        raise ConfigMissing("No upload settings yet")

    aborts = PendingAborts(no_engine)
    aborts.add("k", "u")
    assert aborts.run_one()  # it did the step (and logged the failure)
    assert not aborts.run_one()
