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
    # JSON and logfmt presets with their own key tables ((field, "key[:unit]"), see
    # pipeline.ingest.parsing.records): before the generic json, which reads Caddy's lines too
    # (status, request.uri) and must lose the tie; heroku before the generic logfmt likewise.
    Preset(
        "gcp",
        "Google Cloud Logging HTTP(S) load balancer and Cloud Run request entries (JSON)",
        "json",
        samples="gcp",
        options=(
            ("method", "httpRequest.requestMethod"),
            ("path", "httpRequest.requestUrl"),
            ("status", "httpRequest.status"),
            ("latency", "httpRequest.latency:duration"),
            ("user_agent", "httpRequest.userAgent"),
            ("time", "timestamp"),
            ("bytes", "httpRequest.responseSize"),
        ),
    ),
    Preset(
        "caddy",
        "Caddy 2 JSON access log (also behind a docker compose 'name  | ' prefix)",
        "json",
        samples="caddy",
        options=(
            ("method", "request.method"),
            ("path", "request.uri"),
            ("host", "request.host"),
            ("status", "status"),
            ("latency", "duration:s"),
            ("user_agent", "request.headers.User-Agent"),
            ("time", "ts:s"),
            ("bytes", "size"),
            ("prefix", r"^[A-Za-z0-9_.-]+ +\| "),
        ),
    ),
    Preset(
        "traefik-json",
        "Traefik JSON access log (v1 and v2 fields)",
        "json",
        samples="traefik-json",
        options=(
            ("method", "RequestMethod"),
            ("path", "RequestPath"),
            ("host", "RequestHost"),
            ("status", "DownstreamStatus"),
            ("latency", "Duration:ns"),
            ("user_agent", "request_User-Agent"),
            ("time", "StartUTC"),
            ("time", "time"),
            ("bytes", "DownstreamContentSize"),
        ),
    ),
    Preset(
        "heroku",
        "Heroku router (logfmt), bare or as heroku logs and log drains print it",
        "logfmt",
        samples="heroku",
        options=(
            ("method", "method"),
            ("path", "path"),
            ("host", "host"),
            ("status", "status"),
            ("latency", "service:ms"),
            ("time", "time"),
            ("bytes", "bytes"),
            ("require", "dyno"),
            # "<time> heroku[router]: " (heroku logs), or a logplex frame as a drain receives it:
            # "<octets> <PRI>1 <time> <host> heroku router - "
            (
                "prefix",
                r"(?:[0-9]+ <[0-9]+>1 )?(?P<time>[0-9T:.+Z-]+) "
                r"(?:heroku\[router\]:|[^ ]+ heroku router -) ",
            ),
        ),
    ),
    Preset("logfmt", "logfmt key=value lines (keys as for JSON, --field)", "logfmt"),
    Preset("json", "JSON lines (keys looked up by their usual names, --field)", "json"),
)

#: Preset names in detection tie-break order.
PRESET_NAMES: Final[tuple[str, ...]] = tuple(row.name for row in PRESET_TABLE)


def preset_row(name: str) -> Preset | None:
    """The row of ``name``, or None."""
    return next((row for row in PRESET_TABLE if row.name == name), None)
