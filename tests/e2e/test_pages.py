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

from .conftest import REPO_ROOT, BrowserPage, app_server_lib, open_page

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
    app_page.goto(spec.path)
    main = page.locator('[data-testid="stMain"]')
    headings = main.locator("h1, h2, h3")
    headings.first.wait_for()
    if spec in STEPPER_PAGES:
        app_server_lib.wait_for_plots(page)
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


# --------------------------------------------------------------------------------------------
# Your data: a real file input, literal names, no sharing between sessions
# --------------------------------------------------------------------------------------------

OLD_FAITHFUL = REPO_ROOT / "gmm_core" / "datasets" / "data" / "old_faithful.csv"
INJECTION_FILE = REPO_ROOT / "tests" / "data" / "upload" / "injection_names.csv"
INJECTION_NAMES = ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))")
ELLIPSE_NAME = re.compile(r"^component \d+, .*\u03c3$")


def main_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def upload(page: Any, files: Path | dict[str, Any]) -> None:
    """Put a file into the page's file uploader (the real <input type=file>) and wait."""
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(files) if isinstance(files, Path) else files
    )
    name = files.name if isinstance(files, Path) else files["name"]
    page.locator('[data-testid="stFileUploaderFileName"]', has_text=name).first.wait_for()
    page.wait_for_timeout(300)
    app_server_lib.wait_for_idle(page)


def use_on_2d_page(page: Any) -> None:
    """Press "Use this data" and get to /em-2d in the same session (no reload: that would be a
    new session), then wait for the stepper chart."""
    page.get_by_role("button", name="Use this data", exact=True).click()
    try:
        page.wait_for_url(re.compile(r"/em-2d(\?|$)"), timeout=10_000)
    except PlaywrightTimeoutError:
        page.locator('[data-testid="stSidebarNav"] a', has_text="EM in 2-D").first.click()
        page.wait_for_url(re.compile(r"/em-2d(\?|$)"))
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page)


def click_stepper(page: Any, label: str) -> str:
    """Click a stepper button, wait for the status line to change and the rerun to end."""
    before = app_server_lib.status_text(page)
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_function(
        "(before) => {" + app_server_lib.SIGNATURE_HELPERS_JS
        + "const s = __gmmStatus(); return s !== null && s !== before; }",
        arg=before,
    )
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page)
    return app_server_lib.status_text(page) or ""


def test_upload_old_faithful_and_fit_it(app_page: BrowserPage, screenshot_dir: Path) -> None:
    """Old Faithful through the real file input, then EM in 2-D: ellipses on the data."""
    page = app_page.page
    app_page.goto("/your-data")
    upload(page, OLD_FAITHFUL)
    text = main_text(page)
    assert "eruptions" in text, "the preview does not show the column 'eruptions'"
    assert "waiting" in text, "the preview does not show the column 'waiting'"
    assert "272" in text, "the preview does not give the row count (272)"

    use_on_2d_page(page)
    assert "old_faithful" in main_text(page), "the 2-D page does not name the uploaded file"
    start_means = app_server_lib.trace_values(page, "means")
    for _ in range(3):
        status = click_stepper(page, "Iterate")
    assert status.startswith("Iteration 3"), status

    ellipses = [
        trace for chart in app_server_lib.chart_signatures(page) for trace in chart["traces"]
        if trace["name"] and ELLIPSE_NAME.match(trace["name"]) and trace["visible"] is True
    ]
    assert ellipses, "no covariance ellipses drawn"
    assert all(trace["n"] > 10 for trace in ellipses)
    means = app_server_lib.trace_values(page, "means")
    assert means is not None
    assert means != start_means, "three iterations did not move the means"
    # Old Faithful: eruptions 1.6 to 5.1 min, waiting 43 to 96 min (the file itself).
    assert all(1.6 <= x <= 5.1 for x in means["x"]), means
    assert all(43 <= y <= 96 for y in means["y"]), means
    page.screenshot(path=str(screenshot_dir / "your-data-old-faithful-em-2d.png"))
    assert_healthy(app_page)


def test_injection_names_render_literally(app_page: BrowserPage, screenshot_dir: Path) -> None:
    """Column names that are HTML or Markdown show as text: no element, link or dialog."""
    page = app_page.page
    app_page.goto("/your-data")
    upload(page, INJECTION_FILE)
    page.screenshot(path=str(screenshot_dir / "your-data-injection.png"))

    def assert_inert() -> None:
        assert page.locator('img[src="x"]').count() == 0, "a column name became an <img>"
        assert page.locator('a[href^="javascript:"]').count() == 0, "a name became a link"
        dialogs = [e for e in app_page.console.errors if e.startswith("dialog:")]
        assert not dialogs, dialogs

    text = page.locator("body").inner_text()
    for name in INJECTION_NAMES:
        assert name in text, f"{name!r} is not shown literally on /your-data"
    assert_inert()

    use_on_2d_page(page)
    titles = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot .xtitle, "
        ".js-plotly-plot .ytitle')).map((e) => e.textContent)"
    )
    assert set(INJECTION_NAMES) <= set(titles), f"axis titles {titles} are not the literal names"
    assert_inert()
    assert_healthy(app_page)


def test_two_sessions_do_not_share_uploads(browser: Any, app_server: Any) -> None:
    """Session A uploads and uses a file; session B, open at the same time, never sees it."""
    marker = "zq_session_a_only"
    content = f"{marker}_x,{marker}_y\n" + "".join(
        f"{i * 0.37 % 5:.3f},{i * 1.91 % 7:.3f}\n" for i in range(60)
    )
    upload_a = {"name": f"{marker}.csv", "mimeType": "text/csv", "buffer": content.encode()}
    with open_page(browser, app_server) as a, open_page(browser, app_server) as b:
        b.goto("/em-2d")
        a.goto("/your-data")
        upload(a.page, upload_a)
        assert marker in main_text(a.page)
        use_on_2d_page(a.page)
        assert marker in main_text(a.page), "A's own 2-D page does not show A's data"

        # B, already open, reruns (a step) and then visits every page.
        click_stepper(b.page, "E-step")
        assert marker not in b.page.locator("body").inner_text()
        for path in ("/your-data", "/em-2d", "/em-1d"):
            b.page.locator('[data-testid="stSidebarNav"] a[href$="' + path + '"]').first.click()
            b.page.wait_for_url(re.compile(re.escape(path) + r"(\?|$)"))
            app_server_lib.wait_for_idle(b.page)
            assert marker not in b.page.locator("body").inner_text(), f"B sees A's data on {path}"
        # A fresh session C, opened after A's upload, does not either.
        with open_page(browser, app_server) as c:
            c.goto("/em-2d")
            app_server_lib.wait_for_plots(c.page)
            assert marker not in c.page.locator("body").inner_text()
        assert_healthy(a)
        assert_healthy(b)
