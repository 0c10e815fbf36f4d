"""Parsers of human-written quantities for options: sizes (``16MiB``) and counts (``1e6``).

They raise :class:`ValueError` with a one-line message, which the CLI turns into a usage error
(exit 2); the run functions still validate the ranges.

>>> parse_size("16MiB"), parse_size("64 kB"), parse_size("1048576")
(16777216, 64000, 1048576)
>>> parse_count("1e6"), parse_count("2_000"), parse_count(30)
(1000000, 2000, 30)
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_size(text: str | int) -> int:
    """Bytes from an integer or a size as Dask writes them (``dask.utils.parse_bytes``:
    ``16MiB``, ``64kB``, ``1.5 GB``; kB = 1000, KiB = 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    from dask.utils import parse_bytes

    try:
        value = parse_bytes(str(text).strip())
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a size (examples: 16MiB, 64kB, 1048576)") from None
    return int(value)


def parse_count(text: str | int) -> int:
    """A whole number written as an integer (``1000000``, ``1_000_000``) or in scientific
    notation with an integral value (``1e6``, ``2.5e3``)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    try:
        value = Decimal(str(text).strip().replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a whole number (examples: 1000000, 1e6)") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number (examples: 1000000, 1e6)")
    return int(value)
