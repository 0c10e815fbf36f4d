"""Client addresses (pipeline/ingest/parsing/addresses.py): the port dropped, and the masks of
``--anonymize-ip`` against Python's :mod:`ipaddress` as the reference.

The reference of a mask: ``ipaddress.ip_network(f"{value}/24", strict=False)`` (``/64`` for
IPv6), its network address written by ``str``; a value :mod:`ipaddress` does not read as an
address (or one with a zone, ``fe80::1%eth0``, which ``inet_pton`` refuses) is no client.
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.parsing.addresses import anonymized, clients
from tests.conftest import examples


def reference_mask(value: str | None) -> str | None:
    """The masked address by :mod:`ipaddress`, None when ``value`` is no address."""
    if value is None or "%" in value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


#: Known answers: GoAccess's default level (inet_pton, AND the mask, inet_ntop).
MASKS = [
    ("192.168.1.77", "192.168.1.0"),
    ("10.0.0.255", "10.0.0.0"),
    ("0.0.0.0", "0.0.0.0"),
    ("255.255.255.255", "255.255.255.0"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
    ("2001:DB8:0001:0002:0003:0004:0005:0006", "2001:db8:1:2::"),
    ("2001:db8::1", "2001:db8::"),
    ("2001:db8:0:0:1::", "2001:db8::"),
    ("::1", "::"),
    ("::", "::"),
    ("::ffff:192.168.1.77", "::"),
    ("fe80::1234:5678", "fe80::"),
    ("0:0:0:1:2:3:4:5", "0:0:0:1::"),
    # not addresses: dropped (GoAccess leaves them out of its hosts panel)
    ("host.example.com", None),
    ("192.168.1", None),
    ("192.168.1.256", None),
    ("192.168.01.1", None),
    ("1.2.3.4:80", None),
    ("2001:db8::1::2", None),
    ("fe80::1%eth0", None),
    ("gggg::1", None),
    (":", None),
    ("", None),
    ("\x00", None),
    ("1.2.3.4\x00", None),
    ("::\x00", None),
    (None, None),
]


@pytest.mark.parametrize(("value", "masked"), MASKS)
def test_known_masks(value: str | None, masked: str | None) -> None:
    assert anonymized(pa.array([value], pa.large_string())).to_pylist() == [masked]
    assert reference_mask(value) == masked


def test_masks_in_one_column_with_repeats() -> None:
    values = [value for value, _ in MASKS] * 3
    got = anonymized(pa.array(values, pa.large_string())).to_pylist()
    assert got == [reference_mask(value) for value in values]
    assert anonymized(pa.array([], pa.large_string())).to_pylist() == []


_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.tuples(st.ip_addresses(v=6), st.sampled_from(["short", "exploded", "upper"])).map(
    lambda pair: {
        "short": str(pair[0]),
        "exploded": pair[0].exploded,
        "upper": pair[0].exploded.upper(),
    }[pair[1]]
)
_odd = st.text(alphabet=st.sampled_from("0123456789abcdefABCDEF.:%[]x "), max_size=20)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.one_of(_v4, _v6, _odd, st.none()), max_size=30))
def test_masks_equal_ipaddress(values: list[str | None]) -> None:
    got = anonymized(pa.array(values, pa.large_string())).to_pylist()
    assert got == [reference_mask(value) for value in values]


#: (field as written, the format writes a port, the client column)
CLIENTS = [
    ("192.168.1.77", False, "192.168.1.77"),
    ("192.168.1.77:8080", False, "192.168.1.77"),
    ("192.168.1.77:8080", True, "192.168.1.77"),
    ("[2001:db8::1]:443", False, "2001:db8::1"),
    ("[2001:db8::1]", False, "2001:db8::1"),
    ("[2001:db8::1]:443", True, "2001:db8::1"),
    ("2001:db8::1:443", True, "2001:db8::1"),  # ALB's bare IPv6 client:port
    ("2001:db8::1:443", False, "2001:db8::1:443"),  # without a port: the address itself
    ("::1", False, "::1"),
    ("host.example:123", True, "host.example"),
    ("host.example:123", False, "host.example:123"),
    ("-", False, None),
    ("-", True, None),
    ("", False, None),
    ("[unknown]", False, "unknown"),  # brackets without a colon are stripped too
]


@pytest.mark.parametrize(("text", "port", "client"), CLIENTS)
def test_client_as_written_without_port(text: str, port: bool, client: str | None) -> None:
    assert clients(pa.array([text]), 1, with_port=port).to_pylist() == [client]


@pytest.mark.parametrize("port", [False, True])
def test_clients_in_one_column_equal_one_by_one(port: bool) -> None:
    """A column mixing every case (and many plain addresses) gives each value's own result."""
    texts = [text for text, with_port, _ in CLIENTS if with_port == port]
    column = ["10.0.0.1"] * 50 + texts + ["10.0.0.2"] * 50
    want = [clients(pa.array([text]), 1, with_port=port).to_pylist()[0] for text in column]
    assert clients(pa.array(column), len(column), with_port=port).to_pylist() == want


def test_no_client_field_is_null() -> None:
    assert clients(None, 3).to_pylist() == [None, None, None]
