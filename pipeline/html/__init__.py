"""Self-contained HTML reports (``--format html``): one page per feature, Bokeh inlined.

:mod:`pipeline.html.page` is the shared shell (header, tables, escaping, embedded JSON);
:mod:`pipeline.html.ingest` and :mod:`pipeline.html.prime` build each feature's page.
Bokeh is imported only when a page is rendered.
"""

from __future__ import annotations

from pipeline.html.page import PageContext

__all__ = ["PageContext"]
