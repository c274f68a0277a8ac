"""Keyboard shortcuts for the steppers: a tiny Streamlit (v1) component without a build step.

The component's iframe has no height. Its script listens for keys on the page around it
(``window.parent.document``, same origin) and on the page's other same-origin iframes (a
click on a chart moves the focus into the chart's iframe), and presses the button bound to
the key: it clicks the Streamlit button whose element carries the class ``st-key-<key>``
(Streamlit gives every keyed element that class). Keys typed into a text or number input,
a text area or a select box are left alone. ``?`` shows an overlay listing the keys.

Nothing here knows what a button does: the stepper passes the bindings
(:func:`stepper_bindings`), so the keys follow the buttons' keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"

_COMPONENT = components.declare_component("keyboard", path=str(FRONTEND_DIR))

HELP_ROWS: tuple[tuple[str, str], ...] = (
    ("E", "E-step: recolour the points (responsibilities)"),
    ("M", "M-step: move the Gaussians"),
    ("\u2192", "forward one half-step (the highlighted button)"),
    ("\u2190", "back one half-step"),
    ("Space", "Play / Pause"),
    ("R", "Reset to the start of the run"),
    ("?", "show or hide this list"),
)
"""The keys and what they do, as the help overlay (and the page's hint) lists them."""


def element_class(key: str) -> str:
    """The CSS class Streamlit gives the element of widget ``key`` (``st-key-<key>``,
    every character other than a letter, digit, ``_`` or ``-`` replaced by ``-``)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def next_half_step(phases: Sequence[str], cursor: int) -> str:
    """The button of the next half-step: "M" after an E-step, else "E".

    Parameters
    ----------
    phases : sequence of {"init", "E", "M"}
        The phase of every half-step of the run.
    cursor : int
        The shown half-step.
    """
    return "M" if phases[cursor] == "E" else "E"


def stepper_bindings(button_key: Any, next_action: str | None = None) -> dict[str, list[str]]:
    """Key -> CSS classes of the buttons it presses (the first one present is pressed).

    Parameters
    ----------
    button_key : callable(str) -> str
        The session key of a stepper button by action (``state.keys(page).button``).
    next_action : {"E", "M"}, optional
        What "forward one half-step" does now (:func:`next_half_step`). Without it, → is
        bound to both the E-step and the M-step button and presses the highlighted one
        (see :data:`PREFER_PRIMARY`): the bindings then never change, so the component
        is drawn once per page instead of on every click.
    """
    def cls(*actions: str) -> list[str]:
        return [element_class(button_key(action)) for action in actions]

    return {
        "e": cls("E"),
        "m": cls("M"),
        "ArrowRight": cls(next_action) if next_action else cls("E", "M"),
        "ArrowLeft": cls("back"),
        "Space": cls("play", "pause"),
        "r": cls("reset"),
    }


PREFER_PRIMARY: tuple[str, ...] = ("ArrowRight",)
"""Keys that press the highlighted (primary) one of their buttons, if one is highlighted."""


def keyboard(bindings: Mapping[str, Sequence[str]], *, key: str,
             prefer_primary: Sequence[str] = PREFER_PRIMARY) -> None:
    """Listen for the keys of ``bindings`` on the whole page (the component draws nothing).

    Parameters
    ----------
    bindings : mapping of str to sequence of str
        Key (``"e"``, ``"ArrowRight"``, ``"Space"``, ... as ``KeyboardEvent.key`` names it,
        letters in lower case) -> CSS classes of the elements whose button it clicks.
    key : str
        The component's key (stable, so the iframe is kept across reruns).
    prefer_primary : sequence of str
        Keys that press the first of their buttons drawn as primary (highlighted), else
        the first one present.
    """
    # The component draws nothing: its element takes no room (its script still runs).
    st.html(f"<style>.{element_class(key)} {{ display: none; }}</style>")
    # One JSON string: Streamlit checks every dict or list argument of a component for a
    # data frame, which imports pandas and pyarrow (0.4 s of a fresh server's first page).
    spec = json.dumps({
        "bindings": {k: list(v) for k, v in bindings.items()},
        "help": [list(row) for row in HELP_ROWS],
        "prefer_primary": list(prefer_primary),
    }, sort_keys=True)
    _COMPONENT(
        spec=spec,
        key=key,
        default=None,
    )
