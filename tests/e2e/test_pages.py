"""Browser tests: every page opens by its deep link, and E-step / M-step change the chart.

Run with ``python -m pytest tests/e2e -m e2e -q`` (needs Chromium; see ``conftest.py``).
Screenshots go to ``artifacts/screenshots/<page>.png`` at 1280x800.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from .conftest import BrowserPage, app_server_lib

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # the fixtures skip (or fail under CI) without Playwright
    PlaywrightTimeoutError = TimeoutError

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class PageSpec:
    """What one page must show when opened directly."""

    slug: str  # screenshot name
    path: str  # URL path (stable: links and tests use it)
    nav_title: str  # its title in the sidebar navigation
    heading: re.Pattern[str]  # its own heading


PAGES = (
    PageSpec("home", "/", "Home", re.compile(r"mixture", re.IGNORECASE)),
    PageSpec("em-1d", "/em-1d", "EM in 1-D", re.compile(r"\b1-?D\b", re.IGNORECASE)),
    PageSpec("em-2d", "/em-2d", "EM in 2-D", re.compile(r"\b2-?D\b", re.IGNORECASE)),
    PageSpec("your-data", "/your-data", "Your data", re.compile(r"your.*data", re.IGNORECASE)),
)
STEPPER_PAGES = tuple(p for p in PAGES if p.slug in ("em-1d", "em-2d"))

RAW_NAV_NAMES = (
    "app",
    "app.py",
    "home",
    "em-1d",
    "em-2d",
    "your-data",
    "your data",
    "em 1d",
    "em 2d",
    "home.py",
    "em-1d.py",
    "em-2d.py",
    "your-data.py",
)
"""What Streamlit's old pages-directory mode would list instead of the titles."""

HARMLESS_CONSOLE_ERRORS: dict[str, str] = {
    r"^console\.error: Failed to load resource: the server responded with a status of 404 "
    r"\(Not Found\) @ http://127\.0\.0\.1:\d+/[\w-]+/_stcore/(health|host-config)$": (
        "On a deep link (/em-2d) Streamlit's frontend first probes <path>/_stcore/health and "
        "host-config, gets 404, then falls back to the server root; the app is unaffected."
    ),
}
"""Console errors that are known and harmless, each with the reason (regex -> reason)."""


def assert_healthy(app_page: BrowserPage) -> None:
    """No exception box in the page and no unexpected console error, page error or dialog."""
    page = app_page.page
    exceptions = page.locator(app_server_lib.EXCEPTION_SELECTOR)
    assert exceptions.count() == 0, "stException in the page:\n" + "\n".join(
        exceptions.all_inner_texts()
    )
    unexpected = app_page.console.unexpected(HARMLESS_CONSOLE_ERRORS)
    assert not unexpected, "unexpected console errors:\n" + "\n".join(unexpected)


def nav_links(page: Any) -> list[tuple[str, str]]:
    """(label, href) of every link in the sidebar navigation (the label without its icon)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a'))
            .map((a) => {
              const label = a.querySelector('[data-testid="stMarkdownContainer"]') || a;
              return [label.innerText.trim(), a.getAttribute('href') || ''];
            })"""
    )


@pytest.mark.parametrize("spec", PAGES, ids=[p.slug for p in PAGES])
def test_deep_link_opens_the_page(
    fresh_app_page: BrowserPage, spec: PageSpec, screenshot_dir: Path
) -> None:
    """The first visitor of a fresh server opens the path directly (a shared link) and sees
    that page, the navigation by page titles, and no error."""
    app_page = fresh_app_page
    page = app_page.page
    plotly_downloads: list[str] = []
    page.on("request", lambda request: plotly_downloads.append(urlparse(request.url).path)
            if urlparse(request.url).path.endswith(("/plotly.min.js", "/plotly.min.js.gz"))
            else None)
    app_page.goto(spec.path)
    main = page.locator('[data-testid="stMain"]')
    headings = main.locator("h1, h2, h3")
    headings.first.wait_for()
    if spec in STEPPER_PAGES:
        app_server_lib.wait_for_plots(page, 2)  # the stepper chart and the log-likelihood
        # One download of plotly.js (4.8 MB) for the page: its preload frame and both chart
        # frames load the same copy (issue 11; each frame fetched its own before). It is the
        # gzip copy (1.5 MB), which the server sends as it is, not gzipped on every request.
        assert len(plotly_downloads) == 1, plotly_downloads
        assert plotly_downloads[0].endswith("/plotly.min.js.gz"), plotly_downloads
    app_server_lib.wait_for_paint(page)
    page.screenshot(path=str(screenshot_dir / f"{spec.slug}.png"))

    heading_texts = [t.strip() for t in headings.all_inner_texts()]
    assert any(spec.heading.search(t) for t in heading_texts), (
        f"{spec.path}: no heading matching {spec.heading.pattern!r}; headings: {heading_texts}"
    )
    assert "Page not found" not in main.inner_text()
    assert "Page not found" not in page.locator("body").inner_text()

    links = nav_links(page)
    texts = [text for text, _ in links]
    raw = [t for t in texts if t in RAW_NAV_NAMES or t.endswith(".py")]
    assert not raw, (
        f"navigation lists raw file names {raw} (Streamlit's old pages-directory mode); "
        f"all links: {texts}"
    )
    for other in PAGES:
        paths = [urlparse(href).path.rstrip("/") for text, href in links if text == other.nav_title]
        assert paths, f"navigation lacks {other.nav_title!r}; it lists {texts}"
        assert other.path.rstrip("/") in paths, (
            f"{other.nav_title!r} links to {paths}, not to {other.path}"
        )
    assert_healthy(app_page)


# --------------------------------------------------------------------------------------------
# E-step and M-step in the browser
# --------------------------------------------------------------------------------------------

STEPPER_TRACES = {
    # page slug -> names of the traces drawing the Gaussians (they move only in an M-step)
    "em-1d": re.compile(r"^(\u03c0\d+\u00b7N\(.*\)|mixture density)$"),
    "em-2d": re.compile(r"^(component \d+, .*\u03c3|means)$"),
}
POINTS_TRACE = "points"


def stepper_traces(page: Any) -> dict[str, dict[str, Any]]:
    """Signatures of the stepper chart's traces by name (the chart that has a "points" trace)."""
    charts = app_server_lib.chart_signatures(page)
    for chart in charts:
        names = [trace["name"] for trace in chart["traces"]]
        if POINTS_TRACE in names:
            assert len(set(names)) == len(names), f"trace names are not unique: {names}"
            return {trace["name"]: trace for trace in chart["traces"]}
    raise AssertionError(
        f"no chart with a {POINTS_TRACE!r} trace; charts: "
        f"{[[t['name'] for t in c['traces']] for c in charts]}"
    )


def click_and_settle(
    page: Any, label: str, before: dict[str, dict[str, Any]], what: str
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Click a stepper button; wait until the status line changed, the rerun ended and the
    stepper chart's ``what`` ("color" or "coords" of some trace) differs from ``before``.

    Returns the new status line and trace signatures (the caller asserts on them: a chart that
    never changes only costs the bounded wait, then fails the assertion with the details).
    """
    status_before = app_server_lib.status_text(page)
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_function(
        "(before) => {"
        + app_server_lib.SIGNATURE_HELPERS_JS
        + "const s = __gmmStatus(); return s !== null && s !== before; }",
        arg=status_before,
    )
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page)
    fingerprint = {name: trace[what] for name, trace in before.items()}
    try:
        page.wait_for_function(
            "([names, what, before]) => {"
            + app_server_lib.SIGNATURE_HELPERS_JS
            + """
              for (const gd of __gmmCharts()) {
                const traces = __gmmChartSig(gd).traces;
                if (!traces.some((t) => t.name === names)) continue;
                return traces.some((t) => t.name in before && t[what] !== before[t.name]);
              }
              return false;
            }""",
            arg=[POINTS_TRACE, what, fingerprint],
            timeout=10_000,
        )
    except PlaywrightTimeoutError:
        pass  # reported by the caller's assertions, with the details
    app_server_lib.wait_for_paint(page)
    return app_server_lib.status_text(page) or "", stepper_traces(page)


@pytest.mark.parametrize("spec", STEPPER_PAGES, ids=[p.slug for p in STEPPER_PAGES])
def test_e_step_recolours_and_m_step_moves(
    app_page: BrowserPage, spec: PageSpec, screenshot_dir: Path
) -> None:
    """E-step recolours the points and leaves the Gaussians; M-step moves the Gaussians and
    leaves the colours; the status line follows; no error anywhere."""
    page = app_page.page
    app_page.goto(spec.path)
    app_server_lib.wait_for_plots(page)
    gaussian = STEPPER_TRACES[spec.slug]

    start_status = app_server_lib.status_text(page)
    assert start_status, "no status line ('Start (iteration 0) · ...' / 'Iteration n · ...')"
    start = stepper_traces(page)
    gaussian_names = [name for name in start if gaussian.match(name)]
    assert gaussian_names, f"no Gaussian traces matching {gaussian.pattern!r} in {list(start)}"

    e_status, after_e = click_and_settle(page, "E-step", start, "color")
    assert e_status != start_status
    assert "after E-step" in e_status, e_status
    assert after_e[POINTS_TRACE]["color"] != start[POINTS_TRACE]["color"], (
        "E-step did not recolour the points"
    )
    assert after_e[POINTS_TRACE]["coords"] == start[POINTS_TRACE]["coords"]
    moved = [n for n in gaussian_names if after_e[n]["coords"] != start[n]["coords"]]
    assert not moved, f"E-step moved Gaussian traces {moved}; only the M-step may"

    m_status, after_m = click_and_settle(page, "M-step", after_e, "coords")
    assert m_status != e_status
    assert "after M-step" in m_status, m_status
    moved = [n for n in gaussian_names if after_m[n]["coords"] != after_e[n]["coords"]]
    assert moved, f"M-step moved none of the Gaussian traces {gaussian_names}"
    assert after_m[POINTS_TRACE]["color"] == after_e[POINTS_TRACE]["color"], (
        "M-step recoloured the points; the responsibilities change only in an E-step"
    )

    page.screenshot(path=str(screenshot_dir / f"{spec.slug}-after-m-step.png"))
    assert_healthy(app_page)


CLICK_TARGET_JS = """
() => {
  // Page coordinates of an isolated point of the stepper chart (the "points" trace).
  for (const frame of document.querySelectorAll('[data-testid="stMain"] iframe')) {
    let gd = null;
    try { gd = frame.contentDocument.querySelector('.js-plotly-plot'); } catch (e) { continue; }
    if (!gd || !gd._fullData) continue;
    const trace = gd._fullData.find((t) => t.name === 'points');
    if (!trace) continue;
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = frame.getBoundingClientRect();
    const px = (i) => [box.left + xa._offset + xa.l2p(trace.x[i]),
                       box.top + ya._offset + ya.l2p(trace.y[i])];
    // The point farthest from its nearest neighbour: a click there cannot hit another one.
    let best = 0, bestGap = -1;
    for (let i = 0; i < trace.x.length; i++) {
      const [xi, yi] = px(i);
      let gap = Infinity;
      for (let j = 0; j < trace.x.length; j++) {
        if (j === i) continue;
        const [xj, yj] = px(j);
        gap = Math.min(gap, Math.hypot(xi - xj, yi - yj));
      }
      if (gap > bestGap) { best = i; bestGap = gap; }
    }
    const [x, y] = px(best);
    return { index: best, x, y };
  }
  return null;
}
"""


def test_clicking_a_point_inspects_it(app_page: BrowserPage) -> None:
    """A click on a data point in the chart (drawn in the live_chart iframe) opens the
    "Inspect a point" tab on that point."""
    page = app_page.page
    app_page.goto("/em-2d")
    app_server_lib.wait_for_plots(page)
    app_server_lib.wait_for_paint(page)
    target = page.evaluate(CLICK_TARGET_JS)
    assert target is not None, "no chart with a 'points' trace"
    page.mouse.move(target["x"], target["y"])
    page.wait_for_timeout(200)  # let Plotly register the hover
    page.mouse.click(target["x"], target["y"])
    shown = page.locator('[data-testid="stMain"]').get_by_text(f"Point #{target['index']} at x")
    shown.wait_for(timeout=15_000)
    app_server_lib.wait_for_idle(page)
    assert shown.is_visible()
    assert_healthy(app_page)
