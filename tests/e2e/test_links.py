"""Browser test: a copied link reproduces the whole view in a fresh browser.

A lecturer customises a view with the mouse and keyboard (data set, K, covariance type, seed,
half-step 7, density contours, true components, an inspected point, the Parameters tab),
presses "Copy link", and a student opens the link from the clipboard in a browser of their
own: same status line, same chart data, same display state.

Run with ``python -m pytest tests/e2e/test_links.py -m e2e -q`` (needs Chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from .conftest import BrowserPage, ConsoleLog, app_server_lib
from .test_pages import CLICK_TARGET_JS, assert_healthy, stepper_traces

pytestmark = pytest.mark.e2e


@contextmanager
def clipboard_page(browser: Any, server: Any) -> Iterator[BrowserPage]:
    """A fresh 1280x800 context that may read and write the clipboard (its own session)."""
    context = browser.new_context(
        viewport=app_server_lib.VIEWPORT, permissions=["clipboard-read", "clipboard-write"]
    )
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        console = ConsoleLog()
        page.on("console", console.on_console)
        page.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
        page.on("dialog", console.on_dialog)
        yield BrowserPage(page=page, server=server, console=console)
    finally:
        context.close()


TIMEOUT_MS = 90_000
"""Generous: the test machine may be shared and slow."""


def wait_for_query(page: Any, key: str, value: str | None) -> None:
    """Wait until the address bar says ``key=value`` (None: no ``key``, a display option at
    its default), i.e. the page has applied the change, then until the script has finished."""
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).get(k) === v", arg=[key, value],
        timeout=TIMEOUT_MS,
    )
    app_server_lib.wait_for_idle(page, TIMEOUT_MS)


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the element of a widget key (``em2d.K`` -> st-key-em2d-K)."""
    return ".st-key-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in key)


def set_slider(page: Any, key: str, value: int, lo: int, hi: int) -> None:
    """Click the slider's track where ``value`` lies (as a user would)."""
    track = page.locator(f"{key_class(key)} [data-testid='stSlider'] [role='group'] > div")
    box = track.first.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] * (value - lo) / (hi - lo)
    page.mouse.click(x, box["y"] + box["height"] / 2)


def view_state(page: Any) -> dict[str, Any]:
    """What the view shows: status line, main chart's traces (the inspected point's ring
    among them), display controls, open tab, K."""
    app_server_lib.wait_for_plots(page, 2, TIMEOUT_MS)
    app_server_lib.wait_for_paint(page)
    traces = stepper_traces(page)
    tab = page.locator(f'{key_class("em2d.tab")} [role="tab"][aria-selected="true"]')
    return {
        "status": app_server_lib.status_text(page),
        "traces": traces,
        "contours": page.locator(f"{key_class('em2d.contours')} input").is_checked(),
        "truth": page.locator(f"{key_class('em2d.truth')} input").is_checked(),
        "tab": tab.inner_text().strip(),
        "K": page.locator(f"{key_class('em2d.K')} input[type='range']").input_value(),
    }


def test_a_copied_link_reproduces_the_whole_view(
    browser: Any, app_server: Any, screenshot_dir: Path
) -> None:
    with clipboard_page(browser, app_server) as lecturer:
        page = lecturer.page
        page.goto(app_server.url("/em-2d"), wait_until="domcontentloaded")
        app_server_lib.wait_for_idle(page, TIMEOUT_MS)
        app_server_lib.wait_for_plots(page, 2, TIMEOUT_MS)

        # Data set: Anisotropic (synthetic, so its true components can be revealed).
        # Its drop-down, once drawn: Streamlit loads a select box's script lazily, and the
        # charts (one plotly.js download per page) can be drawn before it has arrived; the
        # element is then a placeholder (stSkeleton) and a click there opens nothing.
        page.locator(key_class("em2d.dataset")).get_by_role("combobox").click()
        page.get_by_role("option", name="Anisotropic (2-D)").click()
        wait_for_query(page, "dataset", "anisotropic")
        # K: one step up from the data set's own K (3).
        set_slider(page, "em2d.K", 4, lo=1, hi=10)
        wait_for_query(page, "K", "4")
        page.locator(key_class("em2d.cov")).get_by_text("diagonal", exact=True).click()
        wait_for_query(page, "cov", "diag")
        seed = page.locator(f"{key_class('em2d.seed')} input")
        seed.fill("11")
        seed.press("Enter")
        wait_for_query(page, "seed", "11")
        # Half-step 7: three iterations (to 6), then an E-step.
        for expected in ("2", "4", "6"):
            page.get_by_role("button", name="Iterate", exact=True).click()
            wait_for_query(page, "step", expected)
        page.get_by_role("button", name="E-step", exact=True).click()
        wait_for_query(page, "step", "7")
        page.locator(key_class("em2d.contours")).get_by_text("Mixture density contours").click()
        wait_for_query(page, "contours", "1")
        page.locator(key_class("em2d.truth")).get_by_text("Reveal the true components").click()
        wait_for_query(page, "truth", "1")
        # Inspect a point by clicking it on the chart (this opens its tab) ...
        app_server_lib.wait_for_plots(page, 2, TIMEOUT_MS)
        app_server_lib.wait_for_paint(page)
        target = page.evaluate(CLICK_TARGET_JS)
        assert target is not None, "no chart with a 'points' trace"
        page.mouse.move(target["x"], target["y"])
        page.wait_for_timeout(200)  # let Plotly register the hover
        page.mouse.click(target["x"], target["y"])
        wait_for_query(page, "inspect", str(target["index"]))
        wait_for_query(page, "tab", "inspect")
        # ... then go back to the Parameters tab.
        page.get_by_role("tab", name="Parameters").click()
        wait_for_query(page, "tab", None)  # the default tab: not written
        before = view_state(page)
        address = page.url
        page.screenshot(path=str(screenshot_dir / "link-customised.png"))

        # Copy link (in the "Share and download" panel) puts the view's link on the clipboard.
        page.get_by_role("button", name="Share and download").click()
        frame = page.frame_locator(f"{key_class('em2d.share')} iframe")
        frame.get_by_role("button", name="Copy link").click()
        frame.get_by_text("Copied").wait_for()
        link = page.evaluate("() => navigator.clipboard.readText()")
        # The link shown for projection (text and QR code) is the same.
        shown = page.locator('[data-testid="stPopoverBody"] code').inner_text()
        assert shown.strip() == link
        assert page.locator('[data-testid="stPopoverBody"] img').count() == 1
        assert_healthy(lecturer)

    assert urlsplit(link).path == urlsplit(address).path == "/em-2d"
    query = dict(parse_qsl(urlsplit(link).query))
    assert query == dict(parse_qsl(urlsplit(address).query))  # the address bar agrees
    assert {k: query.get(k) for k in ("dataset", "K", "cov", "seed", "step", "contours",
                                      "truth", "inspect", "tab")} == {
        "dataset": "anisotropic", "K": "4", "cov": "diag", "seed": "11", "step": "7",
        "contours": "1", "truth": "1", "inspect": str(target["index"]), "tab": None,
    }
    assert before["status"].startswith("Iteration 4 \u00b7 after E-step")
    assert before["traces"]["mixture density"]["visible"] is True
    assert before["traces"]["true components (2\u03c3)"]["visible"] is True

    # A student opens the link in a browser of their own.
    with clipboard_page(browser, app_server) as student:
        student.page.goto(link, wait_until="domcontentloaded")
        app_server_lib.wait_for_idle(student.page, TIMEOUT_MS)
        after = view_state(student.page)
        student.page.screenshot(path=str(screenshot_dir / "link-opened.png"))
        warnings = student.page.locator('[data-testid="stAlertContentWarning"]')
        assert warnings.count() == 0, warnings.all_inner_texts()
        # The inspected point is the lecturer's (its tab shows its numbers).
        student.page.get_by_role("tab", name="Inspect a point").click()
        student.page.locator('[data-testid="stMain"]').get_by_text(
            f"Point #{target['index']} at x"
        ).wait_for()
        assert_healthy(student)
    assert after == before
