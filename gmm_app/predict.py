"""Predict, then reveal: the next half-step stays hidden until the student commits a guess.

With the declared ``predict`` option on, a press of E-step or M-step (or of its key) that
would show one new half-step asks for a guess first:

* before an M-step: click where each mean will move (a click on the chart puts a guessed
  mean at the clicked point; K clicks, the oldest is replaced after that);
* before an E-step: click the points that will change colour (a second click takes a point
  back). Not at the first E-step of a run: every point is still grey then and every point
  takes a colour, so there is nothing to guess; that E-step is just done, with a note
  (:data:`FIRST_E_NOTE`).

"Reveal" then shows the half-step, draws the guess beside the truth and says in plain
words how good it was (:func:`m_step_feedback`, :func:`e_step_feedback`): no single
percentage, which a guess of nothing could score well on (most points keep their colour;
the means move little after the first iterations). The guesses are kept in the session
only. The scores are small pure functions, tested without Streamlit.
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
FIRST_E_NOTE = ("Predict first: nothing to guess at the first E-step. Every point is still "
                "grey, so every point takes a colour now. Predict the next steps.")


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


def _count(n: int, noun: str) -> str:
    """``"1 point"``, ``"2 points"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def e_step_feedback(picked: Sequence[int], changed: np.ndarray) -> str:
    """What to say about a guess of the points an E-step recolours.

    Recall and precision in plain words: how many of the points that changed colour the
    student found, and how many of the picks changed. (A share of points "right" would
    reward picking nothing: most points keep their colour.)

    Parameters
    ----------
    picked : sequence of int
        Indices the student picked (picked = "will change colour").
    changed : ndarray of bool, shape (N,)
        :func:`changed_points`.
    """
    picks = np.unique(np.asarray(list(picked), dtype=int))
    n_changed = int(np.count_nonzero(changed))
    found = int(np.count_nonzero(changed[picks]))
    if n_changed == 0:
        if len(picks) == 0:
            return "No point changed colour, and you picked none: right."
        wrong = "your 1 pick was wrong" if len(picks) == 1 else (
            f"all {len(picks)} of your picks were wrong")
        return f"No point changed colour this time, so {wrong}."
    if len(picks) == 0:
        return f"You picked no points; {_count(n_changed, 'point')} changed colour."
    that = "point that" if n_changed == 1 else "points that"
    return (f"You found {found} of the {n_changed} {that} changed colour; "
            f"{found} of your {_count(len(picks), 'pick')} changed.")


def m_step_feedback(guess: np.ndarray, old: np.ndarray, new: np.ndarray) -> dict[str, Any]:
    """What to say about a guess of where the means move, with the pairing to draw.

    The distance of the guesses alone would reward guessing that nothing moves (after the
    first iterations the means move little): it is said beside the distance of that lazy
    guess, the old positions of the means the guesses are paired with, scored the same way.
    And how many of the K means were placed (one exact guess is not all of them).

    Parameters
    ----------
    guess : ndarray, shape (G, D)
        Guessed means, 1 <= G <= K.
    old, new : ndarray, shape (K, D)
        The means before and after the M-step.

    Returns
    -------
    dict
        ``text``; ``error`` and ``pairs`` (:func:`mean_guess_error` of the guess);
        ``stay`` (:func:`mean_guess_error` of the paired means' old positions).
    """
    old = np.atleast_2d(np.asarray(old, dtype=float))
    new = np.atleast_2d(np.asarray(new, dtype=float))
    error, pairs = mean_guess_error(guess, new)
    stay, _ = mean_guess_error(old[pairs], new)
    n_guess, k = len(pairs), len(new)
    if k == 1:
        placed, those = "You placed the mean", "it where it was"
    elif n_guess == k:
        placed, those = f"You placed all {k} means", "the means where they were"
    elif n_guess == 1:
        placed, those = f"You placed 1 of the {k} means", "that mean where it was"
    else:
        placed, those = f"You placed {n_guess} of the {k} means", "those means where they were"
    text = (f"{placed}: on average {fmt_number(error, 3)} away from the true new means "
            f"(0 = exact). Leaving {those} would have been {fmt_number(stay, 3)} away.")
    return {"text": text, "error": error, "stay": stay, "pairs": pairs}


# --------------------------------------------------------------------------- the session
def hold(page: state.PageRef, action: str, cursor: int, move: Move,
         phases: Sequence[str]) -> Move:
    """The move a stepper button makes with "predict first" on.

    A press of E-step or M-step that would show exactly one new half-step asks for a guess
    instead (the cursor stays); anything else moves as usual and ends a round. The first
    E-step of the run is done at once, with :data:`FIRST_E_NOTE`: every point is still grey
    before it and takes a colour, so "which points change colour?" has no sensible answer.
    """
    state.set_teaching(page, RESULT, None)
    if (not state.view_value(page, "predict") or action not in ("E", "M")
            or move.cursor != cursor + 1):
        state.set_teaching(page, GUESS, None)
        return move
    phase = phases[move.cursor]
    if phase == "E" and "E" not in phases[:move.cursor]:  # points still grey
        state.set_teaching(page, GUESS, None)
        return Move(move.cursor, FIRST_E_NOTE, move.at_end)
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
        clicked = np.asarray(guess["points"], dtype=float).reshape(-1, 2)  # (x, y) clicks
        points = clicked[:, :n_dim]
        if len(points) == 0:
            result = {"phase": "M", "text": "No guess was made: click on the chart next time."}
        else:
            said = m_step_feedback(points, history.steps[target - 1].params.means, truth)
            # The clicks as clicked (x, y): overlay() draws them in 1-D too.
            result = {"phase": "M", "points": clicked.tolist(), "pairs": said["pairs"].tolist(),
                      "truth": np.asarray(truth).tolist(), "error": said["error"],
                      "stay": said["stay"], "text": said["text"]}
    else:
        before = engine.step_view(X, history, target - 1, key=key).resp
        after = engine.step_view(X, history, target, key=key).resp
        if after is None:  # the E-step failed (its warning is shown under the chart)
            result = {"phase": "E", "points": list(guess["points"]), "changed": [],
                      "text": "The E-step could not be computed: nothing to compare."}
        else:
            changed = changed_points(before, after)
            result = {"phase": "E", "points": list(guess["points"]),
                      "changed": np.flatnonzero(changed).tolist(),
                      "text": e_step_feedback(guess["points"], changed)}
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
