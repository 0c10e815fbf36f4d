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

#: Referers of the web formats (empty: none, written as each format writes it).
REFERERS: Final = (
    ("", 0.55),
    ("https://www.google.com/", 0.15),
    ("https://duckduckgo.com/", 0.05),
    ("https://www.bing.com/", 0.03),
    ("https://example.com/", 0.1),
    ("https://example.com/docs/api", 0.05),
    ("https://example.com/search?q=caf%C3%A9", 0.04),
    ("https://t.co/x7Ab2kQ", 0.02),
    ("android-app://com.google.android.gm/", 0.01),
)
#: User agents of the web formats (empty: none; one holds a `"` that formats must escape).
AGENTS: Final = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        0.3,
    ),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", 0.12),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        0.14,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        0.08,
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 0.06),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 0.03),
    ("curl/8.5.0", 0.07),
    ("python-requests/2.32.3", 0.06),
    ("Go-http-client/1.1", 0.03),
    ("Wget/1.21.4", 0.02),
    ("PostmanRuntime/7.39.0", 0.01),
    ("kube-probe/1.30", 0.02),
    ("", 0.03),
    ('Mozilla/5.0 (compatible; "quoted" scanner/1.0)', 0.002),
)


def pick(rng: np.random.Generator, table: tuple[tuple[object, float], ...], size: int) -> IntArray:
    """Indices into ``table`` drawn with its weights."""
    weights = np.array([weight for _, weight in table])
    return rng.choice(len(table), size=size, p=weights / weights.sum())


def pick_zipf(rng: np.random.Generator, count: int, size: int, exponent: float = 1.0) -> IntArray:
    """Indices in ``[0, count)`` with Zipf-like popularity ``1 / (rank ** exponent)``."""
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return rng.choice(count, size=size, p=weights / weights.sum())
