"""'Show the code': the lines of :mod:`gmm_core.textbook` the last half-step ran, and their numbers.

Students learn EM by writing it from scratch in NumPy. This panel puts the textbook
version of the half-step just taken (E-step or M-step) next to the numbers it produced
on the data shown. The numbers come from the app's run (the fast path of ``gmm_core``),
which the tests check against exactly these lines (``tests/test_textbook.py``).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from gmm_app.engine import StepView
from gmm_app.formatting import fmt_number
from gmm_core import EMHistory, textbook

if TYPE_CHECKING:
    import pandas as pd

SHOWN_POINTS = 5
"""Responsibilities are listed for this many points (the inspected one first)."""


@lru_cache(maxsize=16)  # a handful of textbook functions (gmm_app.bounded)
def body_source(function: Callable) -> str:
    """The source of ``function`` without its docstring: the lines that compute.

    Parameters
    ----------
    function : callable
        A function of :mod:`gmm_core.textbook`.

    Returns
    -------
    str
        Its ``def`` line and body, dedented, docstring removed.
    """
    source = textwrap.dedent(inspect.getsource(function))
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    lines = source.splitlines()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        del lines[first.lineno - 1 : first.end_lineno]
    return "\n".join(lines)


def last_half_step(history: EMHistory, cursor: int) -> str | None:
    """The phase ("E" or "M") of the half-step shown at ``cursor``, None at the start."""
    phase = history.steps[cursor].phase
    return None if phase == "init" else phase


def responsibilities_table(
    resp: np.ndarray, X: np.ndarray, inspected: int | None
) -> pd.DataFrame:
    """γ of a few points: the inspected one first, then the first points of the data.

    Parameters
    ----------
    resp : ndarray, shape (N, K)
    X : ndarray, shape (N, D)
    inspected : int or None

    Returns
    -------
    pandas.DataFrame
        One row per point: its number, coordinates and γ_k (formatted strings).
    """
    order = [inspected] if inspected is not None else []
    order += [i for i in range(min(len(X), SHOWN_POINTS + 1)) if i != inspected]
    rows = []
    for n in order[:SHOWN_POINTS]:
        row = {"n": str(n), "x": ", ".join(fmt_number(v, 4) for v in X[n])}
        row.update({f"\u03b3[n, {k}]": fmt_number(g, 3) for k, g in enumerate(resp[n])})
        rows.append(row)
    import pandas as pd  # here, not at import: 0.4-0.5 s of a fresh server's first page (issue 11)

    return pd.DataFrame(rows)


def m_step_table(view: StepView) -> pd.DataFrame:
    """N_k, π_k, μ_k and the diagonal of Σ_k after an M-step (formatted strings)."""
    p = view.params
    rows = []
    for k in range(p.n_components):
        rows.append({
            "k": str(k),
            "N_k": fmt_number(view.nk[k], 4) if view.nk is not None else "\u2014",
            "pi[k]": fmt_number(p.weights[k], 3),
            "mu[k]": ", ".join(fmt_number(v, 4) for v in p.means[k]),
            "diag Sigma[k]": ", ".join(fmt_number(v, 4) for v in np.diag(p.covariances[k])),
        })
    import pandas as pd  # here, not at import: 0.4-0.5 s of a fresh server's first page (issue 11)

    return pd.DataFrame(rows)


def render_code_panel(
    history: EMHistory, cursor: int, view: StepView, X: np.ndarray, inspected: int | None
) -> None:
    """Draw the panel for the half-step shown at ``cursor`` (X has shape (N, D))."""
    phase = last_half_step(history, cursor)
    if phase is None:
        st.caption(
            "No step has run yet. Press E-step: this runs the function below "
            "(from gmm_core/textbook.py)."
        )
        st.code(body_source(textbook.e_step), language="python")
        return
    if phase == "E":
        st.caption("The E-step just taken, as gmm_core/textbook.py writes it:")
        st.code(body_source(textbook.e_step), language="python")
        st.caption(
            f"What it gave here (Python counts components from 0): log_likelihood = "
            f"{fmt_number(history.steps[cursor].log_likelihood, 7)}, and gamma for some points:"
        )
        if view.resp is not None:
            st.table(responsibilities_table(view.resp, X, inspected), hide_index=True)
    else:
        st.caption("The M-step just taken, as gmm_core/textbook.py writes it:")
        st.code(body_source(textbook.m_step), language="python")
        st.caption("What it gave here (N_k from the E-step before it):")
        st.table(m_step_table(view), hide_index=True)
