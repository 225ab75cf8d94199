"""The stall rule, in one place: a part whose requests have waited STALL_S in all without the
server taking a byte of them or answering them (pure, on the injected clock).

Why silence and not "time since the part was accepted": a healthy slow uplink keeps the server
taking bytes (a 10 MiB part at 0.5 MB/s takes 21 s, four of them in flight 84 s, and none of
that is silence), while a store that never accepts a part again takes its body and then says
nothing until the read timeout, try after try (rclone serve s3 after a part was cut off
mid-body, issue 11). So each try of a part adds, when it fails without an answer (NetworkError:
a timeout, a reset), the time since its last byte went out; a reset while bytes flow adds
about nothing, a read timeout adds the whole timeout. With the engine's 30 s read timeout two
such tries (60 s) pass STALL_S; the driver then asks ListParts: if the endpoint answers, the
upload is stalled (UploadStalled) and its owner starts a fresh multipart upload (the queue:
transitions.stalled; the live lane: the same budget, transitions.FRESH_STARTS); if nothing
answers it is an outage.

The watch of one engine (UploadService) outlives an upload_file call, so the silence of a part
adds up across the queue's attempts in one process; a restart starts counting again.
"""

from __future__ import annotations

import threading

from traycap.clock import Clock

STALL_S = 45.0  # silence of one part before its upload counts as stalled: two 30 s read timeouts


class PartTry:
    """One request of one part: bytes going out, then an answer or a failure."""

    def __init__(self, watch: StallWatch, upload_id: str, number: int) -> None:
        self._watch = watch
        self._key = (upload_id, number)
        self._last = watch.clock.monotonic()

    def took(self, n: int) -> None:
        """The socket took `n` more bytes of the body (the server is reading)."""
        self._last = self._watch.clock.monotonic()

    def failed_without_answer(self) -> None:
        """No answer came (timeout, reset): the time since the last byte was silence."""
        self._watch.add_silence(self._key, max(0.0, self._watch.clock.monotonic() - self._last))


class StallWatch:
    def __init__(self, clock: Clock, stall_s: float = STALL_S) -> None:
        self.clock = clock
        self.stall_s = stall_s
        self._lock = threading.Lock()
        self._silence: dict[tuple[str, int], float] = {}

    def attempt(self, upload_id: str, number: int) -> PartTry:
        return PartTry(self, upload_id, number)

    def add_silence(self, key: tuple[str, int], seconds: float) -> None:
        with self._lock:
            self._silence[key] = self._silence.get(key, 0.0) + seconds

    def accepted(self, upload_id: str, number: int) -> None:
        with self._lock:
            self._silence.pop((upload_id, number), None)

    def silence(self, upload_id: str, number: int) -> float:
        with self._lock:
            return self._silence.get((upload_id, number), 0.0)

    def stalled(self, upload_id: str, number: int) -> bool:
        """This part has been silent long enough to suspect the store (ListParts then decides)."""
        return self.silence(upload_id, number) >= self.stall_s

    def forget(self, upload_id: str) -> None:
        """The multipart upload is completed or dropped."""
        with self._lock:
            for key in [k for k in self._silence if k[0] == upload_id]:
                del self._silence[key]
