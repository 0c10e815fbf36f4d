"""Requests, bytes and latency per client address or virtual host, and the referrers.

Three panels a GoAccess user expects, each a capped top list
(:mod:`pipeline.ingest.aggregate.topk`: at most a fixed number of names per partial, with a
proven error bound per name, so a top list is exact or flagged with its bound):

* ``hosts``: per client address, requests and bytes (``bytes`` is an extra count column of the
  capped table: exact when the row's count is, else a lower bound), and the latency
  distribution of the names a partial keeps (:mod:`pipeline.ingest.aggregate.distribution`),
  whose p95 the report gives;
* ``virtual_hosts``: the same per ``host`` (the virtual host or server name);
* ``referrers``: requests per referring *site* and per referer *URL* as written, and ``direct``,
  the requests without a referer (the field is ``-``, empty or missing: the parser makes all
  three null). A site is the URL's host, lower-cased (host names are case-insensitive; GoAccess
  lower-cases them too): the text after ``scheme://`` and any ``user@``, up to the first ``/``,
  ``?``, ``#`` or ``:`` port (an IPv6 ``[...]`` kept whole); a referer without ``scheme://``
  (``android-app:``, a bare word) is its own site, lower-cased, cut the same way.

Rows without the field (null) are left out of ``hosts`` and ``virtual_hosts`` (their figures
are shares of all requests counted, so the rows need not add up to the total).

>>> sites_of(pa.array(["https://User@Example.COM:8080/a?b", "android-app://com.x/", "x/y"]))
['example.com', 'com.x', 'x']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.aggregate import limits
from pipeline.ingest.aggregate.distribution import (
    Distributions,
    Spec,
    empty,
    from_codes,
    keep_groups,
    merge,
)
from pipeline.ingest.aggregate.topk import (
    CappedCounts,
    capped_at,
    capped_counts,
    empty_capped,
    merge_capped,
    top_positions,
)

#: ``scheme://`` then ``user@`` (both optional), then the host: ``[IPv6]`` or up to a delimiter.
_SITE = r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^/?#@]*@)?(?P<site>\[[^\]]*\]|[^/?#:]*)"


@dataclass(frozen=True)
class KeyedPanel:
    """Requests and bytes per name (capped, column ``bytes``) and latency per kept name."""

    counts: CappedCounts = field(default_factory=lambda: empty_capped(("bytes",)))
    latency: Distributions | None = None


@dataclass(frozen=True)
class Referrers:
    """Requests per referring site and per referer URL (capped), and requests without one."""

    sites: CappedCounts = field(default_factory=empty_capped)
    urls: CappedCounts = field(default_factory=empty_capped)
    direct: int = 0


def keyed_panel(
    names: pa.Array,
    sizes: np.ndarray[Any, Any],
    latency: np.ndarray[Any, Any],
    cap: int,
    spec: Spec,
) -> KeyedPanel:
    """One partition's panel: ``names`` (null: left out), each row's bytes and latency (NaN: no
    latency). The ``cap`` most frequent names are kept, with the latency of those only."""
    encoded = pc.dictionary_encode(pc.cast(names, pa.large_string()))
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    codes = np.asarray(indices[valid], dtype=np.int64)
    distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    return coded_panel(codes, distinct, sizes[valid], latency[valid], cap, spec)


def coded_panel(
    codes: np.ndarray[Any, Any],
    names: np.ndarray[Any, Any],
    sizes: np.ndarray[Any, Any],
    latency: np.ndarray[Any, Any],
    cap: int,
    spec: Spec,
) -> KeyedPanel:
    """Requests and bytes per name, capped to the ``cap`` most frequent, and the latency of
    the kept names only (``spec``'s one level names them); ``codes[i]`` numbers row ``i``'s name
    in ``names``. Shared by the keyed panels and the paths table."""
    totals = np.bincount(codes, minlength=len(names)).astype(np.int64)
    sent = np.bincount(codes, weights=sizes, minlength=len(names)).astype(np.int64)
    positions, bound = top_positions(totals, cap)
    counts = capped_at(
        pd.Series(totals, index=pd.Index(names, dtype=object)),
        positions,
        bound,
        pd.DataFrame({"bytes": sent}),
    )
    kept = np.zeros(len(names), dtype=bool)
    kept[positions] = True
    rows = kept[codes]
    (level,) = spec.levels
    dist = from_codes(pd.DataFrame({level: names}), codes[rows], latency[rows], spec)
    return KeyedPanel(counts, dist)


def merge_keyed(parts: Sequence[KeyedPanel], cap: int, spec: Spec) -> KeyedPanel:
    """The panels of several partials together; latency kept for the names still listed."""
    if len(parts) == 1:
        return parts[0]
    counts = merge_capped([part.counts for part in parts], cap)
    dists = [part.latency for part in parts if part.latency is not None]
    latency = merge(dists, spec) if dists else empty(spec)
    return KeyedPanel(counts, keep_groups(latency, counts.table.index, spec))


def sites_of(referers: pa.Array) -> list[str]:
    """The site of each referer (see the module docstring), as Python strings."""
    found = pc.extract_regex(pc.cast(referers, pa.large_string()), _SITE)
    sites = pc.utf8_lower(pc.struct_field(found, "site"))
    return [str(site) for site in sites.to_pylist()]


def referrers_of(referers: pa.Array) -> Referrers:
    """One partition's referrers (``referers``: null where the request had none)."""
    encoded = pc.dictionary_encode(pc.cast(referers, pa.large_string()))
    valid = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False)[valid], dtype=np.int64)
    urls = encoded.dictionary
    per_url = np.bincount(codes, minlength=len(urls)).astype(np.int64)
    site_names, site_of = np.unique(np.asarray(sites_of(urls), dtype=object), return_inverse=True)
    per_site = np.bincount(site_of, weights=per_url, minlength=len(site_names)).astype(np.int64)
    url_index = pd.Index(pd.arrays.ArrowStringArray(urls))
    return Referrers(
        sites=capped_counts(pd.Series(per_site, index=site_names), limits.REFERRER_SITES),
        urls=capped_counts(pd.Series(per_url, index=url_index), limits.REFERRER_URLS),
        direct=int(len(valid) - valid.sum()),
    )


def merge_referrers(parts: Sequence[Referrers]) -> Referrers:
    """The referrers of several partials together."""
    if len(parts) == 1:
        return parts[0]
    return Referrers(
        sites=merge_capped([part.sites for part in parts], limits.REFERRER_SITES),
        urls=merge_capped([part.urls for part in parts], limits.REFERRER_URLS),
        direct=sum(part.direct for part in parts),
    )
