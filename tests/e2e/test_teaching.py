"""Browser tests of the teaching tools: keys, presenter view (bounding boxes), lessons.

Run with ``python -m pytest tests/e2e/test_teaching.py -q`` (needs Chromium; see conftest).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import BrowserPage, app_server_lib
from .test_pages import assert_healthy

pytestmark = pytest.mark.e2e

SMALL_2D = "dataset=blobs&d.n_samples=300&K=3&seed=0"


def status(page: Any) -> str:
    return page.evaluate(app_server_lib.STATUS_JS) or ""


def press(page: Any, key: str, expect: re.Pattern[str], before: str | None = None) -> str:
    """Press ``key`` with the focus on the page body; wait for a status line matching
    ``expect`` (and different from ``before`` if given)."""
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press(key)
    page.wait_for_function(
        "([pattern, before]) => {" + app_server_lib.SIGNATURE_HELPERS_JS
        + "const s = __gmmStatus(); return s !== null && new RegExp(pattern).test(s)"
        " && (before === null || s !== before); }",
        arg=[expect.pattern, before],
        timeout=20_000,
    )
    app_server_lib.wait_for_idle(page)
    return status(page)


def primary_buttons(page: Any) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll(
             '[data-testid="stMain"] [data-testid="stBaseButton-primary"]'))
             .map((b) => b.innerText.trim())"""
    )


def test_keys_step_the_run_with_the_focus_on_the_page(app_page: BrowserPage) -> None:
    """E, M, ←, →, Space (twice) and R, pressed with the focus on the page body, move the
    run as the buttons do; the next half-step's button is the highlighted one; ? lists
    the keys."""
    page = app_page.page
    app_page.goto(f"/em-2d?{SMALL_2D}")
    app_server_lib.wait_for_plots(page, 2)
    start = status(page)
    assert start.startswith("Start (iteration 0)"), start
    assert primary_buttons(page) == ["E-step"]

    after_e = press(page, "e", re.compile(r"^Iteration 1 \u00b7 after E-step"))
    assert primary_buttons(page) == ["M-step"]
    after_m = press(page, "m", re.compile(r"^Iteration 1 \u00b7 after M-step"))
    assert primary_buttons(page) == ["E-step"]
    back = press(page, "ArrowLeft", re.compile(r"^Iteration 1 \u00b7 after E-step"))
    assert back == after_e
    forward = press(page, "ArrowRight", re.compile(r"^Iteration 1 \u00b7 after M-step"))
    assert forward == after_m

    # Space plays (the status moves on by itself), Space again pauses.
    press(page, " ", re.compile(r"^Iteration [2-9]|^Iteration \d\d"), before=after_m)
    page.get_by_role("button", name="Pause", exact=True).wait_for()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(" ")
    page.get_by_role("button", name="Play", exact=True).wait_for(timeout=20_000)
    app_server_lib.wait_for_idle(page)
    paused = status(page)
    page.wait_for_timeout(1200)
    assert status(page) == paused, "Play did not stop on Space"

    reset = press(page, "r", re.compile(r"^Start \(iteration 0\)"))
    assert reset == start

    page.keyboard.press("?")
    overlay = page.locator("#gmm-keyboard-help")
    overlay.wait_for()
    assert "Space" in overlay.inner_text()
    assert "Reset" in overlay.inner_text()
    page.keyboard.press("Escape")
    overlay.wait_for(state="detached")

    # Keys typed into a text box are text, not shortcuts.
    box = page.locator('[data-testid="stSidebar"] input[aria-label="Seed"]')
    box.click()
    box.press("e")
    page.wait_for_timeout(500)
    assert status(page) == start
    assert_healthy(app_page)
