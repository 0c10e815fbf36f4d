"""Writers of the IIS and cloud presets: ``w3c``, ``cloudfront``, ``alb``, ``elb``, ``gcp``.

Each writer turns a chunk of :class:`~pipeline.loggen.presets.PresetDraws` into its format's
lines (without newlines) with Arrow string kernels, copying the shape of genuine logs (the
samples in ``tests/data/formats/``)::

    w3c         2026-11-27 00:00:10 10.0.0.5 GET /cart id=7 443 - 203.0.113.7
                Mozilla/5.0+(X11;+Linux+x86_64;+rv:128.0)+Gecko/20100101+Firefox/128.0 - 200 0 0 62
    cloudfront  33 tab-separated fields of the standard log (date time x-edge-location sc-bytes
                c-ip cs-method cs(Host) cs-uri-stem sc-status ... time-taken ...)
    alb         https 2026-11-27T00:00:10.123456Z app/my-loadbalancer/... 0.000 0.061 0.001 200
                200 412 5120 "GET https://www.example.com:443/cart?id=7 HTTP/1.1" "curl/8.5.0" ...
    elb         2026-11-27T00:00:10.123456Z my-loadbalancer 203.0.113.7:51234 10.0.0.11:80
                0.000041 0.061377 0.000023 200 200 412 5120 "GET ... HTTP/1.1" "curl/8.5.0" ...
    gcp         {"httpRequest":{"requestMethod":"GET","requestUrl":"https://...","status":200,
                "responseSize":"5120","latency":"0.061377s",...},...,"timestamp":"..."}

Units, as each format writes them: IIS ``time-taken`` in whole ms (the W3C specification says
seconds; IIS writes ms), CloudFront ``time-taken`` in seconds with 3 decimals, ALB's three timers
in seconds with 3 decimals and Classic ELB's with 6 (their sum is the latency), GCP's ``latency``
a protobuf duration (``"0.061377s"``). IIS writes ``+`` for spaces in the user agent, CloudFront
``%20``. W3C and CloudFront files start with their directives (:func:`header`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import METHODS, REFERERS, IntArray
from pipeline.loggen.presets import (
    HOSTS,
    PRESET_AGENTS,
    PRESET_PATHS,
    PROTOCOLS,
    BoolArray,
    PresetDraws,
    PresetPlan,
    blank,
    choose,
    decimal,
    hex8,
    join,
    millis,
    query,
    stamp,
    take,
    target,
)
from pipeline.loggen.traffic import FloatArray, int_text

#: The ``#Fields`` of IIS's default W3C log (the order ``w3c`` writes).
W3C_FIELDS: Final = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)
#: The 33 ``#Fields`` of CloudFront's standard log (AWS documentation order).
CLOUDFRONT_FIELDS: Final = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
_EDGES: Final = ("IAD89-C1", "FRA56-P5", "LHR61-P3", "NRT57-C2", "GRU3-C1")
_ALB: Final = "app/my-loadbalancer/50dc6c495c0c9188"
_TARGET_GROUP: Final = (
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
)
_CERT: Final = "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
_TARGETS: Final = tuple(f"10.0.{index // 4}.{10 + index}:80" for index in range(8))


def header(fmt: str, epoch_s: int) -> str:
    """The directive lines a ``fmt`` file (or an IIS restart) starts with; ``""`` for none.

    >>> print(header("cloudfront", 0).splitlines()[0])
    #Version: 1.0
    """
    if fmt == "w3c":
        date = datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return (
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
            f"#Date: {date}\n#Fields: {W3C_FIELDS}\n"
        )
    if fmt == "cloudfront":
        return f"#Version: 1.0\n#Fields: {CLOUDFRONT_FIELDS}\n"
    return ""


def _request_size(d: PresetDraws) -> IntArray:
    """Bytes received: a request line and headers (derived from the request id, no draw)."""
    sizes: IntArray = 180 + (d.ids * 7919) % 700
    return sizes


def _w3c(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    agents = pc.replace_substring(blank(take(PRESET_AGENTS, d.agents), "-"), " ", "+")
    return join(
        stamp(d.epoch_us, "%Y-%m-%d %H:%M:%S", 0, ""),
        " 10.0.0.5 ",
        take(METHODS, d.methods),
        " ",
        take(PRESET_PATHS, d.paths),
        " ",
        query(d, "-", prefix=""),
        choose(d.tls, " 443 - ", " 80 - "),
        plan.clients.take(pa.array(d.clients)),
        " ",
        agents,
        " ",
        blank(take(REFERERS, d.referers), "-"),
        " ",
        int_text(d.statuses),
        " 0 0 ",
        int_text(millis(d.latency_us)),
    )


def _cloudfront(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    none = d.no_response
    result = choose(none, "Error", choose(d.split < 0.6, "Hit", "Miss"))
    seconds = decimal(millis(d.latency_us), 3)
    size = int_text(d.body)
    fields: list[pa.Array | str] = [
        stamp(d.epoch_us, "%Y-%m-%d\t%H:%M:%S", 0, ""),
        take(_EDGES, d.clients % len(_EDGES)),
        size,
        plan.clients.take(pa.array(d.clients)),
        take(METHODS, d.methods),
        "d111111abcdef8.cloudfront.net",
        take(PRESET_PATHS, d.paths),
        pc.utf8_lpad(int_text(d.statuses), width=3, padding="0"),
        blank(take(REFERERS, d.referers), "-"),
        pc.replace_substring(blank(take(PRESET_AGENTS, d.agents), "-"), " ", "%20"),
        query(d, "-", prefix=""),
        "-",
        result,
        pc.replace_substring(plan.ids.take(pa.array(d.ids)), "-", ""),
        take(HOSTS, d.hosts),
        choose(d.tls, "https", "http"),
        int_text(_request_size(d)),
        seconds,
        "-",
        choose(d.tls, "TLSv1.3", "-"),
        choose(d.tls, "TLS_AES_128_GCM_SHA256", "-"),
        result,
        take(PROTOCOLS, d.protocols),
        "-",
        "-",
        int_text(d.ports),
        seconds,
        result,
        choose(d.body > 0, "text/html", "-"),
        choose(d.body > 0, size, "-"),
        "-",
        "-",
    ]
    return pc.binary_join_element_wise(*fields, "\t")


def _url(d: PresetDraws, ports: bool) -> pa.Array:
    """``https://host[:443]/path?q`` (``http``, ``:80`` without TLS)."""
    scheme = choose(d.tls, "https://", "http://")
    port = choose(d.tls, ":443", ":80") if ports else ""
    return join(scheme, take(HOSTS, d.hosts), port, target(d))


def _request(d: PresetDraws, http2: bool) -> pa.Array:
    """``"GET https://host:443/path?q HTTP/1.1"`` with its quotes (ALB; Classic ELB: no HTTP/2)."""
    protocol = take(PROTOCOLS, d.protocols) if http2 else "HTTP/1.1"
    return join('"', take(METHODS, d.methods), " ", _url(d, True), " ", protocol, '"')


def _timers(parts: list[IntArray], digits: int, none: BoolArray) -> pa.Array:
    """Three timers (``digits`` decimals of a second), ``-1 -1 -1`` where ``none``."""
    text = pc.binary_join_element_wise(*[decimal(np.maximum(p, 0), digits) for p in parts], " ")
    return choose(none, "-1 -1 -1", text)


def _split(total: IntArray, split: FloatArray, first: int, last: int) -> list[IntArray]:
    """``total`` as request + target + response time: small first and last parts, the rest."""
    head = np.minimum(total, np.floor(split * (first + 1)).astype(np.int64))
    tail = np.minimum(total - head, np.floor((1 - split) * (last + 1)).astype(np.int64))
    return [head, total - head - tail, tail]


def _alb(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    none = d.no_response & (d.latency_us < 0)
    total = millis(d.latency_us)
    targets = take(_TARGETS, d.hosts * 2 + d.ids % 2)
    status = int_text(d.statuses)
    kind = choose(d.tls, choose(d.protocols == 1, "h2 ", "https "), "http ")
    begun = d.epoch_us - np.maximum(d.latency_us, 0)
    hexes = pc.replace_substring(plan.ids.take(pa.array(d.ids)), "-", "")
    return join(
        kind,
        stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 6, "Z"),
        f" {_ALB} ",
        plan.clients.take(pa.array(d.clients)),
        ":",
        int_text(d.ports),
        " ",
        choose(none, "-", targets),
        " ",
        _timers(_split(total, d.split, 1, 1), 3, none),
        " ",
        status,
        " ",
        choose(none, "-", status),
        " ",
        int_text(_request_size(d)),
        " ",
        int_text(d.body),
        " ",
        _request(d, True),
        ' "',
        blank(take(PRESET_AGENTS, d.agents), "-"),
        '" ',
        choose(d.tls, "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ", "- - "),
        _TARGET_GROUP,
        ' "Root=1-',
        hex8(d.epoch_us // 1_000_000),
        "-",
        pc.utf8_slice_codeunits(hexes, 0, 24),
        '" "',
        choose(d.tls, take(HOSTS, d.hosts), "-"),
        '" "',
        choose(d.tls, _CERT, "-"),
        '" 0 ',
        stamp(begun, "%Y-%m-%dT%H:%M:%S", 6, "Z"),
        ' "forward" "-" "-" "',
        choose(none, "-", targets),
        '" "',
        choose(none, "-", status),
        '" "-" "-" TID_',
        hexes,
    )


def _elb(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    none = d.no_response & (d.latency_us < 0)
    status = int_text(d.statuses)
    return join(
        stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 6, "Z"),
        " my-loadbalancer ",
        plan.clients.take(pa.array(d.clients)),
        ":",
        int_text(d.ports),
        " ",
        choose(none, "-", take(_TARGETS, d.hosts * 2 + d.ids % 2)),
        " ",
        _timers(_split(np.maximum(d.latency_us, 0), d.split, 90, 60), 6, none),
        " ",
        status,
        " ",
        choose(none, "-", status),
        " ",
        int_text(_request_size(d)),
        " ",
        int_text(d.body),
        " ",
        _request(d, False),
        ' "',
        blank(take(PRESET_AGENTS, d.agents), "-"),
        '" ',
        choose(d.tls, "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2", "- -"),
    )


def _gcp(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    agents = take(PRESET_AGENTS, d.agents)
    agent = pc.if_else(pc.equal(agents, ""), "", join('"userAgent":"', agents, '",'))
    level = (d.statuses >= 400).astype(np.int64) + (d.statuses >= 500).astype(np.int64)
    severity = take(("INFO", "WARNING", "ERROR"), level)
    hexes = pc.replace_substring(plan.ids.take(pa.array(d.ids)), "-", "")
    when = stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 6, "Z")
    return join(
        '{"httpRequest":{"requestMethod":"',
        take(METHODS, d.methods),
        '","requestUrl":"',
        _url(d, False),
        '","requestSize":"',
        int_text(_request_size(d)),
        '","status":',
        int_text(d.statuses),
        ',"responseSize":"',
        int_text(d.body),
        '",',
        agent,
        '"remoteIp":"',
        plan.clients.take(pa.array(d.clients)),
        '","serverIp":"10.128.0.7","latency":"',
        decimal(d.latency_us, 6),
        's","protocol":"',
        take(PROTOCOLS, d.protocols),
        '"},"insertId":"',
        pc.utf8_slice_codeunits(hexes, 0, 14),
        '","jsonPayload":{"@type":"type.googleapis.com/google.cloud.loadbalancing.type.'
        'LoadBalancerLogEntry","statusDetails":"response_sent_by_backend"},'
        '"logName":"projects/my-project/logs/requests","receiveTimestamp":"',
        when,
        '","resource":{"type":"http_load_balancer","labels":{"backend_service_name":"web",'
        '"forwarding_rule_name":"web-https","project_id":"my-project","target_proxy_name":'
        '"web-proxy","url_map_name":"web-map","zone":"global"}},"severity":"',
        severity,
        '","timestamp":"',
        when,
        '","trace":"projects/my-project/traces/',
        hexes,
        '"}',
    )


#: The writer of each preset of this module.
CLOUD_WRITERS: Final[dict[str, Callable[[PresetPlan, PresetDraws], pa.Array]]] = {
    "w3c": _w3c,
    "cloudfront": _cloudfront,
    "alb": _alb,
    "elb": _elb,
    "gcp": _gcp,
}
