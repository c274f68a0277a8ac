"""Teaching tools of the steppers: keyboard, Play at a chosen speed, presenter view.

* Keys (:mod:`gmm_app.keyboard`): E, M, Space, ←, →, R and ? work wherever the focus is
  (except in a text box); the button of the next half-step is the highlighted one.
* Play at a chosen speed (the declared ``play_speed``, carried by links): the shown
  half-step follows a clock, ``start + floor(elapsed × speed)`` (:func:`play_cursor`), so
  the pace holds when a redraw is slow (a late tick skips drawing a half-step instead of
  slowing down).
* Presenter view (the declared ``presenter``, carried by links): no sidebar, the chart and
  the side panel fill the window and scale with it, large type, thick lines
  (:func:`presenter_css`, :func:`gmm_app.teaching_figures.presenter_figure`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import streamlit as st

from gmm_app import keyboard, state
from gmm_app.widgets import setting_widget

BUTTON_ACTIONS: tuple[str, ...] = ("E", "M", "iterate", "run", "play", "pause", "back", "reset")
"""Keys (actions) of the stepper buttons, as :func:`gmm_app.state.keys` ``.button`` takes them."""
KEYS_HINT = "Keys: E, M, \u2190 \u2192, Space, R \u00b7 ? lists them"


# --------------------------------------------------------------------------- Play
def play_cursor(start: int, elapsed_s: float, speed: float, last: int) -> int:
    """The half-step Play shows ``elapsed_s`` seconds after it started from half-step ``start``.

    ``start + 1 + floor(elapsed_s × speed)``, at most ``last``: the first tick shows the next
    half-step at once, and then the cursor follows the clock, so a slow redraw drops a frame
    rather than the pace. (A millionth of a step is added before the floor, so that a tick
    on time is not lost to rounding.)
    """
    ticks = math.floor(max(elapsed_s, 0.0) * max(speed, 0.0) + 1e-6)
    return min(max(start, 0) + 1 + ticks, last)


def play_interval(speed: float) -> float:
    """Seconds between two reruns of the playing stepper: one per half-step."""
    return 1.0 / max(float(speed), 0.1)


def start_play_clock(page: state.PageRef, cursor: int) -> None:
    """Start (or restart) Play's clock at half-step ``cursor`` now."""
    speed = float(state.view_value(page, "play_speed"))
    state.set_teaching(page, "clock", (int(cursor), time.monotonic(), speed))


def play_tick(page: state.PageRef, cursor: int, last: int) -> int:
    """The half-step to show on this tick of Play (the clock restarts if the speed changed)."""
    speed = float(state.view_value(page, "play_speed"))
    clock = state.get_teaching(page, "clock")
    if clock is None or clock[2] != speed:
        start_play_clock(page, cursor)
        clock = state.get_teaching(page, "clock")
    start, started, _ = clock
    return max(cursor, play_cursor(start, time.monotonic() - started, speed, last))


# --------------------------------------------------------------------------- controls
def render_controls(page: state.PageRef) -> None:
    """The teaching row above the stepper: presenter view, predict first, Play's speed, keys.

    Drawn outside the stepper's fragment: a change reruns the whole page. Also styles the
    page for a projector when the presenter view is on.
    """
    apply_presenter(page)
    with st.container(horizontal=True, gap="medium", vertical_alignment="center"):
        setting_widget(page, "presenter", width="content")
        setting_widget(page, "predict", width="content")
        speed = state.view_value(page, "play_speed")
        with st.popover(f"Play speed: {speed:g}/s", width="content"):
            setting_widget(page, "play_speed")
        st.caption(KEYS_HINT, width="content")
        render_keyboard(page)


def render_keyboard(page: state.PageRef) -> None:
    """The keys of the stepper. Drawn outside the stepper's fragment, with bindings that never
    change (→ presses whichever of E-step / M-step is highlighted): a click does not redraw
    the component (issue 11: every element of the fragment is redrawn on each click)."""
    k = state.keys(page)
    keyboard.keyboard(keyboard.stepper_bindings(k.button), key=k.widget("keyboard"))


# --------------------------------------------------------------------------- presenter view
PRESENTER_FONT = "clamp(17px, 1.12vw, 28px)"
"""Root font size of the presenter view: every rem of the page scales with it (21.5 px on a
1920-pixel-wide screen, 17 px at 1280); the smallest text is 0.95 rem (20.4 px at 1920)."""
PRESENTER_COLUMNS = (0.6, 0.4)
"""Shares of the width of the chart and of the side panel in the presenter view."""
CHART_FIT_BOTTOM = 12
"""Pixels kept free below the chart in the presenter view (it ends above the window's edge)."""


def chart_fit(page: state.PageRef) -> dict[str, float]:
    """How the presenter view sizes the main chart (see :func:`gmm_app.live_chart.live_chart`):
    the 2-D chart at most square, the 1-D one (two panels) at most 0.8 times as tall as wide.
    """
    aspect = 1.0 if state.page_of(page).n_features == 2 else 0.8
    return {"aspect": aspect, "min": 320, "bottom": CHART_FIT_BOTTOM}


def presenter_css() -> str:
    """The presenter view's style sheet (a ``<style>`` element's text)."""
    return f"""
html {{ font-size: {PRESENTER_FONT}; }}
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stHeader"] {{ display: none !important; }}
[data-testid="stMain"] .block-container, [data-testid="stMainBlockContainer"] {{
  max-width: 100% !important; padding: 0.6rem 1.2rem 2rem 1.2rem !important; }}
[data-testid="stMain"] h3 {{ font-size: 1.35rem; padding: 0.2rem 0; }}
[data-testid="stMain"] h5 {{ font-size: 1.2rem; padding: 0.1rem 0; }}
[data-testid="stMain"] .katex-display {{ font-size: 0.92rem; }}
[data-testid="stMain"] :is(p, td, th, label, button, [data-testid="stCaptionContainer"]) {{
  font-size: max(0.95rem, 1em); }}
[data-testid="stMain"] [data-testid="stTable"] td,
[data-testid="stMain"] [data-testid="stTable"] th {{ white-space: nowrap; }}
"""


FORMULA_CSS = """
[data-testid="stMain"] .katex-display > .katex { font-size: 1em; }
"""
"""Every view: displayed formulas at the text's size (KaTeX's own 1.21 em cut the E-step's
γ formula of "Inspect a point" in the 330-pixel side panel)."""


def apply_presenter(page: state.PageRef) -> bool:
    """Style the page for a projector if the presenter view is on; returns whether it is."""
    on = bool(state.view_value(page, "presenter"))
    st.html(f"<style>{FORMULA_CSS}{presenter_css() if on else ''}</style>")
    return on


def next_button(phases: Sequence[str], cursor: int) -> str:
    """The stepper button of the next half-step ("E" or "M"): the highlighted one."""
    return keyboard.next_half_step(phases, cursor)
