"""Stand-ins for a dependency that is down, without touching the shared services.

``closed_port()``: nothing listens, so a connection is refused at once. ``black_hole()``: a socket that completes
the TCP handshake (the kernel does that for a listening socket) but never accepts, reads or answers — a server
that hangs, or a firewall that drops replies — so a client waits until its own timeout.
"""
from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextlib.contextmanager
def dead_port(kind: str) -> Iterator[int]:
    """A port of the given kind, ``"closed"`` or ``"black_hole"``."""
    if kind == "closed":
        yield closed_port()
    else:
        with black_hole() as port:
            yield port
