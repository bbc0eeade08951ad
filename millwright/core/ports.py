"""Listening ports, checked before any work: a busy port is one sentence naming it and the
option that changes it, said at start-up rather than after a minute of training.

Binding the socket here and handing it to the server (uvicorn, waitress) leaves no gap in
which another process could take the port, so a service never silently talks to someone
else's instance.
"""

from __future__ import annotations

import socket

from millwright.core.commands import CommandError


class PortInUse(CommandError):
    """A port the command must listen on is taken."""


def bind_listener(host: str, port: int, *, what: str, option: str) -> socket.socket:
    """A socket bound to ``host:port`` and listening, or :class:`PortInUse` naming ``option``."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"port {port} on {host} for the {what} is already in use ({exc.strerror});"
            f" stop what holds it or choose another with {option}"
        ) from None
    sock.set_inheritable(False)
    return sock


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (a check, not a reservation)."""
    try:
        bind_listener(host, port, what="check", option="").close()
        return True
    except PortInUse:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the system says is free on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(
    requested: int | None, default: int, *, host: str, what: str, option: str
) -> tuple[int, str | None]:
    """The port to use and, when it is not the default, the sentence that says why.

    An explicitly ``requested`` port that is busy stops with :class:`PortInUse`; a busy
    default is replaced by a free port and said so.
    """
    if requested is not None:
        bind_listener(host, requested, what=what, option=option).close()
        return requested, None
    if port_free(host, default):
        return default, None
    chosen = free_port(host)
    return chosen, f"port {default} is in use; the {what} uses {chosen} ({option} to choose)"
