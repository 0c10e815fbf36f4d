"""The network addresses a user gives us: a scheduler to connect to, a dashboard to listen on.

Both are checked before anything is started, so a typo is one :class:`ConfigurationError` line
instead of a traceback from deep inside dask.distributed, and a dashboard never listens on all
interfaces unless the user names such a host:

* a scheduler address is ``tcp://HOST:PORT`` or ``HOST:PORT`` (IPv6 hosts in brackets). Other
  protocols (``tls``, ``ucx``, ``inproc``, ``ws``) need settings this tool does not offer, and an
  empty address is an error rather than "no scheduler".
* a dashboard address is ``HOST:PORT``, ``:PORT``, ``PORT`` or empty. **Without a host it means
  127.0.0.1** (distributed itself would listen on every interface), and empty means the default
  port. Port 0 picks a free port. The host must be an address of this machine.

>>> scheduler_address("127.0.0.1:8786")
'tcp://127.0.0.1:8786'
>>> dashboard_address(":0")
('127.0.0.1', 0)
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Final

from pipeline.errors import ConfigurationError

#: Host of a dashboard address that names none: loopback, so nothing is exposed by default.
LOOPBACK: Final[str] = "127.0.0.1"
#: Dashboard port when the address is empty (distributed's usual port).
DEFAULT_DASHBOARD_PORT: Final[int] = 8787

#: ``HOST:PORT`` or ``[IPV6]:PORT``, the host optional (a dashboard address may omit it).
_HOST_PORT = re.compile(r"(?:\[(?P<ipv6>[^\s\[\]/]+)\]|(?P<host>[^\s:/\[\]@]+))?:(?P<port>[0-9]+)")


def scheduler_address(text: str) -> str:
    """``tcp://HOST:PORT`` for a valid ``--scheduler`` value; :class:`ConfigurationError` if not.

    >>> scheduler_address("tcp://[::1]:8786")
    'tcp://[::1]:8786'
    >>> scheduler_address("x")
    Traceback (most recent call last):
    ...
    pipeline.errors.ConfigurationError: invalid scheduler address 'x': expected tcp://HOST:PORT
    """
    if not text:
        raise ConfigurationError("the scheduler address is empty; expected tcp://HOST:PORT")
    protocol, separator, rest = text.partition("://")
    if not separator:
        protocol, rest = "tcp", text
    if protocol.lower() != "tcp":
        raise ConfigurationError(
            f"unsupported scheduler protocol {protocol!r} in {text!r}; expected tcp://HOST:PORT"
        )
    host, port = _host_port(rest, text, "scheduler")
    if host is None or not 1 <= port <= 65535:
        raise ConfigurationError(
            f"invalid scheduler address {text!r}: expected tcp://HOST:PORT with a port 1-65535"
        )
    return f"tcp://{_bracketed(host)}:{port}"


def dashboard_address(text: str) -> tuple[str, int]:
    """``(host, port)`` for a ``--dashboard-address`` value; the host is 127.0.0.1 if none is named.

    >>> dashboard_address("8787"), dashboard_address(""), dashboard_address("0.0.0.0:80")
    (('127.0.0.1', 8787), ('127.0.0.1', 8787), ('0.0.0.0', 80))
    """
    if text == "":
        return LOOPBACK, DEFAULT_DASHBOARD_PORT
    bare_port = text.isascii() and text.isdigit()
    host, port = _host_port(f":{text}" if bare_port else text, text, "dashboard")
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"invalid dashboard address {text!r}: the port must be 0-65535")
    return (host or LOOPBACK), port


def exposed(host: str) -> bool:
    """Whether a server listening on ``host`` can be reached from other machines: any host but
    ``localhost`` and the loopback addresses.

    >>> [exposed(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "10.1.2.3", "box")]
    [False, False, False, True, True, True]
    """
    if host.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: it resolves to whatever the network says


def check_local_host(host: str) -> None:
    """Raise :class:`ConfigurationError` unless this machine can listen on ``host``.

    Checked by binding a throwaway socket to port 0 of each address ``host`` resolves to.
    """
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigurationError(f"dashboard host {host!r} is unknown: {exc}") from exc
    problem: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as sock:
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                problem = exc
                continue
            return
    reason = problem.strerror if problem is not None else "no address"
    raise ConfigurationError(
        f"cannot listen on dashboard host {host!r}: {reason} (not an address of this machine?)"
    )


def http_url(host: str, port: int, path: str = "/status") -> str:
    """The URL of a server bound to ``host:port``.

    >>> http_url("::1", 8787)
    'http://[::1]:8787/status'
    """
    return f"http://{_bracketed(host)}:{port}{path}"


def _host_port(rest: str, text: str, what: str) -> tuple[str | None, int]:
    match = _HOST_PORT.fullmatch(rest)
    if match is None:
        example = "tcp://HOST:PORT" if what == "scheduler" else "[HOST:]PORT, e.g. 127.0.0.1:8787"
        raise ConfigurationError(f"invalid {what} address {text!r}: expected {example}")
    port = match["port"]
    if len(port) > 5:
        port = "99999"  # out of range either way; avoids converting a huge digit string
    return match["ipv6"] or match["host"], int(port)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
