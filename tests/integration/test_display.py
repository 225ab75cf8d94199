"""The tests' X server (tests/support/display.py): every client it is handed gets through.

Found on a fresh machine (issue 10, item 7): dunst exited at start with "Cannot open X11 display",
and trayer had needed a retry for the same reason. Xvfb reset itself whenever its last client left,
and a reset drops every connection still in its handshake.
"""

from __future__ import annotations

import os
import signal
import socket
import struct

import pytest
from Xlib.display import Display

from tests.support.display import XDisplay, xvfb

pytestmark = pytest.mark.x11

# X11 connection setup: little-endian, protocol 11.0, no authorization.
SETUP_REQUEST = struct.pack("<BxHHHHxx", ord("l"), 11, 0, 0, 0)


def connect(display: XDisplay) -> socket.socket:
    """A raw client up to the end of connect(): queued at the server, not yet answered."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(f"/tmp/.X11-unix/X{display.name.lstrip(':')}")
    sock.sendall(SETUP_REQUEST)
    return sock


def setup_answer(sock: socket.socket) -> str:
    """The server's first byte: 1 is Success; the connection closing means it was dropped."""
    try:
        first = sock.recv(1)
    except ConnectionResetError:
        first = b""
    return {b"": "dropped", b"\x00": "failed", b"\x01": "success", b"\x02": "authenticate"}[first]


def test_a_client_connecting_as_the_last_one_leaves_is_not_refused() -> None:
    """The race made certain: the server is stopped (as a loaded machine delays it) while its only
    client leaves and the next one connects, so it handles both at once when it runs again."""
    with xvfb(320, 240) as display:
        only = Display(display.name)  # a libX11-like client, as `xset` is
        only.sync()
        os.kill(display.server.pid, signal.SIGSTOP)
        try:
            only.close()
            newcomer = connect(display)
        finally:
            os.kill(display.server.pid, signal.SIGCONT)
        with newcomer:
            assert setup_answer(newcomer) == "success"


def test_settings_made_by_the_first_client_stay_after_it_leaves() -> None:
    """xvfb() turns autorepeat off with `xset`, which then leaves: a reset would turn it on again."""
    with xvfb(320, 240) as display:
        query = display.run("xset", "q").stdout
    assert "auto repeat:  off" in query, query
