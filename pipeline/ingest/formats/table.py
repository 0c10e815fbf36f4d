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

from pipeline.ingest.formats import balancers

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

#: RE2 pieces of the proxies' patterns below (the same shapes as the compiler's fields).
_QUOTED: Final[str] = r'(?:[^"\\]|\\.)*'
_CLF_TIME: Final[str] = r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}"
_ISO_TIME: Final[str] = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})"
)

#: Envoy's default access log format (``[%START_TIME%] "%REQ(:METHOD)% ..."`` ``%RESPONSE_CODE%
#: %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
#: %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
#: "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"``), with or without the
#: ``ACCESS `` prefix of Ambassador/Emissary. Status 0: no response (TCP proxying, ``"- - -"``).
_ENVOY: Final[str] = (
    rf'^(?:ACCESS )?\[(?P<time_iso>{_ISO_TIME})\] "(?P<request>{_QUOTED})" '
    r"(?P<status>[1-5][0-9][0-9]|0) [^ ]+ (?:[0-9]+|-) (?P<bytes>[0-9]+|-) "
    rf'(?P<latency_ms>[0-9]+|-) (?:[0-9]+|-) "{_QUOTED}" "(?P<user_agent>{_QUOTED})" '
    rf'"{_QUOTED}" "(?P<host>{_QUOTED})" "{_QUOTED}"$'
)

#: Traefik's CLF: combined, then the request count, ``"router"``, ``"server URL"`` and the
#: duration in ms (``12ms``). Traefik writes ``-`` for a status and size it does not have (the
#: client went away), and a bare ``-`` (unquoted) for a missing referer, agent, router or server.
_TRAEFIK: Final[str] = (
    rf'^(?P<client>[^ ]+) - [^ ]+ \[(?P<time_clf>{_CLF_TIME})\] "(?P<request>{_QUOTED})" '
    r"(?P<status>[1-5][0-9][0-9]|-) (?P<bytes>[0-9]+|-) "
    rf'(?:"(?P<referer>{_QUOTED})"|-) (?:"(?P<user_agent>{_QUOTED})"|-) (?:[0-9]+|-) '
    rf'(?:"{_QUOTED}"|-) (?:"{_QUOTED}"|-) (?P<latency_duration>[0-9]+ms)$'
)

#: Kubernetes ingress-nginx's default ``log-format-upstream`` (its ``upstreaminfo``).
_INGRESS_NGINX: Final[str] = (
    _COMMON + ' "$http_referer" "$http_user_agent" $request_length $request_time '
    "[$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr "
    "$upstream_response_length $upstream_response_time $upstream_status $req_id"
)

#: Apache's ``vhost_combined`` as Debian defines it (``%>s %O``), with its size read as the
#: response size: written as ``%b``, whose pattern accepts every ``%O`` (GoAccess's VCOMBINED
#: reads that field as the size too; a line's bytes then include the headers).
_VCOMBINED: Final[str] = '%v:%p %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'

#: ``%v %h %l %u %t "%r" %>s %b`` (Apache's common with the virtual host first); GoAccess's
#: VCOMMON writes the host as ``%v:%p``: the port is optional and not part of the host.
_VCOMMON: Final[str] = (
    rf"^(?P<host>[^ :\[]+|\[[^ \]]*\])(?::[0-9]+)? (?P<client>[^ ]+) [^ ]+ [^ ]* "
    rf'\[(?P<time_clf>{_CLF_TIME})\] "(?P<request>{_QUOTED})" '
    r"(?P<status>[1-5][0-9][0-9]) (?P<bytes>[0-9]+|-)$"
)

#: lighttpd's mod_accesslog default (no ``accesslog.format``): ``%V`` (the Host header as sent,
#: port included) where combined has ``-``.
_LIGHTTPD: Final[str] = '%h %V %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'

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
    # proxies: before combined, whose lines with extras some of them are (a tie goes to them)
    Preset(
        "envoy", "Envoy's default format (also Ambassador/Emissary)", "regex", _ENVOY, "envoy", True
    ),
    Preset(
        "traefik",
        "Traefik's CLF (combined + router, server, duration)",
        "regex",
        _TRAEFIK,
        "traefik",
    ),
    Preset(
        "ingress-nginx",
        "Kubernetes ingress-nginx (upstreaminfo)",
        "regex",
        _INGRESS_NGINX,
        "ingress-nginx",
    ),
    Preset(
        "vcombined", "Apache vhost_combined (%v:%p first)", "regex", _VCOMBINED, "vcombined", True
    ),
    Preset(
        "vcommon", "Apache common with the virtual host first (%v)", "regex", _VCOMMON, extras=True
    ),
    Preset(
        "combined",
        "nginx and Apache combined (also varnishncsa's default)",
        "regex",
        _COMMON + ' "$http_referer" "$http_user_agent"',
        samples="",
        extras=True,
    ),
    Preset("common", "nginx and Apache common (CLF)", "regex", _COMMON, extras=True),
    # after combined: a combined line is a lighttpd line with %V "-" (a tie goes to combined)
    Preset("lighttpd", "lighttpd's default (%h %V %u ... combined)", "regex", _LIGHTTPD),
    # load balancers and proxies (patterns and their odd cases: formats/balancers.py); no line
    # of one matches another's pattern or common/combined, so their place only orders ties of
    # files none of them reads
    Preset("alb", "AWS Application Load Balancer", "regex", balancers.ALB, samples="alb"),
    Preset("elb", "AWS Classic Load Balancer", "regex", balancers.ELB, samples="elb"),
    Preset("haproxy", "HAProxy option httplog", "regex", balancers.HAPROXY, samples="haproxy"),
    Preset("squid", "Squid native", "regex", balancers.SQUID, samples="squid", extras=True),
    Preset("s3", "Amazon S3 server access log", "regex", balancers.S3, samples="s3"),
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
            ("client", "httpRequest.remoteIp"),
            ("referer", "httpRequest.referer"),
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
            # client_ip: the client behind trusted proxies (Caddy 2.7+); remote_ip: the peer
            ("client", "request.client_ip"),
            ("client", "request.remote_ip"),
            ("client", "request.remote_addr"),
            ("referer", "request.headers.Referer"),
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
            ("client", "ClientHost"),
            ("client", "ClientAddr"),
            ("referer", "request_Referer"),
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
            ("client", "fwd"),
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
