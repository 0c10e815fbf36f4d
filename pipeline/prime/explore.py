"""The prime job's task graph, for looking at rather than running (notebooks, the dashboard).

:func:`prime_graph` builds exactly the graph :func:`pipeline.prime.job.run_prime` computes, so a
user can count its tasks, draw it with ``dask.visualize`` or compute parts of it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask

from pipeline.prime.graph import build_graph, plan
from pipeline.prime.ranges import load_ranges
from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE


@dataclass(frozen=True)
class PrimeGraph:
    """The delayed summaries of one ranges file: one per range (input order) and the union."""

    per_range: tuple[Any, ...]
    union: Any
    segments: int

    @property
    def collections(self) -> list[Any]:
        """Every output of the graph, ready for ``dask.compute`` or ``dask.visualize``."""
        return [*self.per_range, self.union]

    @property
    def task_count(self) -> int:
        """Tasks in the merged graph (base primes, segments, reduction trees)."""
        keys: set[Any] = set()
        for item in self.collections:
            keys.update(dict(item.__dask_graph__()))
        return len(keys)

    def visualize(self, filename: str | None = None, **kwargs: Any) -> Any:
        """Draw the graph with ``dask.visualize`` (needs the graphviz package and binary)."""
        return dask.visualize(*self.collections, filename=filename, **kwargs)


def prime_graph(path: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> PrimeGraph:
    """Build (without computing) the delayed graph for the ranges file at ``path``.

    >>> import json, tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     json.dump([[0, 99], [50, 149]], f)
    >>> graph = prime_graph(f.name, segment_size=50)
    >>> graph.segments, graph.task_count
    (3, 7)
    """
    ranges = load_ranges(path)
    job_plan = plan(ranges, segment_size)
    per_range, union = build_graph(ranges, job_plan)
    return PrimeGraph(tuple(per_range), union, len(job_plan.segments))
