"""Widgets drawn from the field table: one call draws a declared setting with its key,
label, range or choices, help and widget kind (:mod:`gmm_app.declared`).

>>> setting_widget("em2d", "n_components")      # the K slider, key "em2d.K"

The widget's value lives in ``st.session_state`` under :func:`gmm_app.state.field_key`;
read it back with :func:`gmm_app.state.read_settings`. Keyword arguments override the
declared ones (e.g. ``label="Variance"`` on the 1-D page, ``on_change=...``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from gmm_app import state
from gmm_app.declared import FIELD, Context, Field

_KEEP = {"persist_state": "session"}  # the value survives page switches


def setting_widget(
    page: state.PageRef, name: str, ctx: Context | None = None, **overrides: Any
) -> Any:
    """Draw the widget of declared field ``name`` on ``page``; returns its value as shown.

    Parameters
    ----------
    page : str or int
        Page id, or the dimension of a stepper page.
    name : str
        A field of :data:`gmm_app.declared.FIELDS` (or a knob field, passed as ``field=``).
    ctx : Context, optional
        For choices that depend on the page (default: the page's dimension).
    **overrides
        Passed to the Streamlit widget instead of the declared values.
    """
    f: Field = overrides.pop("field", None) or FIELD[name]
    p = state.page_of(page)
    key = overrides.pop("key", None) or state.field_key(p.id, name)
    ctx = ctx or Context(p.n_features or 2)
    args: dict[str, Any] = {"key": key, "help": f.help or None, **_KEEP}
    label = overrides.pop("label", f.label)
    if f.kind == "choice":
        args["format_func"] = f.label_of
    if f.widget in ("slider", "number"):
        args.update(min_value=f.lo, max_value=f.hi, step=f.step)
    if f.widget == "number" and f.number_format:
        args["format"] = f.number_format
    args.update(overrides)
    if f.widget == "slider":
        return st.slider(label, **args)
    if f.widget == "number":
        return st.number_input(label, **args)
    choices = args.pop("options", None) or f.choices_for(ctx)
    if f.widget == "radio":
        return st.radio(label, choices, **args)
    if f.widget == "select":
        return st.selectbox(label, choices, **args)
    if f.widget == "select_slider":
        return st.select_slider(label, choices, **args)
    if f.widget == "toggle":
        return st.toggle(label, **args)
    if f.widget == "text":
        return st.text_input(label, **args)
    raise ValueError(f"{name}: the page draws a {f.widget!r} widget itself")
