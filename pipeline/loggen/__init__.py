"""Deterministic generators of realistic web-request logs (``generate-logs``): a tool, not part of
the ingest job.

The names of the formats live here, free of numpy and pyarrow, so the CLI lists them in its help
without importing the generators.
"""

from typing import Final

#: The web-server formats (:mod:`pipeline.loggen.web`) and the project's own ``default``.
WEB_FORMATS: Final[tuple[str, ...]] = ("default", "common", "combined", "nginx-timed", "json")
#: The cloud, proxy and IIS presets of issue 23 (:mod:`pipeline.loggen.presets`), names as
#: ``ingest --log-format`` reads them.
PRESETS: Final[tuple[str, ...]] = (
    "w3c",
    "cloudfront",
    "alb",
    "elb",
    "gcp",
    "haproxy",
    "squid",
    "envoy",
    "traefik",
    "traefik-json",
    "caddy",
    "logfmt",
    "heroku",
    "ingress-nginx",
    "vcombined",
    "vcommon",
)
#: Every format ``generate-logs --log-format`` writes.
FORMATS: Final[tuple[str, ...]] = (*WEB_FORMATS, *PRESETS)
#: Share of requests written without a response by the presets that can say so (see
#: :mod:`pipeline.loggen.presets`), unless told. Legal range: [0, 1]; 0 writes none.
NO_RESPONSE_RATE: Final[float] = 0.002
