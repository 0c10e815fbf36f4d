"""The table of presets: every log format ingest knows by name, as data.

One row per preset, in the order auto-detection breaks ties (a more specific format before a
more general one it overlaps). Adding a format is adding a row, with its genuine sample lines
under ``tests/data/formats/<samples>/`` (where they came from: ``tests/data/README.md``), which
``tests/test_ingest_presets.py`` parses for every row, as lnav checks its format files' samples;
and its entry in ``docs/formats.md``.

A row's ``spec`` depends on its ``kind``:

* ``regex``: an nginx ``log_format`` or Apache ``LogFormat`` string (compiled by
  :func:`pipeline.ingest.formats.presets.compile_format`), or, starting with ``^``, an RE2 pattern
  whose named groups are roles (``(?P<status>...)``; ``<role>__<n>`` captures a role again, see
  :mod:`pipeline.ingest.parsing.roles`).
* ``json``, ``logfmt``: unused (``options`` holds the preset's key table).
* ``default``, ``w3c``: unused (``options`` holds the kind's settings).

``options`` are ``(key, value)`` string pairs the kind's parser reads (small and hashable: a
format travels with every task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["default", "regex", "json", "w3c", "logfmt"]


@dataclass(frozen=True)
class Preset:
    """One row of :data:`PRESET_TABLE`.

    Attributes
    ----------
    name
        What ``--log-format`` and ``inputs.formats`` call it.
    summary
        Who writes it, in a few words (``--help`` and ``docs/formats.md``).
    kind
        Which parser reads it.
    spec
        The format string or pattern (kind ``regex``).
    samples
        The directory of its genuine sample lines under ``tests/data/formats/`` ("" for a
        preset whose samples live elsewhere in ``tests/data``, named in ``docs/formats.md``).
    extras
        Lines may carry fields after the last one of the format (ignored).
    options
        Settings of the kind's parser, as ``(key, value)`` pairs.
    """

    name: str
    summary: str
    kind: Kind
    spec: str = ""
    samples: str = ""
    extras: bool = False
    options: tuple[tuple[str, str], ...] = ()


_COMMON: Final[str] = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'
)

#: IIS's default W3C field set (IIS 7 and later), read when a file has no #Fields directive
#: (shippers such as Filebeat drop the # lines), and the same with the Host header, which IIS
#: writes in this place (IIS orders its standard fields the same whatever is selected).
_IIS_DEFAULT: Final[str] = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
    "cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
_IIS_DEFAULT_HOST: Final[str] = _IIS_DEFAULT.replace("cs(Referer)", "cs(Referer) cs-host")

#: CloudFront's documented standard-log fields, in order (lines without a header; new fields
#: are only ever appended, so an older line is a prefix of these).
_CLOUDFRONT: Final[str] = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)

#: Every preset, in detection tie-break order.
PRESET_TABLE: Final[tuple[Preset, ...]] = (
    Preset("default", "this project's own grammar ([GET] /x, status=200, time=5ms ...)", "default"),
    Preset(
        "combined",
        "nginx and Apache combined (also varnishncsa's default)",
        "regex",
        _COMMON + ' "$http_referer" "$http_user_agent"',
        samples="",
        extras=True,
    ),
    Preset("common", "nginx and Apache common (CLF)", "regex", _COMMON, extras=True),
    Preset("json", "JSON lines (keys looked up by their usual names, --field)", "json"),
    # W3C and CloudFront: columns named by #Fields (pipeline/ingest/parsing/w3c.py). Neither
    # parses the other's lines (space- vs tab-separated), so their order only matters for
    # presets added later.
    Preset(
        "w3c",
        "W3C extended log files (IIS, HTTP.sys and others; #Fields header)",
        "w3c",
        samples="w3c",
        options=(("separator", " "), ("fields", _IIS_DEFAULT + "|" + _IIS_DEFAULT_HOST)),
    ),
    Preset(
        "cloudfront",
        "Amazon CloudFront standard logs (tab-separated W3C)",
        "w3c",
        samples="cloudfront",
        options=(
            ("separator", "\t"),
            ("fields", _CLOUDFRONT),
            ("time_taken", "s"),
            ("agent", "url"),
            ("prefix", "yes"),
        ),
    ),
)

#: Preset names in detection tie-break order.
PRESET_NAMES: Final[tuple[str, ...]] = tuple(row.name for row in PRESET_TABLE)


def preset_row(name: str) -> Preset | None:
    """The row of ``name``, or None."""
    return next((row for row in PRESET_TABLE if row.name == name), None)
