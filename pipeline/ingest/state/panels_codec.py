"""The panels of a partial (:class:`~pipeline.ingest.aggregate.panels.Panels`) as arrays and a
manifest entry, for :mod:`pipeline.ingest.state.codec`, and back, with the same checks: dtypes,
lengths, sorted distinct keys and readable HLL sketches; anything else raises (the codec turns
it into a :class:`~pipeline.errors.StateError`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasketches
import numpy as np

from pipeline.ingest.aggregate.bandwidth import DAY_S, INTERVAL_S, Bandwidth
from pipeline.ingest.aggregate.clients import KeyedPanel, Referrers
from pipeline.ingest.aggregate.distribution import Distributions
from pipeline.ingest.aggregate.panels import Panels
from pipeline.ingest.aggregate.topk import CappedCounts
from pipeline.ingest.aggregate.visitors import Visitors
from pipeline.ingest.state.arrays import Reader, Spec, Writer

#: What the codec lends this module: its writers and readers of capped counts and distributions.
PutCapped = Callable[[Writer, str, CappedCounts], Spec]
GetCapped = Callable[[Reader, str, Spec], CappedCounts]
PutDist = Callable[[Writer, str, Distributions], Spec]
GetDist = Callable[[Reader, str, Spec], Distributions]


def put_panels(writer: Writer, panels: Panels, put_capped: PutCapped, put_dist: PutDist) -> Spec:
    """Store ``panels`` under names starting with ``panels.``; the manifest entry."""
    visitors = panels.visitors
    writer.arrays["panels.visitors.days"] = visitors.days.astype("<i8")
    writer.arrays["panels.visitors.hashes"] = visitors.hashes.astype("<u8")
    sketches = visitors.sketches
    if sketches is not None:
        writer.arrays["panels.visitors.sketches"] = np.frombuffer(b"".join(sketches), np.uint8)
    bandwidth = panels.bandwidth
    writer.arrays["panels.bandwidth.slots"] = bandwidth.slots.astype("<i8")
    writer.arrays["panels.bandwidth.totals"] = bandwidth.totals.astype("<i8")
    spec: Spec = {
        "visitors": None if sketches is None else [len(each) for each in sketches],
        "bandwidth_slot_s": bandwidth.slot_s,
        "dropped_days": [visitors.dropped_days, bandwidth.dropped_days],
        "direct": panels.referrers.direct,
        "sites": put_capped(writer, "panels.sites", panels.referrers.sites),
        "urls": put_capped(writer, "panels.urls", panels.referrers.urls),
    }
    for name in ("hosts", "virtual_hosts"):
        keyed: KeyedPanel = getattr(panels, name)
        spec[name] = {
            "counts": put_capped(writer, f"panels.{name}", keyed.counts),
            "latency": None
            if keyed.latency is None
            else put_dist(writer, f"panels.{name}.latency", keyed.latency),
        }
    return spec


def get_panels(reader: Reader, spec: Spec, get_capped: GetCapped, get_dist: GetDist) -> Panels:
    """The panels :func:`put_panels` stored (ValueError or TypeError when inconsistent)."""
    days = reader.array("panels.visitors.days", "<i8")
    hashes = reader.array("panels.visitors.hashes", "<u8")
    lengths = spec["visitors"]
    sketches: tuple[bytes, ...] | None = None
    if lengths is None:
        if len(days) != len(hashes):
            raise ValueError("visitors: days and hashes of different lengths")
        order = np.lexsort((hashes, days))
        distinct = len(days) < 2 or bool(
            ((days[1:] != days[:-1]) | (hashes[1:] != hashes[:-1])).all()
        )
        if not (np.array_equal(order, np.arange(len(days))) and distinct):
            raise ValueError("visitors: pairs not sorted and distinct")
    else:
        blob = reader.array("panels.visitors.sketches", "|u1").tobytes()
        ends = np.cumsum([_count(each) for each in lengths]).tolist()
        if len(lengths) != len(days) or (ends[-1] if ends else 0) != len(blob) or len(hashes):
            raise ValueError("visitors: sketches inconsistent with their days")
        sketches = tuple(blob[start:end] for start, end in zip([0, *ends], ends, strict=False))
        for sketch in sketches:
            datasketches.hll_sketch.deserialize(sketch)  # raises on a damaged sketch
    _check_increasing(days, "visitors", strict=lengths is not None)
    slots = reader.array("panels.bandwidth.slots", "<i8")
    totals = reader.array("panels.bandwidth.totals", "<i8")
    slot_s = spec["bandwidth_slot_s"]
    if slot_s not in (INTERVAL_S, DAY_S) or len(slots) != len(totals):
        raise ValueError("bandwidth: inconsistent slots")
    _check_increasing(slots, "bandwidth", strict=True)
    keyed = {
        name: KeyedPanel(
            get_capped(reader, f"panels.{name}", spec[name]["counts"]),
            None
            if spec[name]["latency"] is None
            else get_dist(reader, f"panels.{name}.latency", spec[name]["latency"]),
        )
        for name in ("hosts", "virtual_hosts")
    }
    dropped = spec["dropped_days"]
    if not (
        isinstance(dropped, list) and len(dropped) == 2 and all(type(x) is bool for x in dropped)
    ):
        raise ValueError("dropped_days: not two booleans")
    return Panels(
        visitors=Visitors(days, hashes, sketches, dropped[0]),
        referrers=Referrers(
            get_capped(reader, "panels.sites", spec["sites"]),
            get_capped(reader, "panels.urls", spec["urls"]),
            _count(spec["direct"]),
        ),
        bandwidth=Bandwidth(slots, totals, slot_s, dropped[1]),
        **keyed,
    )


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _check_increasing(values: np.ndarray[Any, Any], what: str, strict: bool) -> None:
    steps = np.diff(values)
    if bool((steps <= 0).any() if strict else (steps < 0).any()):
        raise ValueError(f"{what}: keys not in order")
