"""Predict, then reveal: the next half-step stays hidden until the student commits a guess.

With the declared ``predict`` option on, a press of E-step or M-step (or of its key) that
would show one new half-step asks for a guess first:

* before an M-step: click where each mean will move (a click on the chart puts a guessed
  mean at the clicked point; K clicks, the oldest is replaced after that);
* before an E-step: click the points that will change colour (a second click takes a point
  back).

"Reveal" then shows the half-step, draws the guess beside the truth and scores it
(:func:`mean_guess_error`, :func:`share_right`). The guesses are kept in the session only.
The scores are small pure functions, tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gmm_app import engine, state
from gmm_app.cursor import Move
from gmm_app.formatting import fmt_number

GUESS = "guess"
RESULT = "result"
ASK_M = ("Predict first: where will each mean move? Click on the chart where you think "
         "each of the {k} means goes, then press Reveal.")
ASK_E = ("Predict first: which points will change colour? Click them on the chart (click "
         "again to take one back), then press Reveal.")


# --------------------------------------------------------------------------- scores (pure)
def mean_guess_error(guess: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """How far guessed means are from the true new means.

    Each guess is paired with one true mean so that the total distance is smallest (the
    student need not know the components' numbers): the assignment problem, solved by
    :func:`scipy.optimize.linear_sum_assignment`.

    Parameters
    ----------
    guess : ndarray, shape (G, D)
        Guessed means, 1 <= G <= K.
    truth : ndarray, shape (K, D)
        The means after the M-step.

    Returns
    -------
    error : float
        Mean Euclidean distance of the paired guesses (0: every guess exact).
    pairs : ndarray of int, shape (G,)
        The true mean paired with each guess.
    """
    guess = np.atleast_2d(np.asarray(guess, dtype=float))
    truth = np.atleast_2d(np.asarray(truth, dtype=float))
    dist = np.linalg.norm(guess[:, None, :] - truth[None, :, :], axis=2)  # (G, K)
    # Imported here: scipy.optimize takes ~0.7 s to import, on the first page load of a
    # fresh server otherwise (issue 11: cold start); only a revealed guess needs it.
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(dist)
    pairs = np.empty(len(guess), dtype=int)
    pairs[rows] = cols
    return float(dist[rows, cols].mean()), pairs


def changed_points(resp_before: np.ndarray | None, resp_after: np.ndarray) -> np.ndarray:
    """The points whose colour (most responsible component) an E-step changes.

    Parameters
    ----------
    resp_before : ndarray, shape (N, K), or None
        Responsibilities shown before the E-step (None: points still grey, so all change).
    resp_after : ndarray, shape (N, K)

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    after = np.argmax(resp_after, axis=1)
    if resp_before is None:
        return np.ones(after.shape, dtype=bool)
    return np.argmax(resp_before, axis=1) != after


def share_right(picked: Sequence[int], changed: np.ndarray) -> float:
    """Share of points whose fate the student got right (picked = "will change colour").

    Parameters
    ----------
    picked : sequence of int
        Indices the student picked.
    changed : ndarray of bool, shape (N,)
        :func:`changed_points`.
    """
    guess = np.zeros(changed.shape, dtype=bool)
    guess[np.asarray(list(picked), dtype=int)] = True
    return float(np.mean(guess == changed))


# --------------------------------------------------------------------------- the session
def hold(page: state.PageRef, action: str, cursor: int, move: Move,
         phases: Sequence[str]) -> Move:
    """The move a stepper button makes with "predict first" on.

    A press of E-step or M-step that would show exactly one new half-step asks for a guess
    instead (the cursor stays); anything else moves as usual and ends a round.
    """
    state.set_teaching(page, RESULT, None)
    if (not state.view_value(page, "predict") or action not in ("E", "M")
            or move.cursor != cursor + 1):
        state.set_teaching(page, GUESS, None)
        return move
    phase = phases[move.cursor]
    state.set_teaching(page, GUESS, {"target": move.cursor, "phase": phase, "points": []})
    return Move(cursor, None, False)


def pending(page: state.PageRef) -> dict | None:
    """The guess being made, or None."""
    return state.get_teaching(page, GUESS)


def on_chart_click(page: state.PageRef, data_curve: int, n_components: int) -> None:
    """Callback of the chart while a guess is made: a click adds to the guess."""
    guess = pending(page)
    if guess is None:
        return
    points = [p for p in state.selected_points(page, "chart")
              if p.get("curve_number") == data_curve]
    if not points:
        return
    point = points[-1]
    if guess["phase"] == "M":
        xy = [float(point["x"]), float(point.get("y", 0.0) or 0.0)]
        guess["points"] = ([*guess["points"], xy])[-n_components:]
    else:
        index = int(point.get("point_index", point.get("point_number")))
        picked = list(guess["points"])
        guess["points"] = [i for i in picked if i != index] if index in picked else [
            *picked, index]
    state.set_teaching(page, GUESS, dict(guess))


def chart_callback(page: state.PageRef, data_curve: int, n_components: int,
                   default: Callable[[], None]) -> Callable[[], None]:
    """The chart's click callback: the guess's while one is made, else ``default``."""
    if pending(page) is not None:
        return partial(on_chart_click, page, data_curve, n_components)
    return default


def reveal(page: state.PageRef, X: np.ndarray, history: Any, key: Any) -> None:
    """Callback of "Reveal": show the half-step and score the guess."""
    guess = pending(page)
    if guess is None:
        return
    target = int(guess["target"])
    n_dim = X.shape[1]
    if guess["phase"] == "M":
        truth = history.steps[target].params.means
        points = np.asarray(guess["points"], dtype=float).reshape(-1, 2)[:, :n_dim]
        if len(points) == 0:
            result = {"phase": "M", "text": "No guess was made: click on the chart next time."}
        else:
            error, pairs = mean_guess_error(points, truth)
            span = float(np.linalg.norm(X.max(axis=0) - X.min(axis=0)))
            result = {"phase": "M", "points": points.tolist(), "pairs": pairs.tolist(),
                      "truth": np.asarray(truth).tolist(), "error": error,
                      "text": f"Your means were on average {fmt_number(error, 3)} away from "
                      f"the true new means ({fmt_number(100 * error / span, 2)}% of the "
                      "data's extent; 0 = exact)."}
    else:
        before = engine.step_view(X, history, target - 1, key=key).resp
        after = engine.step_view(X, history, target, key=key).resp
        changed = changed_points(before, after)
        share = share_right(guess["points"], changed)
        result = {"phase": "E", "points": list(guess["points"]),
                  "changed": np.flatnonzero(changed).tolist(), "share": share,
                  "text": f"You got {100 * share:.0f}% of the points right: "
                  f"{int(changed.sum())} changed colour, you picked {len(guess['points'])}."}
    state.set_teaching(page, GUESS, None)
    state.set_teaching(page, RESULT, result)
    state.set_cursor(page, target)


def render(page: state.PageRef, X: np.ndarray, history: Any, key: Any,
           n_components: int) -> None:
    """The round's panel: what to guess and the Reveal button, or the score of the reveal."""
    guess = pending(page)
    result = state.get_teaching(page, RESULT)
    k = state.keys(page)
    if guess is not None:
        ask = ASK_M.format(k=n_components) if guess["phase"] == "M" else ASK_E
        with st.container(horizontal=True, vertical_alignment="center"):
            st.info(f"{ask} Guessed so far: {len(guess['points'])}.",
                    icon=":material/psychology:", width="stretch")
            st.button("Reveal", key=k.button("reveal"), type="primary",
                      on_click=reveal, args=(page, X, history, key))
    elif result is not None:
        st.success(result["text"], icon=":material/visibility:")


def overlay(fig: go.Figure, page: state.PageRef, X: np.ndarray) -> go.Figure:
    """``fig`` with the guess drawn (and, after a reveal, the truth beside it).

    Adds two traces at the end: "your guess" and "the truth" (empty when there is nothing
    to draw, so the figure keeps its structure)."""
    guess = pending(page)
    result = state.get_teaching(page, RESULT)
    two_d = X.shape[1] == 2
    gx: list[float] = []
    gy: list[float] = []
    tx: list[float | None] = []
    ty: list[float | None] = []
    source = guess if guess is not None else result
    if source is not None and source["phase"] == "M":
        pts = np.asarray(source.get("points", []), dtype=float).reshape(-1, 2)
        gx, gy = pts[:, 0].tolist(), (pts[:, 1] if two_d else np.zeros(len(pts))).tolist()
        if guess is None and "truth" in source:  # a line from each guess to its true mean
            truth = np.asarray(source["truth"], dtype=float)
            for (x0, y0), j in zip(zip(gx, gy, strict=True), source["pairs"], strict=True):
                tx += [x0, float(truth[j, 0]), None]
                ty += [y0, float(truth[j, 1]) if two_d else 0.0, None]
    elif source is not None:
        picked = np.asarray(source.get("points", []), dtype=int)
        gx = X[picked, 0].tolist()
        gy = (X[picked, 1] if two_d else np.zeros(len(picked))).tolist()
        if guess is None:
            changed = np.asarray(source.get("changed", []), dtype=int)
            tx = X[changed, 0].tolist()
            ty = (X[changed, 1] if two_d else np.zeros(len(changed))).tolist()
    m_phase = source is not None and source["phase"] == "M"
    # WebGL is drawn above SVG: the marks join the points' layer when it is WebGL.
    scatter = go.Scattergl if fig.data and fig.data[0].type == "scattergl" else go.Scatter
    fig.add_trace(scatter(
        x=gx, y=gy, mode="markers", name="your guess", hoverinfo="skip",
        marker={"symbol": "x-thin" if m_phase else "circle-open", "size": 18 if m_phase else 14,
                "color": "#000000", "line": {"width": 3, "color": "#000000"}}))
    fig.add_trace(scatter(
        x=tx, y=ty, mode="lines" if m_phase else "markers", name="the truth",
        hoverinfo="skip", line={"color": "#000000", "width": 2, "dash": "dot"},
        marker={"symbol": "square-open", "size": 10, "color": "#C00000"}))
    return fig
