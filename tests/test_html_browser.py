"""The HTML reports opened in a real headless browser (Debian's chromium + chromedriver).

Checks that each page renders: no JavaScript error in the console, every plot present and drawn
(coloured pixels in its screenshot, not an empty frame), the key figures visible in the page
text; and that a log whose agent and path carry markup runs no script and injects no element.
One full-page screenshot per page type is taken; ``UPDATE_SCREENSHOTS=1`` writes them to
``docs/`` (the README shows those), otherwise to the test's temporary directory.

When ``CI=true`` the browser must be there (``.ci/run`` installs it); elsewhere the tests skip
with the reason when chromium or chromedriver is missing.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import REPO_ROOT
from tests.html_pages import (
    XSS_AGENT,
    XSS_PATH,
    write_hostile_log,
    write_ranges,
    write_timed_log,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

#: Plots each page must show (``data-plot`` keys).
INGEST_PLOTS = {
    "latency-histogram",
    "latency-method",
    "latency-class",
    "status-classes",
    "agent-families",
    "timeline-requests",
    "timeline-latency",
}
PRIME_PLOTS = {"density", "counts", "twins-gaps"}

#: Installed the browser but not selenium is a broken environment, not a reason to skip.
_MISSING = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module, with a fresh profile and no network chatter."""
    if _MISSING:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {', '.join(_MISSING)} is missing (.ci/run installs it)")
        pytest.skip(
            f"no browser: {', '.join(_MISSING)} not installed (apt-get install chromium "
            "chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # record alert() calls instead of blocking on them: a payload that runs is seen, not hung on
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "window.__alerts = []; window.alert = function (m) { __alerts.push(m); };"},
    )
    try:
        yield driver
    finally:
        driver.quit()


def _write_page(path: Path, *args: str) -> Path:
    result = CliRunner().invoke(cli, [*args, "--format", "html", "--output", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def _open(driver: Any, page: Path) -> list[dict[str, Any]]:
    """Load a page, wait until Bokeh has drawn every plot; return the console entries."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop entries of the previous page
    driver.get(page.as_uri())
    expected = driver.execute_script("return document.querySelectorAll('[data-plot]').length")
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script(
            "return window.Bokeh !== undefined && Bokeh.documents.length > 0 && "
            "document.querySelectorAll('[data-plot] .bk-Figure, [data-plot] .bk-Plot')"
            ".length >= arguments[0]",
            expected,
        )
    )
    driver.execute_script("return new Promise(r => setTimeout(r, 500))")
    entries: list[dict[str, Any]] = driver.get_log("browser")
    return entries


def _plots(driver: Any) -> dict[str, Any]:
    elements = driver.find_elements("css selector", "[data-plot]")
    return {element.get_attribute("data-plot"): element for element in elements}


def _coloured_pixels(element: Any) -> int:
    """Saturated pixels in a plot's screenshot, toolbar (right edge) cut off: glyphs and legend
    swatches, not the grey/white frame, grid and text."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"))
    pixels = pixels[:, : max(1, pixels.shape[1] - 45)]
    spread = pixels.max(axis=2).astype(int) - pixels.min(axis=2).astype(int)
    return int((spread > 60).sum())


def _screenshot(driver: Any, name: str, tmp_path: Path) -> Path:
    """A full-page screenshot: the window is resized to the page's height first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1200, height + 200)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.execute_script("return new Promise(r => setTimeout(r, 500))")
    folder = REPO_ROOT / "docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    target = folder / f"html-report-{name}.png"
    driver.save_screenshot(str(target))
    driver.set_window_size(1200, 900)
    assert target.stat().st_size > 10_000
    return target


def _errors(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry["level"] == "SEVERE"]


#: Data points per plot, read from the live Bokeh models (glyph renderers' data sources).
_POINTS_JS = """
const out = {};
document.querySelectorAll('[data-plot]').forEach(function (el) {
  const root = el.querySelector('[data-root-id]');
  const model = Bokeh.documents[0].get_model_by_id(root.dataset.rootId);
  out[el.dataset.plot] = model.renderers
    .filter(r => r.data_source !== undefined)
    .map(r => r.data_source.get_length() || 0);
});
return out;
"""


def _check_rendered(driver: Any, entries: list[dict[str, Any]], plots: set[str]) -> None:
    assert _errors(entries) == []
    shown = _plots(driver)
    assert set(shown) == plots
    points = driver.execute_script(_POINTS_JS)
    for key, element in shown.items():
        assert element.size["height"] > 100 and element.size["width"] > 200, key
        assert points[key] and all(n > 0 for n in points[key]), f"plot {key} has no data"
        assert _coloured_pixels(element) > 50, f"plot {key} is drawn empty"
    assert driver.execute_script("return window.__alerts") == []


def test_ingest_page_renders(browser: Any, tmp_path: Path) -> None:
    log = write_timed_log(tmp_path / "access.log")
    page = _write_page(tmp_path / "ingest.html", "ingest", "--path", str(log), "--mode", "sync")
    entries = _open(browser, page)
    _check_rendered(browser, entries, INGEST_PLOTS)
    data = json.loads(
        browser.execute_script("return document.getElementById('report-data').textContent")
    )
    text = browser.find_element("tag name", "body").text
    assert f"{data['requests']['total']:,}" in text
    for heading in ("Summary", "Latency (ms)", "Status", "Top paths", "Timeline (UTC)"):
        assert heading in text
    for entry in data["top_paths"]:
        assert entry["path"] in text
    assert "error rate (5xx)" in text
    _screenshot(browser, "ingest", tmp_path)


def test_prime_page_renders(browser: Any, tmp_path: Path) -> None:
    ranges = write_ranges(tmp_path / "ranges.json")
    page = _write_page(tmp_path / "prime.html", "prime", "--path", str(ranges), "--mode", "sync")
    entries = _open(browser, page)
    _check_rendered(browser, entries, PRIME_PLOTS)
    text = browser.find_element("tag name", "body").text
    data = json.loads(
        browser.execute_script("return document.getElementById('report-data').textContent")
    )
    assert f"{data['total_primes']:,}" in text
    assert "Union of the ranges" in text and "Density against range position" in text
    assert "<i>named</i>" in text  # a range name with markup is shown as text
    _screenshot(browser, "prime", tmp_path)


def test_hostile_log_runs_no_script_and_injects_nothing(browser: Any, tmp_path: Path) -> None:
    log = write_hostile_log(tmp_path / "evil.log")
    page = _write_page(tmp_path / "evil.html", "ingest", "--path", str(log), "--mode", "sync")
    entries = _open(browser, page)
    assert _errors(entries) == []
    assert browser.execute_script("return window.__alerts") == []
    assert browser.execute_script("return document.images.length") == 0
    # every script element is ours: Bokeh's, the plots', the sorter and the JSON data
    scripts = browser.execute_script(
        "return Array.from(document.scripts).map(s => s.textContent.includes('alert('))"
    )
    assert scripts.count(True) <= 1  # only the JSON data block mentions it, as data
    text = browser.find_element("tag name", "body").text
    assert XSS_AGENT in text and XSS_PATH in text
    # hovering is not needed: tooltips carry numbers and fixed labels only (see the page module)
