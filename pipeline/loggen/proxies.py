"""Writers of the proxy presets: HAProxy, Squid, Envoy, Traefik (CLF), ingress-nginx, vhost Apache.

Each writer turns a chunk of :class:`~pipeline.loggen.presets.PresetDraws` into its format's
lines (without newlines) with Arrow string kernels, copying the shape of genuine logs (the
samples in ``tests/data/formats/``)::

    haproxy        Nov 27 00:00:10 lb1 haproxy[2412]: 203.0.113.7:51234
                   [27/Nov/2026:00:00:10.123] www-https~ web/web2 1/0/1/59/61 200 5120 - - ----
                   12/12/0/0/0 0/0 {www.example.com|curl/8.5.0} "GET /cart?id=7 HTTP/1.1"
    squid          1795737610.123     61 203.0.113.7 TCP_MISS/200 5120 GET
                   http://www.example.com/cart?id=7 - HIER_DIRECT/10.0.0.11 text/html
    envoy          [2026-11-27T00:00:10.123Z] "GET /cart?id=7 HTTP/1.1" 200 - 0 5120 61 60
                   "203.0.113.7" "curl/8.5.0" "<uuid>" "www.example.com" "10.0.0.11:80"
    traefik        combined + ' 1234 "web@docker" "http://10.0.0.11:80" 61ms'
    ingress-nginx  combined + ' 412 0.061 [default-web-80] [] 10.0.0.11:80 5120 0.060 200 <id>'
    vcombined      www.example.com:443 + ' ' + Apache combined (%O)
    vcommon        www.example.com:443 + ' ' + Apache common (%b: ``-`` for no body)

Units, as each format writes them: HAProxy's timers ``TR/Tw/Tc/Tr/Ta`` in whole ms (their sum
is ``Ta``, the latency), Squid's elapsed ms (padded to 6 columns), Envoy's ``%DURATION%`` ms,
Traefik CLF ``NNms``, ingress-nginx ``$request_time`` in seconds with 3 decimals. Some
ingress-nginx requests were retried on a second upstream: their upstream fields are lists
(``10.0.0.11:80, 10.0.0.12:80`` ... ``502, 200``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import METHODS, REFERERS, IntArray
from pipeline.loggen.presets import (
    HOSTS,
    PRESET_AGENTS,
    PROTOCOLS,
    UPSTREAMS,
    PresetDraws,
    PresetPlan,
    blank,
    choose,
    client,
    decimal,
    join,
    millis,
    stamp,
    take,
    target,
    upstream,
)
from pipeline.loggen.traffic import int_text

_CLF_TIME: Final = "%d/%b/%Y:%H:%M:%S"


def _agent(d: PresetDraws, empty: str = "-") -> pa.Array:
    return blank(take(PRESET_AGENTS, d.agents), empty)


def _request_line(d: PresetDraws) -> pa.Array:
    """``GET /cart?id=7 HTTP/1.1`` (no quotes)."""
    return join(take(METHODS, d.methods), " ", target(d), " ", take(PROTOCOLS, d.protocols))


def _clf(plan: PresetPlan, d: PresetDraws, size: pa.Array, quoted_parts: bool) -> pa.Array:
    """Apache/nginx common (``quoted_parts``: combined) fields of a line."""
    pieces: list[pa.Array | str] = [
        client(plan, d),
        " - - [",
        stamp(d.epoch_us, _CLF_TIME, 0, " +0000"),
        '] "',
        _request_line(d),
        '" ',
        int_text(d.statuses),
        " ",
        size,
    ]
    if quoted_parts:
        pieces += [' "', blank(take(REFERERS, d.referers), "-"), '" "', _agent(d), '"']
    return join(*pieces)


def _haproxy(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    total = millis(d.latency_us)
    head = np.minimum(total, np.floor(d.split * 3).astype(np.int64))
    connect = np.minimum(total - head, (d.split > 0.3).astype(np.int64))
    timers = join(
        int_text(head),
        "/0/",
        int_text(connect),
        "/",
        int_text(total - head - connect),
        "/",
        int_text(total),
    )
    none = d.no_response
    timers = choose(none, join(int_text(head), "/-1/-1/-1/", int_text(total)), timers)
    server = choose(none, "<NOSRV>", join("web", int_text(d.hosts + 1)))
    return join(
        stamp(d.epoch_us, "%b %e %H:%M:%S", 0, " lb1 haproxy[2412]: "),
        client(plan, d),
        ":",
        int_text(d.ports),
        " [",
        stamp(d.epoch_us, _CLF_TIME, 3, "] "),
        choose(d.tls, "www-https~ web/", "www web/"),
        server,
        " ",
        timers,
        " ",
        int_text(d.statuses),
        " ",
        int_text(d.body),
        choose(none, " - - SC-- ", " - - ---- "),
        "12/12/0/0/0 0/0 {",
        take(HOSTS, d.hosts),
        "|",
        _agent(d, ""),
        '} "',
        _request_line(d),
        '"',
    )


def _squid(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    none = d.no_response
    hit = (d.split < 0.15) & (d.statuses == 200)
    code = choose(d.statuses == 304, "TCP_REFRESH_UNMODIFIED/", "TCP_MISS/")
    code = choose(hit, "TCP_HIT/", choose(d.statuses == 403, "TCP_DENIED/", code))
    status = pc.utf8_lpad(int_text(d.statuses), width=3, padding="0")
    code = choose(none, "NONE/", code)
    direct = join("HIER_DIRECT/", _server(d))
    hierarchy = choose(hit | none | (d.statuses == 403), "HIER_NONE/-", direct)
    return join(
        decimal(d.epoch_us // 1000, 3),
        " ",
        pc.utf8_lpad(int_text(millis(d.latency_us)), width=6, padding=" "),
        " ",
        client(plan, d),
        " ",
        code,
        status,
        " ",
        int_text(d.body),
        " ",
        take(METHODS, d.methods),
        " http://",
        take(HOSTS, d.hosts),
        target(d),
        " - ",
        hierarchy,
        " ",
        choose((d.body > 0) & ~none, "text/html", "-"),
    )


def _server(d: PresetDraws) -> pa.Array:
    return pc.replace_substring(upstream(d), ":80", "")


def _envoy(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    none = d.no_response
    total = millis(d.latency_us)
    sends_body = np.isin(d.methods, (1, 2, 4))  # POST, PUT, PATCH
    received = np.where(sends_body, 180 + (d.ids * 7919) % 700, 0)
    protocol = pc.replace_substring(take(PROTOCOLS, d.protocols), "HTTP/2.0", "HTTP/2")
    return join(
        stamp(d.epoch_us, "[%Y-%m-%dT%H:%M:%S", 3, 'Z] "'),
        take(METHODS, d.methods),
        " ",
        target(d),
        " ",
        protocol,
        '" ',
        int_text(d.statuses),
        choose(none, " DC ", " - "),
        int_text(received),
        " ",
        choose(none, "0", int_text(d.body)),
        " ",
        int_text(total),
        " ",
        choose(none, "-", int_text(np.maximum(total - 1, 0))),
        ' "',
        client(plan, d),
        '" "',
        _agent(d),
        '" "',
        plan.ids.take(pa.array(d.ids)),
        '" "',
        take(HOSTS, d.hosts),
        '" "',
        choose(none, "-", upstream(d)),
        '"',
    )


def _traefik(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    return join(
        _clf(plan, d, int_text(d.body), True),
        " ",
        int_text(d.numbers + 1),
        ' "',
        take(("web@docker", "api@docker", "web@docker", "static@file"), d.hosts),
        '" "http://',
        upstream(d),
        '" ',
        int_text(millis(d.latency_us)),
        "ms",
    )


def _ingress_nginx(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    total = millis(d.latency_us)
    upstream_ms = np.maximum(total - np.floor(d.split * 2).astype(np.int64), 0)
    retried = (d.split > 0.99) & (upstream_ms >= 4)
    single = [upstream(d), int_text(d.body), decimal(upstream_ms, 3), int_text(d.statuses)]
    second = take(UPSTREAMS, (d.hosts + 1) % len(UPSTREAMS))
    lists = [
        join(upstream(d), ", ", second),
        join("0, ", int_text(d.body)),
        join("0.004, ", decimal(upstream_ms - 4, 3)),
        join("502, ", int_text(d.statuses)),
    ]
    fields = [choose(retried, many, one) for many, one in zip(lists, single, strict=True)]
    request_length: IntArray = 180 + (d.ids * 7919) % 700
    return join(
        _clf(plan, d, int_text(d.body), True),
        " ",
        int_text(request_length),
        " ",
        decimal(total, 3),
        " [default-web-80] [] ",
        fields[0],
        " ",
        fields[1],
        " ",
        fields[2],
        " ",
        fields[3],
        " ",
        pc.replace_substring(plan.ids.take(pa.array(d.ids)), "-", ""),
    )


def _vhost(d: PresetDraws) -> pa.Array:
    return join(take(HOSTS, d.hosts), choose(d.tls, ":443 ", ":80 "))


def _vcombined(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    return join(_vhost(d), _clf(plan, d, int_text(d.body), True))


def _vcommon(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    size = choose(d.body == 0, "-", int_text(d.body))
    return join(_vhost(d), _clf(plan, d, size, False))


#: The writer of each preset of this module.
PROXY_WRITERS: Final[dict[str, Callable[[PresetPlan, PresetDraws], pa.Array]]] = {
    "haproxy": _haproxy,
    "squid": _squid,
    "envoy": _envoy,
    "traefik": _traefik,
    "ingress-nginx": _ingress_nginx,
    "vcombined": _vcombined,
    "vcommon": _vcommon,
}
