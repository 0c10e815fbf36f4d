"""The GoAccess-style panels of a partial: visitors, hosts, referrers, bandwidth, virtual hosts.

One :class:`Panels` per partial, built from a parsed partition by :func:`panels_of` and added up
by :func:`merge_panels`; the kernels are in :mod:`~pipeline.ingest.aggregate.visitors`,
:mod:`~pipeline.ingest.aggregate.clients` and :mod:`~pipeline.ingest.aggregate.bandwidth`. The
columns read are ``client``, ``referer`` and ``host`` (null where a line has none; a frame
without the column is read as all null), ``user_agent``, ``time``, ``bytes`` and the latency.
Whether the report shows a panel depends on the formats read (a format without the field shows
none), not on what a partial holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.bandwidth import (
    Bandwidth,
    bandwidth_of,
    empty_bandwidth,
    merge_bandwidth,
)
from pipeline.ingest.aggregate.clients import (
    KeyedPanel,
    Referrers,
    keyed_panel,
    merge_keyed,
    merge_referrers,
    referrers_of,
)
from pipeline.ingest.aggregate.visitors import (
    Visitors,
    empty_visitors,
    merge_visitors,
    visitors_of,
)

#: Milliseconds per UTC day.
DAY_MS: Final[int] = 86_400_000


@dataclass(frozen=True)
class Panels:
    """The panels' partial tables (see the module docstring)."""

    visitors: Visitors = field(default_factory=empty_visitors)
    hosts: KeyedPanel = field(default_factory=KeyedPanel)
    referrers: Referrers = field(default_factory=Referrers)
    bandwidth: Bandwidth = field(default_factory=empty_bandwidth)
    virtual_hosts: KeyedPanel = field(default_factory=KeyedPanel)


def panels_of(frame: pd.DataFrame, latency: np.ndarray[Any, Any]) -> Panels:
    """The panels of one parsed (and filtered) partition; ``latency``: each row's (NaN: none)."""
    count = len(frame)
    clients = _column(frame, "client")
    sizes = frame["bytes"].to_numpy(dtype=np.int64)
    times = frame["time"]
    timed = times.notna().to_numpy()
    millis = times[timed].to_numpy(dtype="datetime64[ms]").view(np.int64)
    with_client = clients.is_valid().to_numpy(zero_copy_only=False) & timed
    agents = _column(frame, "user_agent")
    all_millis = np.zeros(count, dtype=np.int64)
    all_millis[timed] = millis
    visitor = pa.array(with_client)
    return Panels(
        visitors=visitors_of(
            all_millis[with_client] // DAY_MS, clients.filter(visitor), agents.filter(visitor)
        ),
        hosts=keyed_panel(clients, sizes, latency, limits.CLIENTS, limits.CLIENT_LATENCY),
        referrers=referrers_of(_column(frame, "referer")),
        bandwidth=bandwidth_of(millis, sizes[timed]),
        virtual_hosts=keyed_panel(
            _column(frame, "host"), sizes, latency, limits.VHOSTS, limits.VHOST_LATENCY
        ),
    )


def merge_panels(parts: Sequence[Panels]) -> Panels:
    """The panels of several partials together (associative; any order gives the same)."""
    if len(parts) == 1:
        return parts[0]
    return Panels(
        visitors=merge_visitors([part.visitors for part in parts]),
        hosts=merge_keyed([part.hosts for part in parts], limits.CLIENTS, limits.CLIENT_LATENCY),
        referrers=merge_referrers([part.referrers for part in parts]),
        bandwidth=merge_bandwidth([part.bandwidth for part in parts]),
        virtual_hosts=merge_keyed(
            [part.virtual_hosts for part in parts], limits.VHOSTS, limits.VHOST_LATENCY
        ),
    )


def _column(frame: pd.DataFrame, name: str) -> pa.Array:
    """A string column as Arrow (null: none), all null when the frame lacks it."""
    if name not in frame.columns:
        return pa.nulls(len(frame), pa.large_string())
    return pa.array(frame[name], type=pa.large_string(), from_pandas=True)
