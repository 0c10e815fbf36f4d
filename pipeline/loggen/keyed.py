"""Writers of the key-value presets: ``traefik-json``, ``caddy``, ``logfmt``, ``heroku``.

Each writer turns a chunk of :class:`~pipeline.loggen.presets.PresetDraws` into its format's
lines (without newlines) with Arrow string kernels, copying the shape of genuine logs (the
samples in ``tests/data/formats/``)::

    traefik-json   {"ClientAddr":"203.0.113.7:51234",...,"Duration":61377000,...}
    caddy          {"level":"info","ts":1795737610.123456,...,"request":{...,"method":"GET",
                   "uri":"/cart?id=7","headers":{"User-Agent":["curl/8.5.0"],...}},...,
                   "duration":0.061377,"size":5120,"status":200,...}
    logfmt         time=2026-11-27T00:00:10.123Z method=GET host=www.example.com path=/cart?id=7
                   status=200 duration=61ms bytes=5120 user_agent="curl/8.5.0"
    heroku         2026-11-27T00:00:10.123456+00:00 heroku[router]: at=info method=GET
                   path="/cart?id=7" host=... request_id=<uuid> fwd="203.0.113.7" dyno=web.1
                   connect=1ms service=61ms status=200 bytes=5120 protocol=https

Units, as each format writes them: Traefik's JSON ``Duration`` in ns, Caddy's ``duration`` in
seconds (``ts`` epoch seconds), logfmt ``duration=NNms``, Heroku ``service=NNms`` (the latency;
``connect`` is the time to reach the dyno). Traefik drops request headers by default: its user
agent (``request_User-Agent``) is written only when there is one, as when headers are kept;
Caddy writes headers as arrays (``"User-Agent":["curl/8.5.0"]``); the Heroku router has no user
agent. JSON strings need no escaping: every drawn string is ASCII without ``"`` or ``\\``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.loggen.mix import METHODS
from pipeline.loggen.presets import (
    HOSTS,
    PRESET_AGENTS,
    PROTOCOLS,
    PresetDraws,
    PresetPlan,
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


def _address(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    """``ip:port`` as Go writes it (``[v6]:port``)."""
    host = client(plan, d)
    bracketed = pc.if_else(pc.match_substring(host, ":"), join("[", host, "]"), host)
    return join(bracketed, ":", int_text(d.ports))


def _traefik_json(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    duration = np.maximum(d.latency_us, 0) * 1000
    overhead = np.minimum(duration, 20_000 + (d.ids * 7919) % 90_000)
    agents = take(PRESET_AGENTS, d.agents)
    agent = pc.if_else(pc.equal(agents, ""), "", join(',"request_User-Agent":"', agents, '"'))
    started = stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 6, "Z")
    size = int_text(d.body)
    status = int_text(d.statuses)
    return join(
        '{"ClientAddr":"',
        _address(plan, d),
        '","ClientHost":"',
        client(plan, d),
        '","ClientPort":"',
        int_text(d.ports),
        '","ClientUsername":"-","DownstreamContentSize":',
        size,
        ',"DownstreamStatus":',
        status,
        ',"Duration":',
        int_text(duration),
        ',"OriginContentSize":',
        size,
        ',"OriginDuration":',
        int_text(duration - overhead),
        ',"OriginStatus":',
        status,
        ',"Overhead":',
        int_text(overhead),
        ',"RequestAddr":"',
        take(HOSTS, d.hosts),
        '","RequestContentSize":0,"RequestCount":',
        int_text(d.numbers + 1),
        ',"RequestHost":"',
        take(HOSTS, d.hosts),
        '","RequestMethod":"',
        take(METHODS, d.methods),
        '","RequestPath":"',
        target(d),
        '","RequestPort":"-","RequestProtocol":"',
        take(PROTOCOLS, d.protocols),
        '","RequestScheme":"',
        choose(d.tls, "https", "http"),
        '","RetryAttempts":0,"RouterName":"web@docker","ServiceAddr":"',
        upstream(d),
        '","ServiceName":"web@docker","StartLocal":"',
        started,
        '","StartUTC":"',
        started,
        '","entryPointName":"',
        choose(d.tls, "websecure", "web"),
        '","level":"info","msg":""',
        agent,
        ',"time":"',
        stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 0, "Z"),
        '"}',
    )


def _caddy(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    agents = take(PRESET_AGENTS, d.agents)
    agent = pc.if_else(pc.equal(agents, ""), "", join('"User-Agent":["', agents, '"],'))
    return join(
        '{"level":"info","ts":',
        decimal(d.epoch_us, 6),
        ',"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"',
        client(plan, d),
        '","remote_port":"',
        int_text(d.ports),
        '","client_ip":"',
        client(plan, d),
        '","proto":"',
        take(PROTOCOLS, d.protocols),
        '","method":"',
        take(METHODS, d.methods),
        '","host":"',
        take(HOSTS, d.hosts),
        '","uri":"',
        target(d),
        '","headers":{',
        agent,
        '"Accept":["*/*"]}},"bytes_read":0,"user_id":"","duration":',
        decimal(np.maximum(d.latency_us, 0), 6),
        ',"size":',
        int_text(d.body),
        ',"status":',
        int_text(d.statuses),
        ',"resp_headers":{"Server":["Caddy"]}}',
    )


def _logfmt(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    return join(
        stamp(d.epoch_us, "time=%Y-%m-%dT%H:%M:%S", 3, "Z method="),
        take(METHODS, d.methods),
        " host=",
        take(HOSTS, d.hosts),
        " path=",
        target(d),
        " status=",
        int_text(d.statuses),
        " duration=",
        int_text(millis(d.latency_us)),
        "ms bytes=",
        int_text(d.body),
        ' user_agent="',
        take(PRESET_AGENTS, d.agents),
        '"',
    )


def _heroku(plan: PresetPlan, d: PresetDraws) -> pa.Array:
    return join(
        stamp(d.epoch_us, "%Y-%m-%dT%H:%M:%S", 6, "+00:00 heroku[router]: at=info method="),
        take(METHODS, d.methods),
        ' path="',
        target(d),
        '" host=',
        take(HOSTS, d.hosts),
        " request_id=",
        plan.ids.take(pa.array(d.ids)),
        ' fwd="',
        client(plan, d),
        '" dyno=web.',
        int_text(d.hosts + 1),
        " connect=",
        int_text(np.floor(d.split * 3).astype(np.int64)),
        "ms service=",
        int_text(millis(d.latency_us)),
        "ms status=",
        int_text(d.statuses),
        " bytes=",
        int_text(d.body),
        " protocol=",
        choose(d.tls, "https", "http"),
    )


#: The writer of each preset of this module.
KEYED_WRITERS: Final[dict[str, Callable[[PresetPlan, PresetDraws], pa.Array]]] = {
    "traefik-json": _traefik_json,
    "caddy": _caddy,
    "logfmt": _logfmt,
    "heroku": _heroku,
}
