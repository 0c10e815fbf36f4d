"""The traffic mix shared by every generated log format: weighted tables and the weighted draw.

Weights are relative (normalised when drawn) and were chosen to look like a busy public site with
an API: mostly ``GET`` and ``200``, a few percent of redirects and client errors, a thin tail of
server errors and custom methods (``PURGE``). Paths get Zipf-like popularity from their order.
The order of every table is part of the generator's output: changing it changes the bytes that a
seed produces (the benchmarks cache their inputs by line count).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

IntArray = np.ndarray[Any, np.dtype[np.int64]]

METHODS: Final = (
    ("GET", 0.62),
    ("POST", 0.2),
    ("PUT", 0.06),
    ("DELETE", 0.04),
    ("PATCH", 0.03),
    ("HEAD", 0.03),
    ("OPTIONS", 0.015),
    ("PURGE", 0.005),
)
STATUSES: Final = (
    (200, 0.70),
    (201, 0.04),
    (204, 0.03),
    (101, 0.002),
    (301, 0.02),
    (302, 0.03),
    (304, 0.05),
    (400, 0.02),
    (401, 0.015),
    (403, 0.01),
    (404, 0.05),
    (429, 0.005),
    (500, 0.015),
    (502, 0.007),
    (503, 0.006),
)
PATHS: Final = (
    "/",
    "/index.html",
    "/login",
    "/logout",
    "/search",
    "/api/v1/items",
    "/api/v1/items/42",
    "/api/v1/users",
    "/api/v1/users/me",
    "/api/v1/orders",
    "/api/v1/orders/1001",
    "/api/v2/health",
    "/static/app.js",
    "/static/app.css",
    "/static/logo.png",
    "/favicon.ico",
    "/robots.txt",
    "/docs/getting-started",
    "/docs/api",
    "/cart",
    "/checkout",
    "/admin",
    "/metrics",
    "/graphql",
)


def pick(rng: np.random.Generator, table: tuple[tuple[object, float], ...], size: int) -> IntArray:
    """Indices into ``table`` drawn with its weights."""
    weights = np.array([weight for _, weight in table])
    return rng.choice(len(table), size=size, p=weights / weights.sum())


def pick_zipf(rng: np.random.Generator, count: int, size: int, exponent: float = 1.0) -> IntArray:
    """Indices in ``[0, count)`` with Zipf-like popularity ``1 / (rank ** exponent)``."""
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return rng.choice(count, size=size, p=weights / weights.sum())
