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
    # On a cold server the charts (plotly.js preloaded, see live_chart.preload_plotly) can be
    # drawn before the buttons' own script has arrived: wait for the highlighted button.
    page.locator('[data-testid="stMain"] [data-testid="stBaseButton-primary"]').first.wait_for()
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


# --------------------------------------------------------------------------------------------
# Presenter view: bounding boxes at 1280x800 and 1920x1080
# --------------------------------------------------------------------------------------------

LAYOUT_JS = r"""
() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const main = document.querySelector('[data-testid="stMain"]');
  const problems = [];
  const box = (el) => el.getBoundingClientRect();
  const name = (el) => (el.getAttribute('data-testid') || el.className || el.tagName)
    .toString().slice(0, 60) + ' "' + (el.innerText || '').slice(0, 40).replace(/\n/g, ' ') + '"';
  if (document.documentElement.scrollWidth > vw + 1) {
    problems.push('page wider than the viewport: ' + document.documentElement.scrollWidth);
  }
  // Every element box of the page inside its block and inside the viewport's width.
  for (const el of main.querySelectorAll('[data-testid="stElementContainer"]')) {
    const r = box(el);
    if (r.width === 0 || r.height === 0) continue;
    const block = el.parentElement.closest('[data-testid="stVerticalBlock"], '
      + '[data-testid="stHorizontalBlock"], [data-testid="stColumn"]');
    if (r.left < -1 || r.right > vw + 1) problems.push('outside the viewport: ' + name(el));
    if (block) {
      const b = box(block);
      if (r.left < b.left - 1 || r.right > b.right + 1) {
        problems.push('wider than its block: ' + name(el) + ' ' + Math.round(r.right)
          + ' > ' + Math.round(b.right));
      }
    }
  }
  // Content cut inside its own element: formulas, tables, markdown, buttons.
  const cut = main.querySelectorAll('.katex-display, [data-testid="stTable"], '
    + '[data-testid="stMarkdownContainer"], [data-testid="stBaseButton-primary"], '
    + '[data-testid="stBaseButton-secondary"]');
  for (const el of cut) {
    if (el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push('content cut: ' + name(el) + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
    }
    const inner = el.classList.contains('katex-display') ? el.querySelector('.katex') : null;
    if (inner && box(inner).right > box(el).right + 1) problems.push('formula cut: ' + name(el));
  }
  const frame = main.querySelector('.st-key-em2d-chart iframe, .st-key-em1d-chart iframe');
  const formula = Array.from(main.querySelectorAll('.katex-display')).find(
    (el) => el.getClientRects().length > 0);
  const status = Array.from(main.querySelectorAll('h5')).find(
    (h) => /Start \(iteration 0\)|Iteration \d+/.test(h.innerText));
  const rect = (el) => { if (!el) return null; const r = box(el);
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  return {
    problems, vw, vh,
    chart: rect(frame), formula: rect(formula), status: rect(status),
    statusFont: status ? parseFloat(getComputedStyle(status).fontSize) : 0,
    textFont: Math.min(...Array.from(main.querySelectorAll(
      'p, td, th, label, button, [data-testid="stCaptionContainer"]'))
      .filter((el) => el.getClientRects().length > 0 && (el.innerText || '').trim())
      .map((el) => parseFloat(getComputedStyle(el).fontSize))),
    sidebar: (() => { const s = document.querySelector('[data-testid="stSidebar"]');
      return s ? box(s).width : 0; })(),
  };
}
"""

ELLIPSES_JS = r"""
() => {
  // Every 2-sigma ellipse of the stepper chart inside its plot area (axis ranges).
  for (const frame of document.querySelectorAll('[data-testid="stMain"] iframe')) {
    let gd = null;
    try { gd = frame.contentDocument.querySelector('.js-plotly-plot'); } catch (e) { continue; }
    if (!gd || !gd._fullData || !gd._fullData.some((t) => t.name === 'points')) continue;
    const [x0, x1] = gd._fullLayout.xaxis.range, [y0, y1] = gd._fullLayout.yaxis.range;
    const out = [];
    let n = 0;
    for (const t of gd._fullData) {
      if (!/2\u03c3/.test(t.name || '') || t.visible === false || !t.x) continue;
      n += 1;
      for (let i = 0; i < t.x.length; i++) {
        const x = t.x[i], y = t.y[i];
        if (x === null || y === null || Number.isNaN(x)) continue;
        if (x < x0 || x > x1 || y < y0 || y > y1) { out.push(t.name); break; }
      }
    }
    return { n, outside: out };
  }
  return null;
}
"""

STEPPER_PATHS = {"em-1d": "dataset=two_gaussians_1d&d.n_samples=300&K=2&seed=0",
                 "em-2d": "dataset=blobs&d.n_samples=300&K=3&seed=0"}


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
@pytest.mark.parametrize("presenter", [True, False], ids=["presenter", "normal"])
@pytest.mark.parametrize("path", ["em-2d", "em-1d"])
def test_presenter_view_fits_the_screen(
    browser: Any, app_server: Any, screenshot_dir: Any, path: str, presenter: bool,
    viewport: tuple[int, int],
) -> None:
    """No element overflows its block or the viewport; the chart, the status line and an
    inspected point's E-step formula are on the screen (presenter view: without scrolling;
    normal view: each fits the screen once scrolled to); every 2σ ellipse is inside the plot;
    the presenter view has no sidebar and large type."""
    from .conftest import open_page

    width, height = viewport
    with open_page(browser, app_server) as app_page:
        page = app_page.page
        page.set_viewport_size({"width": width, "height": height})
        query = f"{STEPPER_PATHS[path]}&inspect=5&tab=inspect&present={int(presenter)}"
        app_page.goto(f"/{path}?{query}")
        app_server_lib.wait_for_plots(page, 2)
        app_server_lib.wait_for_paint(page)
        page.wait_for_timeout(500)
        shot = f"presenter-{path}-{'on' if presenter else 'off'}-{width}x{height}.png"
        page.screenshot(path=str(screenshot_dir / shot))
        layout = page.evaluate(LAYOUT_JS)
        assert not layout["problems"], "\n".join(layout["problems"])
        for part in ("chart", "formula", "status"):
            assert layout[part] is not None, f"no {part} on the page"
        if presenter:
            assert layout["sidebar"] == 0, "the presenter view shows the sidebar"
            for part in ("chart", "formula", "status"):
                r = layout[part]
                assert r["top"] >= -1, (part, r)
                assert r["bottom"] <= height + 1, (part, r)
            chart_w = layout["chart"]["right"] - layout["chart"]["left"]
            assert chart_w >= 0.5 * width, f"the chart does not scale: {chart_w} of {width}"
            if width >= 1920:
                assert layout["textFont"] >= 20, layout["textFont"]
                assert layout["statusFont"] >= 20, layout["statusFont"]
        else:
            for part in ("chart", "formula"):
                r = layout[part]
                assert r["bottom"] - r["top"] <= height, (part, r)
        if path == "em-2d":
            for turn in range(2):
                ellipses = page.evaluate(ELLIPSES_JS)
                assert ellipses is not None
                assert ellipses["n"] > 0
                assert not ellipses["outside"], ellipses
                if turn:
                    break
                before = status(page)
                page.get_by_role("button", name="Run to convergence", exact=True).click()
                page.wait_for_function(
                    "(before) => {" + app_server_lib.SIGNATURE_HELPERS_JS
                    + "const s = __gmmStatus(); return s !== null && s !== before; }",
                    arg=before)
                app_server_lib.wait_for_idle(page)
                app_server_lib.wait_for_plots(page, 2)
        assert_healthy(app_page)


# --------------------------------------------------------------------------------------------
# Lessons: each opens from its link on a fresh server
# --------------------------------------------------------------------------------------------


def _lesson_links() -> list[tuple[str, str]]:
    from gmm_app import lessons

    return [(lesson.id, lessons.lesson_link(lesson.links[0][1])) for lesson in lessons.lessons()]


@pytest.mark.parametrize(("lesson", "link"), _lesson_links(), ids=[i for i, _ in _lesson_links()])
def test_each_lesson_opens_from_its_link_on_a_fresh_server(
    fresh_app_page: BrowserPage, screenshot_dir: Any, lesson: str, link: str
) -> None:
    page = fresh_app_page.page
    fresh_app_page.goto(link)
    if link.startswith("/em-"):
        app_server_lib.wait_for_plots(page, 2)
        assert status(page).startswith("Start (iteration 0)")
        assert "were not used" not in page.locator('[data-testid="stMain"]').inner_text()
        assert page.locator('[data-testid="stAlert"]').count() == 0
    else:
        headings = '[data-testid="stMain"] :is(h1, h2, h3)'
        page.locator(headings).first.wait_for(timeout=120_000)
        app_server_lib.wait_for_idle(page, 120_000)  # the model pages fit many models
    app_server_lib.wait_for_paint(page)
    page.screenshot(path=str(screenshot_dir / f"lesson-{lesson}.png"))
    assert_healthy(fresh_app_page)


def test_the_lessons_page_links_open_the_lessons(app_page: BrowserPage,
                                                 screenshot_dir: Any) -> None:
    page = app_page.page
    app_page.goto("/lessons")
    app_server_lib.wait_for_plots(page, 1)  # the textbook figure
    app_server_lib.wait_for_paint(page)
    page.screenshot(path=str(screenshot_dir / "lessons.png"), full_page=True)
    hrefs = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stMain"] a')).map((a) => a.getAttribute('href'))""")
    for _, link in _lesson_links():
        assert any(h and h.endswith(link) for h in hrefs), link
    assert_healthy(app_page)


# --------------------------------------------------------------------------------------------
# Predict, then reveal
# --------------------------------------------------------------------------------------------


def click_one_guess(page: Any) -> None:
    """Click the chart's click target once (a point, or where a mean goes) and wait until the
    round counts the guess."""
    from .test_pages import CLICK_TARGET_JS

    target = page.evaluate(CLICK_TARGET_JS)
    assert target is not None
    page.mouse.move(target["x"], target["y"])
    page.wait_for_timeout(200)
    page.mouse.click(target["x"], target["y"])
    page.get_by_text("Guessed so far: 1").wait_for(timeout=20_000)
    app_server_lib.wait_for_idle(page)


def test_predict_round_with_clicks_on_the_chart(app_page: BrowserPage, screenshot_dir: Any) -> None:
    """With 'predict first', M hides the M-step; clicks on the chart place guessed means;
    Reveal shows the M-step, the guess beside the truth and a score."""
    page = app_page.page
    app_page.goto(f"/em-2d?{SMALL_2D}&predict=1")
    app_server_lib.wait_for_plots(page, 2)
    page.locator('[data-testid="stMain"] [data-testid="stBaseButton-primary"]').first.wait_for()
    press(page, "e", re.compile(r"after E-step"))  # the first E-step: no guess (all grey)
    page.get_by_text("nothing to guess at the first E-step").wait_for()
    app_server_lib.wait_for_idle(page)
    assert "after E-step" in status(page)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("m")
    page.get_by_text("where will each mean move").wait_for()
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page, 2)
    click_one_guess(page)
    assert "after E-step" in status(page)  # still hidden
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text("away from the true new means").wait_for()
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page, 2)
    app_server_lib.wait_for_paint(page)
    assert "after M-step" in status(page)
    page.screenshot(path=str(screenshot_dir / "predict-reveal-em-2d.png"))
    # E-step: a click on a point picks it ("will change colour"); Reveal says how many of
    # the points that changed were found and how many picks changed.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("e")
    page.get_by_text("which points will change colour").wait_for()
    app_server_lib.wait_for_idle(page)
    app_server_lib.wait_for_plots(page, 2)
    click_one_guess(page)
    assert "after M-step" in status(page)  # still hidden
    page.get_by_role("button", name="Reveal", exact=True).click()
    page.get_by_text(re.compile(r"of your 1 pick changed\.|your 1 pick was wrong\.")).wait_for()
    app_server_lib.wait_for_idle(page)
    assert "after E-step" in status(page)
    assert_healthy(app_page)
