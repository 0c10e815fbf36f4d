"""Client addresses: as written without their port, and masked by ``--anonymize-ip``.

:func:`clients` turns a captured client field into the parsed ``client`` column: the address
as written, without a port. A format whose field is ``address:port`` (ALB, ELB, HAProxy) has
its last ``:digits`` cut (an IPv6 address there is bracketed, ``[2001:db8::1]:443``, or bare,
``2001:db8::1:443``, where only the last group can be the port); in any format ``[v6]``,
``[v6]:port`` and ``a.b.c.d:port`` lose their brackets and port, since they cannot be read
another way. ``-`` and ``""`` are no client (null), like every optional string column.

:func:`anonymized` masks addresses as GoAccess's ``--anonymize-ip`` does at its default level
(``add_host_to_holder`` in GoAccess's ``src/gholder.c``): an address is read with
``inet_pton``, ANDed with ``255.255.255.0`` (IPv4) or ``ffff:ffff:ffff:ffff::`` (IPv6, a /64)
and written back with ``inet_ntop``: ``192.168.1.77`` -> ``192.168.1.0``, ``2001:db8:1:2:3:4:5:6``
-> ``2001:db8:1:2::``. GoAccess leaves out of its hosts panel any value ``inet_pton`` does not
read (a host name written by Apache's ``HostnameLookups On``); here such a value becomes no
client (null): it is dropped before anything is counted, rather than kept unmasked.

Each distinct value of a block is masked once: IPv4 addresses (the bulk of any log) with RE2,
values with a ``:`` with the C library's ``inet_pton``/``inet_ntop`` (:mod:`socket`: the
functions GoAccess calls); never anything per line.

>>> clients(pa.array(["[2001:db8::1]:443", "10.0.0.1:80", "-", "::1"]), count=4).to_pylist()
['2001:db8::1', '10.0.0.1', None, '::1']
>>> clients(pa.array(["2001:db8::1:443"]), count=1, with_port=True).to_pylist()
['2001:db8::1']
>>> masked = anonymized(pa.array(["192.168.1.77", "2001:db8:1:2:3:4:5:6", "host.example", None]))
>>> masked.to_pylist()
['192.168.1.0', '2001:db8:1:2::', None, None]
"""

from __future__ import annotations

import socket
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

_NONE: Final = pa.scalar(None, pa.large_string())

#: One decimal octet as ``inet_pton`` reads it: 0-255, no leading zero.
_OCTET: Final[str] = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

#: A dotted-quad IPv4 address (what ``inet_pton(AF_INET, ...)`` accepts).
IPV4: Final[str] = rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"

#: The IPv6 /64 mask of GoAccess's default level, as 16 bytes.
_MASK6: Final[bytes] = b"\xff" * 8 + b"\x00" * 8


def clients(client: pa.Array | None, count: int, with_port: bool = False) -> pa.Array:
    """The ``client`` column from a captured field (None: the format has none).

    ``with_port``: the field is ``address:port`` (its last ``:digits`` is the port)."""
    if client is None:
        return pa.nulls(count, pa.large_string())
    client = pc.cast(client, pa.large_string())
    if with_port:
        client = pc.replace_substring_regex(client, r"^(.+):[0-9]+$", r"\1")
    # each rewrite below needs a leading "[" or a ":": most values have neither (IPv4 without a
    # port), so only those that do go through the two regex passes
    needs = pc.or_(pc.starts_with(client, "["), pc.match_substring(client, ":"))
    if pc.any(needs).as_py():
        needs = pc.fill_null(needs, False)
        some = client.filter(needs)
        some = pc.replace_substring_regex(some, r"^\[([^\]]*)\](?::[0-9]+)?$", r"\1")
        some = pc.replace_substring_regex(some, r"^([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+):[0-9]+$", r"\1")
        client = pc.replace_with_mask(client, needs, some)
    return pc.if_else(pc.is_in(client, pa.array(["-", ""])), _NONE, client)


def anonymized(client: pa.Array) -> pa.Array:
    """``client`` with IPv4 addresses masked to /24 and IPv6 to /64 (GoAccess's default level);
    null where the value is no address (see the module docstring). Each distinct value is
    masked once (clients repeat: a block has far fewer distinct clients than lines)."""
    client = pc.cast(client, pa.large_string())
    if not len(client):
        return client
    encoded = pc.dictionary_encode(client)
    return _masked(encoded.dictionary).take(encoded.indices)


def _masked(values: pa.Array) -> pa.Array:
    """:func:`anonymized` of distinct values."""
    v4 = pc.fill_null(pc.match_substring_regex(values, pattern=IPV4), False)
    masked = pc.replace_substring_regex(values, r"\.[0-9]+$", ".0")
    v6 = pc.and_(pc.invert(v4), pc.fill_null(pc.match_substring(values, ":"), False))
    out = pc.if_else(v4, masked, _NONE)
    if pc.any(v6).as_py():
        distinct = [_masked6(value) for value in values.filter(v6).to_pylist()]
        out = pc.replace_with_mask(out, v6, pa.array(distinct, pa.large_string()))
    return out


def _masked6(text: str) -> str | None:
    """One IPv6 address masked to /64 as ``inet_ntop`` writes it; None when not an address."""
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):  # not an address; ValueError: an embedded NUL
        return None
    return socket.inet_ntop(
        socket.AF_INET6, bytes(a & b for a, b in zip(packed, _MASK6, strict=True))
    )
