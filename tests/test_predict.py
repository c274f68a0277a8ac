"""Predict, then reveal: the scores (pure) and a round in the stepper (AppTest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from streamlit.testing.v1 import AppTest

from gmm_app import predict
from tests.test_app_pages import spec_argument

ROOT = Path(__file__).resolve().parents[1]
SMALL_2D = {"dataset": "blobs", "d.n_samples": "200", "K": "3", "seed": "0", "predict": "1"}


# --------------------------------------------------------------------------- pure scores
def test_a_guess_at_the_true_means_scores_zero_in_any_order() -> None:
    truth = np.array([[0.0, 0.0], [3.0, 4.0], [-1.0, 2.0]])
    error, pairs = predict.mean_guess_error(truth[[2, 0, 1]], truth)
    assert error == 0.0
    assert pairs.tolist() == [2, 0, 1]


def test_mean_guess_error_by_hand() -> None:
    truth = np.array([[0.0, 0.0], [10.0, 0.0]])
    # Guesses 3-4-5 away from one mean and 1 away from the other: (5 + 1) / 2.
    error, pairs = predict.mean_guess_error(np.array([[9.0, 0.0], [3.0, 4.0]]), truth)
    assert error == pytest.approx(3.0)
    assert pairs.tolist() == [1, 0]
    one, _ = predict.mean_guess_error(np.array([[10.0, 1.0]]), truth)  # fewer guesses than K
    assert one == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (3, 2), elements=st.floats(-100, 100)),
       arrays(np.float64, (3, 2), elements=st.floats(-100, 100)))
def test_pairing_is_the_best_of_all_orders(guess: np.ndarray, truth: np.ndarray) -> None:
    from itertools import permutations

    error, _ = predict.mean_guess_error(guess, truth)
    best = min(np.mean([np.linalg.norm(guess[i] - truth[p[i]]) for i in range(3)])
               for p in permutations(range(3)))
    assert error == pytest.approx(best, abs=1e-9)


def test_changed_points() -> None:
    before = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
    after = np.array([[0.8, 0.2], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
    changed = predict.changed_points(before, after)
    assert changed.tolist() == [False, True, True, False]
    assert predict.changed_points(None, after).all()  # grey points all take a colour


def test_e_step_feedback_says_found_and_picks_not_a_share_of_points() -> None:
    # 10 points, 3 change colour (1, 2, 7).
    changed = np.zeros(10, dtype=bool)
    changed[[1, 2, 7]] = True
    say = predict.e_step_feedback
    assert say([1, 2, 7], changed) == (
        "You found 3 of the 3 points that changed colour; 3 of your 3 picks changed.")
    # Picks that do not change find nothing (a share of points "right" gave 70 % here,
    # and 70 % too for no pick at all).
    assert say([0, 3, 4], changed) == (
        "You found 0 of the 3 points that changed colour; 0 of your 3 picks changed.")
    assert say([7, 0], changed) == (
        "You found 1 of the 3 points that changed colour; 1 of your 2 picks changed.")
    assert say([2], changed) == (
        "You found 1 of the 3 points that changed colour; 1 of your 1 pick changed.")
    assert say([], changed) == "You picked no points; 3 points changed colour."
    one = np.zeros(10, dtype=bool)
    one[4] = True
    assert say([], one) == "You picked no points; 1 point changed colour."
    assert say([4, 5], one) == (
        "You found 1 of the 1 point that changed colour; 1 of your 2 picks changed.")
    none = np.zeros(10, dtype=bool)
    assert say([], none) == "No point changed colour, and you picked none: right."
    assert say([3], none) == "No point changed colour this time, so your 1 pick was wrong."
    assert say([3, 6], none) == (
        "No point changed colour this time, so all 2 of your picks were wrong.")


def test_m_step_feedback_by_hand_beside_leaving_the_means_in_place() -> None:
    old = np.array([[0.0, 0.0], [10.0, 0.0]])
    new = np.array([[3.0, 4.0], [10.0, 1.0]])
    # The old means as the guess: 5 and 1 away from their new places, (5 + 1) / 2 = 3.
    said = predict.m_step_feedback(old, old, new)
    assert said["error"] == pytest.approx(3.0)
    assert said["stay"] == pytest.approx(3.0)
    assert said["text"] == (
        "You placed all 2 means: on average 3.00 away from the true new means (0 = exact). "
        "Leaving the means where they were would have been 3.00 away.")
    # One exact guess of one mean is 0 away, but it is 1 of the 2 means; that mean
    # (the one at the origin) left in place would have been 5.00 away.
    said = predict.m_step_feedback(np.array([[3.0, 4.0]]), old, new)
    assert said["pairs"].tolist() == [0]
    assert said["text"] == (
        "You placed 1 of the 2 means: on average 0 away from the true new means (0 = exact). "
        "Leaving that mean where it was would have been 5.00 away.")
    said = predict.m_step_feedback(np.array([[1.0, 1.0]]), old[:1], new[:1])  # K = 1
    assert said["text"] == (
        "You placed the mean: on average 3.61 away from the true new means (0 = exact). "
        "Leaving it where it was would have been 5.00 away.")


# --------------------------------------------------------------------------- a round
def _status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if re.match(r"^##### (Start|Iteration)", m.value))


def _chart_means(at: AppTest) -> np.ndarray:
    import base64

    for el in at.get("component_instance"):
        if el.proto.id.endswith("-em2d.chart"):
            fig = json.loads(spec_argument(el.proto))
            trace = next(t for t in fig["data"] if t.get("name") == "means")
            xs, ys = (np.frombuffer(base64.b64decode(trace[a]["bdata"]), dtype=trace[a]["dtype"])
                      if isinstance(trace[a], dict) else np.array(trace[a]) for a in ("x", "y"))
            return np.column_stack([xs, ys])
    raise AssertionError("no stepper chart")


def test_a_round_hides_the_step_until_the_guess_and_scores_a_perfect_guess_zero() -> None:
    at = AppTest.from_file(str(ROOT / "pages/em-2d.py"), default_timeout=60)
    for key, value in SMALL_2D.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    start = _status(at)

    # The first E-step is no round (every grey point takes a colour): it is done at once.
    at.button(key="em2d.button.E").click().run()
    assert _status(at) != start
    assert "after E-step" in _status(at)
    assert not any("which points will change colour" in i.value for i in at.info)
    assert _guess(at) is None

    # M-step: guess exactly the true new means, then Reveal.
    at.button(key="em2d.button.M").click().run()
    assert "after E-step" in _status(at)
    assert any("where will each mean move" in i.value for i in at.info)
    at.button(key="em2d.button.E").click().run()  # E twice: no round, nothing to guess
    at.button(key="em2d.button.M").click().run()
    guess = at.session_state["em2d.teach.guess"]
    assert guess["phase"] == "M"
    from gmm_core import datasets, initialize, run_em

    X = datasets.load("blobs", n_samples=200).X
    history = run_em(X, initialize(X, 3, "random_from_data", np.random.default_rng(0)),
                     max_iter=300)
    truth = history.steps[guess["target"]].params.means
    at.session_state["em2d.teach.guess"] = {**guess, "points": truth[::-1].tolist()}
    at.button(key="em2d.button.reveal").click().run()
    assert not at.exception, at.exception
    assert "after M-step" in _status(at)
    shown = [s.value for s in at.success]
    assert any("on average 0 away" in s for s in shown), shown
    np.testing.assert_allclose(_chart_means(at), truth, rtol=1e-6)


# --------------------------------------------------------------------------- rounds, scored
def _run_2d() -> tuple[np.ndarray, object]:
    """The run of SMALL_2D, computed here (as the page computes it) for its parameters."""
    from gmm_core import datasets, initialize, run_em

    X = datasets.load("blobs", n_samples=200).X
    return X, run_em(X, initialize(X, 3, "random_from_data", np.random.default_rng(0)),
                     max_iter=300)


def _labels(X: np.ndarray, params: object) -> np.ndarray:
    """Hard labels of the E-step at ``params``, by scipy: argmax_k pi_k N(x | mu_k, Sigma_k)."""
    from scipy.stats import multivariate_normal

    dens = np.column_stack([w * multivariate_normal(m, c).pdf(X) for w, m, c in zip(
        params.weights, params.means, params.covariances, strict=True)])
    return np.argmax(dens, axis=1)


def _oracle_changed(X: np.ndarray, history: object, target: int) -> np.ndarray:
    """Points whose colour the E-step ``target`` changes: labels of that E-step against the
    previous E-step's (shown during the M-step between them)."""
    steps = history.steps
    assert steps[target].phase == "E"
    assert steps[target - 2].phase == "E"
    return _labels(X, steps[target].params) != _labels(X, steps[target - 2].params)


def _guess(at: AppTest) -> dict | None:
    """The guess being made (the key is dropped when there is none)."""
    return at.session_state["em2d.teach.guess"] if "em2d.teach.guess" in at.session_state else None


def _open(step: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages/em-2d.py"), default_timeout=60)
    for key, value in {**SMALL_2D, "step": str(step)}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _round(at: AppTest, action: str, picks: list | None) -> str:
    """Press ``action``, guess ``picks`` (None: no guess made), Reveal; the feedback shown."""
    at.button(key=f"em2d.button.{action}").click().run()
    assert not at.exception, at.exception
    guess = at.session_state["em2d.teach.guess"]
    assert guess is not None
    assert guess["phase"] == action
    if picks is not None:
        at.session_state["em2d.teach.guess"] = {**guess, "points": picks}
    at.button(key="em2d.button.reveal").click().run()
    assert not at.exception, at.exception
    assert _guess(at) is None
    return next(s.value for s in at.success)


def test_the_first_e_step_is_no_round_and_says_why() -> None:
    at = _open(0)
    at.button(key="em2d.button.E").click().run()
    assert not at.exception, at.exception
    assert "Iteration 1 \u00b7 after E-step" in _status(at)
    assert _guess(at) is None
    shown = [i.value for i in at.info]
    assert predict.FIRST_E_NOTE in shown, shown
    assert not any("which points will change colour" in v for v in shown)
    assert not at.success  # nothing scored
    # The next press (M-step) is a round again.
    at.button(key="em2d.button.M").click().run()
    assert any("where will each mean move" in i.value for i in at.info)


def test_the_lecturers_round_picks_that_do_not_change_find_none() -> None:
    """/em-2d?predict=1&step=1, M-step, then E-step, 4 picks that keep their colour."""
    X, history = _run_2d()
    at = _open(1)

    # M-step round, guessed "the means stay where they are": 0 is not the score.
    old, new = history.steps[1].params.means, history.steps[2].params.means
    text = _round(at, "M", old.tolist())
    from itertools import permutations

    stay = min(np.mean([np.linalg.norm(old[i] - new[p[i]]) for i in range(3)])
               for p in permutations(range(3)))
    assert stay > 0.05
    match = re.fullmatch(
        r"You placed all 3 means: on average (\S+) away from the true new means \(0 = exact\)\. "
        r"Leaving the means where they were would have been (\S+) away\.", text)
    assert match, text
    assert float(match[1]) == pytest.approx(stay, rel=5e-3)
    assert float(match[2]) == pytest.approx(stay, rel=5e-3)
    assert "after M-step" in _status(at)

    # E-step round: 4 points that do not change colour.
    changed = _oracle_changed(X, history, 3)
    n_changed = int(changed.sum())
    assert 0 < n_changed < len(X) - 4
    kept = np.flatnonzero(~changed)[:4].tolist()
    assert _round(at, "E", kept) == (
        f"You found 0 of the {n_changed} points that changed colour; 0 of your 4 picks changed.")
    assert "after E-step" in _status(at)

    # Again (Back, E-step): no pick at all.
    at.button(key="em2d.button.back").click().run()
    assert _round(at, "E", None) == f"You picked no points; {n_changed} points changed colour."

    # Again: 2 that change and 1 that does not.
    at.button(key="em2d.button.back").click().run()
    picks = [*np.flatnonzero(changed)[:2].tolist(), kept[0]]
    assert _round(at, "E", picks) == (
        f"You found 2 of the {n_changed} points that changed colour; 2 of your 3 picks changed.")


def test_a_round_where_no_point_changes_colour_says_so() -> None:
    X, history = _run_2d()
    targets = [t for t in range(3, len(history.steps), 2)
               if not _oracle_changed(X, history, t).any()]
    assert targets
    at = _open(targets[0] - 1)
    assert _round(at, "E", [5, 17]) == (
        "No point changed colour this time, so all 2 of your picks were wrong.")
    at.button(key="em2d.button.back").click().run()
    assert _round(at, "E", None) == "No point changed colour, and you picked none: right."


def test_a_round_where_one_point_changes_colour() -> None:
    X, history = _run_2d()
    target = next(t for t in range(3, len(history.steps), 2)
                  if _oracle_changed(X, history, t).sum() == 1)
    moved = int(np.flatnonzero(_oracle_changed(X, history, target))[0])
    at = _open(target - 1)
    assert _round(at, "E", [moved]) == (
        "You found 1 of the 1 point that changed colour; 1 of your 1 pick changed.")


def test_a_round_in_1d_one_guessed_mean_and_no_picks() -> None:
    """/em-1d: the first E-step is no round; an M-step guess of one mean is drawn and said
    as 1 of 2; an E-step round with no pick says how many points changed colour."""
    from scipy.stats import norm

    from gmm_core import datasets, initialize, run_em

    X = datasets.load("two_gaussians_1d", n_samples=150).X
    history = run_em(X, initialize(X, 2, "random_from_data", np.random.default_rng(0)),
                     max_iter=300)

    def labels(params: object) -> np.ndarray:
        dens = np.column_stack([w * norm(m[0], np.sqrt(c[0, 0])).pdf(X[:, 0]) for w, m, c in zip(
            params.weights, params.means, params.covariances, strict=True)])
        return np.argmax(dens, axis=1)

    at = AppTest.from_file(str(ROOT / "pages/em-1d.py"), default_timeout=60)
    for key, value in {"dataset": "two_gaussians_1d", "d.n_samples": "150", "K": "2",
                       "seed": "0", "predict": "1"}.items():
        at.query_params[key] = value
    at.run()
    at.button(key="em1d.button.E").click().run()
    assert not at.exception, at.exception
    assert predict.FIRST_E_NOTE in [i.value for i in at.info]
    assert "em1d.teach.guess" not in at.session_state

    at.button(key="em1d.button.M").click().run()
    guess = at.session_state["em1d.teach.guess"]
    new = history.steps[2].params.means[:, 0]
    old = history.steps[1].params.means[:, 0]
    # A click on the 1-D chart holds (x, y); exactly on the first new mean.
    at.session_state["em1d.teach.guess"] = {**guess, "points": [[float(new[0]), 0.0]]}
    at.button(key="em1d.button.reveal").click().run()
    assert not at.exception, at.exception  # the guess and the truth are drawn
    stay = float(np.min(np.abs(old[0] - new)))  # that mean left in place, to its nearest
    match = re.fullmatch(
        r"You placed 1 of the 2 means: on average 0 away from the true new means "
        r"\(0 = exact\)\. Leaving that mean where it was would have been (\S+) away\.",
        next(s.value for s in at.success))
    assert match
    assert float(match[1]) == pytest.approx(stay, rel=5e-3)

    at.button(key="em1d.button.E").click().run()
    assert "em1d.teach.guess" in at.session_state
    at.button(key="em1d.button.reveal").click().run()
    assert not at.exception, at.exception
    n_changed = int((labels(history.steps[3].params) != labels(history.steps[1].params)).sum())
    assert n_changed > 1
    assert [s.value for s in at.success] == [
        f"You picked no points; {n_changed} points changed colour."]
