"""Browser tests of the "Your data" page: a real upload through the file input, stepping EM on
it, downloads, user text shown literally, and no data shared between sessions.

Run with ``python -m pytest tests/e2e/test_your_data.py -m e2e -q`` (needs Chromium; see
``conftest.py``). Screenshots go to ``artifacts/screenshots/your-data-*.png`` at 1280x800.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import BrowserPage, ConsoleLog, app_server_lib, open_page

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
OLD_FAITHFUL = REPO_ROOT / "gmm_core" / "datasets" / "data" / "old_faithful.csv"
INJECTION_CSV = REPO_ROOT / "tests" / "data" / "upload" / "injection_names.csv"
INJECTIONS = ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))")
EVIL_FILE_NAME = "<img src=y onerror=alert(2)>[z](javascript:alert(3)) www.evil.example.csv"

HARMLESS_CONSOLE_ERRORS: dict[str, str] = {
    r"^console\.error: Failed to load resource: the server responded with a status of 404 "
    r"\(Not Found\) @ http://127\.0\.0\.1:\d+/[\w-]+/_stcore/(health|host-config)$": (
        "On a deep link (/your-data) Streamlit's frontend first probes <path>/_stcore/health "
        "and host-config, gets 404, then falls back to the server root; the app is unaffected."
    ),
}
"""Known, harmless console errors (regex -> reason); the same as in ``test_pages.py``."""

ELLIPSE_TRACE = re.compile(r"^component \d+, .*\u03c3$")
MAIN = '[data-testid="stMain"]'
SIDEBAR = '[data-testid="stSidebar"]'


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def assert_healthy(page: Any, console: ConsoleLog) -> None:
    """No exception box, no unexpected console error, no page error and no dialog."""
    exceptions = page.locator(app_server_lib.EXCEPTION_SELECTOR)
    assert exceptions.count() == 0, "stException in the page:\n" + "\n".join(
        exceptions.all_inner_texts()
    )
    dialogs = [e for e in console.errors if e.startswith("dialog:")]
    assert not dialogs, f"a dialog opened: {dialogs}"
    unexpected = console.unexpected(HARMLESS_CONSOLE_ERRORS)
    assert not unexpected, "unexpected console errors:\n" + "\n".join(unexpected)


INJECTED_MARKUP_JS = """() => ({
    imgs: Array.from(document.querySelectorAll('img'))
        .map((i) => i.getAttribute('src') || '')
        .filter((s) => s === 'x' || s === 'y' || s.includes('127.0.0.1:9')),
    links: Array.from(document.querySelectorAll('a'))
        .map((a) => a.getAttribute('href') || '')
        .filter((h) => h.trim().toLowerCase().startsWith('javascript')
                       || h.includes('evil.example')),
    handlers: document.querySelectorAll('[onerror]').length,
})"""


def assert_no_injected_markup(page: Any) -> None:
    """No element that user text could have created, in the page or any of its frames (chart
    components draw in iframes): an image with a bogus source, a link to javascript:, an
    element with an onerror attribute, a link made from "www." in a file name."""
    for frame in page.frames:
        injected = frame.evaluate(INJECTED_MARKUP_JS)
        assert injected == {"imgs": [], "links": [], "handlers": 0}, (frame.url, injected)


def axis_titles(page: Any) -> set[str]:
    """The text of every Plotly axis title, in the page and in its frames."""
    titles: set[str] = set()
    for frame in page.frames:
        titles |= set(
            frame.evaluate(
                "() => Array.from(document.querySelectorAll('.xtitle, .ytitle'))"
                ".map((t) => t.textContent.trim())"
            )
        )
    return titles


def upload(
    app_page: BrowserPage, path: Path | None = None, *, name: str = "", content: bytes = b""
) -> None:
    """Choose a file in the page's real file input and wait for the preview."""
    page = app_page.page
    file_input = page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]')
    if path is not None:
        file_input.set_input_files(str(path))
    else:
        file_input.set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
    page.locator(f'{MAIN} [data-testid="stDataFrame"]').wait_for()
    page.get_by_text(re.compile(r"^Ready: \d")).wait_for()
    app_server_lib.wait_for_idle(page)


def use_this_data(app_page: BrowserPage, path: str, *, chart: bool = True) -> None:
    """Click **Use this data** and wait for the stepper page (and its chart)."""
    page = app_page.page
    page.get_by_role("button", name=re.compile(r"Use this data$")).click()
    page.wait_for_url(re.compile(rf"{re.escape(path)}(\?|$)"))
    page.locator(f"{MAIN} h3").filter(has_text="your data").wait_for()
    app_server_lib.wait_for_idle(page)
    if chart:
        app_server_lib.wait_for_plots(page)


def open_by_navigation(app_page: BrowserPage, title: str) -> None:
    """Follow the sidebar link (same session: a new page load would start a new session)."""
    page = app_page.page
    page.locator(f'{SIDEBAR} [data-testid="stSidebarNav"] a').filter(has_text=title).click()
    page.wait_for_function(
        "(t) => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] h3'))"
        ".some((h) => h.innerText.includes(t))",
        arg=title.split(" \u00b7 ")[0],
    )
    app_server_lib.wait_for_idle(page)


def selectbox_values(page: Any, where: str) -> list[str]:
    """The shown value of every select box in ``where`` (a CSS selector), in page order."""
    return page.locator(f'{where} [data-testid="stSelectbox"] input[role="combobox"]').evaluate_all(
        "(inputs) => inputs.map((i) => i.value)"
    )


def dataset_choice(page: Any) -> str:
    """The value shown in the sidebar's "Data set" select box."""
    return selectbox_values(page, SIDEBAR)[0]


def dataset_options(page: Any) -> list[str]:
    """Open the sidebar's "Data set" select box, read its options, close it."""
    page.locator(f'{SIDEBAR} [data-testid="stSelectbox"] button[aria-label="Open"]').first.click()
    options = page.locator('[role="option"]')
    options.first.wait_for()
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def stepper_traces(page: Any) -> dict[str, dict[str, Any]]:
    """Signatures of the stepper chart's traces by name (the chart with a "points" trace)."""
    for chart in app_server_lib.chart_signatures(page):
        names = [trace["name"] for trace in chart["traces"]]
        if "points" in names:
            return {trace["name"]: trace for trace in chart["traces"]}
    raise AssertionError("no chart with a 'points' trace")


def click_step(page: Any, label: str) -> str:
    """Click a stepper button and wait for the new status line and the redrawn chart."""
    before = app_server_lib.status_text(page)
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_function(
        "(before) => {"
        + app_server_lib.SIGNATURE_HELPERS_JS
        + "const s = __gmmStatus(); return s !== null && s !== before; }",
        arg=before,
    )
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page)
    app_server_lib.wait_for_paint(page)
    return app_server_lib.status_text(page) or ""


def download(page: Any, label: str) -> str:
    """Click a download button and return the downloaded file's text."""
    with page.expect_download() as info:
        page.get_by_role("button", name=re.compile(re.escape(label) + "$")).click()
    path = info.value.path()
    return Path(path).read_text(encoding="utf-8")


@pytest.fixture
def visited_server(browser: Any, app_server: Any) -> Any:
    """The session's server after one visit of "/" in a throwaway context.

    The first visitor of a fresh server meets Streamlit's old pages-directory mode; that case
    has its own test (:func:`test_first_visitor_of_a_fresh_server_can_upload`), so the other
    tests do not depend on which test happens to run first.
    """
    context = browser.new_context(viewport=app_server_lib.VIEWPORT)
    try:
        page = context.new_page()
        page.goto(app_server.url("/"), wait_until="domcontentloaded")
        app_server_lib.wait_for_idle(page)
    finally:
        context.close()
    return app_server


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_first_visitor_of_a_fresh_server_can_upload(fresh_app_page: BrowserPage) -> None:
    """A shared link to /your-data opened first on a fresh server: the upload must work (the
    first run there is in Streamlit's old pages-directory mode)."""
    fresh_app_page.goto("/your-data")
    upload(fresh_app_page, OLD_FAITHFUL)
    assert "272 rows \u00d7 2 columns" in fresh_app_page.page.locator(MAIN).inner_text()
    assert_healthy(fresh_app_page.page, fresh_app_page.console)


def test_upload_old_faithful_step_em_and_download_the_fit(
    visited_server: Any, app_page: BrowserPage, screenshot_dir: Path
) -> None:
    """Upload Old Faithful through the real file input, use it in 2-D, step two iterations
    (ellipses drawn and moving), then download the fit from "Your data"."""
    page = app_page.page
    app_page.goto("/your-data")
    assert "up to 50 MB" in page.locator(MAIN).inner_text()
    upload(app_page, OLD_FAITHFUL)
    main_text = page.locator(MAIN).inner_text()
    assert "272 rows \u00d7 2 columns" in main_text
    assert "separated by commas" in main_text
    page.screenshot(path=str(screenshot_dir / "your-data-preview.png"))

    use_this_data(app_page, "/em-2d")
    assert dataset_choice(page) == "Your data: old_faithful.csv"
    assert "your data \u00b7 N = 272" in page.locator(f"{MAIN} h3").first.inner_text()
    start = stepper_traces(page)
    assert start["points"]["n"] == 272
    ellipses = [name for name in start if ELLIPSE_TRACE.match(name)]
    assert len(ellipses) >= 2, list(start)

    status = ""
    for label in ("E-step", "M-step", "E-step", "M-step"):
        status = click_step(page, label)
    assert status.startswith("Iteration 2 \u00b7 after M-step"), status
    after = stepper_traces(page)
    assert all(after[name]["n"] > 10 for name in ellipses)  # drawn outlines
    moved = [n for n in ellipses if after[n]["coords"] != start[n]["coords"]]
    assert moved, "no ellipse moved in two iterations"
    assert after["points"]["color"] != start["points"]["color"]  # coloured by the E-steps
    page.screenshot(path=str(screenshot_dir / "your-data-em-2d.png"))
    assert_healthy(page, app_page.console)

    open_by_navigation(app_page, "Your data")
    main_text = page.locator(MAIN).inner_text()
    assert "EM in 2-D has your data \u201cold_faithful.csv\u201d: 272 points" in main_text
    assert f"Fit shown on EM in 2-D: {status}" in main_text
    page.screenshot(path=str(screenshot_dir / "your-data-downloads.png"))
    params = json.loads(download(page, "Parameters (JSON)"))
    k = len(params["weights"])
    assert np.isclose(sum(params["weights"]), 1.0)
    assert np.array(params["means"]).shape == (k, 2)
    assert np.array(params["covariances"]).shape == (k, 2, 2)
    assert params["iteration"] == 2
    assert params["settings"]["data"] == "Your data: old_faithful.csv"
    assert params["settings"]["features"] == ["eruptions", "waiting"]
    rows = list(csv.reader(io.StringIO(download(page, "Points and responsibilities (CSV)"))))
    assert rows[0] == ["eruptions", "waiting", *[f"resp_{j + 1}" for j in range(k)], "hard_label"]
    body = np.array(rows[1:], dtype=float)
    assert body.shape == (272, k + 3)
    file_rows = np.loadtxt(OLD_FAITHFUL, delimiter=",", skiprows=1)
    assert np.allclose(body[:, :2], file_rows)
    assert np.allclose(body[:, 2 : 2 + k].sum(axis=1), 1.0)
    assert np.array_equal(body[:, -1], body[:, 2 : 2 + k].argmax(axis=1) + 1)
    assert_healthy(page, app_page.console)


def test_a_file_over_the_upload_limit_is_refused_with_a_message(
    visited_server: Any, app_page: BrowserPage, tmp_path: Path
) -> None:
    """A file just over 50 MB: the uploader refuses it and says why; nothing is read."""
    page = app_page.page
    app_page.goto("/your-data")
    row = b"1.5,2.5\n"
    content = b"x,y\n" + row * ((50 * 1024 * 1024) // len(row) + 1000)
    file_input = page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]')
    big = tmp_path / "big.csv"
    big.write_bytes(content)
    file_input.set_input_files(str(big))
    uploader = page.locator(f'{MAIN} [data-testid="stFileUploader"]')
    uploader.get_by_text(re.compile(r"must be 50(\.0)? ?MB or smaller")).wait_for()
    app_server_lib.wait_for_idle(page)
    assert page.locator(f'{MAIN} [data-testid="stDataFrame"]').count() == 0
    assert "Choose a file" in page.locator(MAIN).inner_text()  # still waiting for a file
    assert_healthy(page, app_page.console)


def test_injection_names_render_literally_and_no_dialog_fires(
    visited_server: Any, app_page: BrowserPage, screenshot_dir: Path
) -> None:
    """Column names and a file name made of HTML and Markdown show as typed, on both pages."""
    page = app_page.page
    header = INJECTION_CSV.read_text(encoding="utf-8").splitlines()[0]
    rng = np.random.default_rng(4)
    rows = [f"{a:.3f},{b:.3f},{'=cmd' if a > 0 else '@x'}" for a, b in rng.normal(size=(60, 2))]
    app_page.goto("/your-data")
    upload(app_page, name=EVIL_FILE_NAME, content="\n".join([header, *rows]).encode())
    main_text = page.locator(MAIN).inner_text()
    for text in INJECTIONS:
        assert f"\u201c{text}\u201d" in main_text  # the "Ready: ..." line, literally
    assert selectbox_values(page, MAIN)[:2] == list(INJECTIONS)  # x and y, as typed
    page.screenshot(path=str(screenshot_dir / "your-data-injection.png"))
    assert_no_injected_markup(page)

    use_this_data(app_page, "/em-2d")
    assert dataset_choice(page) == f"Your data: {EVIL_FILE_NAME}"
    assert set(INJECTIONS) <= axis_titles(page)  # Plotly draws them as typed
    click_step(page, "Iterate")
    app_server_lib.wait_for_paint(page)
    assert_no_injected_markup(page)
    open_by_navigation(app_page, "Your data")
    shown = page.locator(MAIN).inner_text().replace("\u2060", "")  # invisible word joiners
    assert f"has your data \u201c{EVIL_FILE_NAME}\u201d" in shown
    page.wait_for_timeout(500)  # give an injected onerror handler every chance to run
    assert_no_injected_markup(page)
    assert_healthy(page, app_page.console)


def test_two_sessions_never_see_each_others_data(
    visited_server: Any, app_page: BrowserPage, browser: Any
) -> None:
    """A uploads and uses a file; B, in another browser context at the same time, opens
    /em-2d and /your-data and sees neither A's data nor its name."""
    secret_name = "secret-session-A-7f3c.csv"
    rng = np.random.default_rng(11)
    points = np.vstack([rng.normal([9000, 9000], 5, (60, 2)), rng.normal([9050, 9020], 5, (40, 2))])
    content = ("u,v\n" + "\n".join(f"{a:.3f},{b:.3f}" for a, b in points) + "\n").encode()

    page_a = app_page.page
    app_page.goto("/your-data")
    upload(app_page, name=secret_name, content=content)
    use_this_data(app_page, "/em-2d")
    assert dataset_choice(page_a) == f"Your data: {secret_name}"

    # B: a second browser context, so a second Streamlit session, open at the same time.
    with open_page(browser, app_page.server) as browser_b:
        page_b, console_b = browser_b.page, browser_b.console

        browser_b.goto("/em-2d")
        app_server_lib.wait_for_plots(page_b)
        options = dataset_options(page_b)
        assert options
        assert not [o for o in options if o.startswith("Your data")], options
        assert secret_name not in page_b.locator("body").inner_text()
        b_points = stepper_traces(page_b)["points"]
        a_points = stepper_traces(page_a)["points"]
        assert a_points["n"] == 100
        assert b_points["coords"] != a_points["coords"]
        b_x = app_server_lib.trace_values(page_b, "points", "x")
        assert b_x
        assert max(abs(v) for v in b_x) < 1000  # the built-in data, not A's points near 9000

        open_by_navigation(browser_b, "Your data")
        body_b = page_b.locator("body").inner_text()
        assert secret_name not in body_b
        assert "has your data" not in body_b
        assert page_b.locator(f'{MAIN} [data-testid="stDataFrame"]').count() == 0
        assert_healthy(page_b, console_b)

        # A still has its own data after B's visit, and steps on it.
        assert dataset_choice(page_a) == f"Your data: {secret_name}"
        assert click_step(page_a, "E-step").startswith("Iteration 1 \u00b7 after E-step")
        assert stepper_traces(page_a)["points"]["n"] == 100
    assert_healthy(page_a, app_page.console)
