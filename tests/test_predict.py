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


def test_changed_points_and_share_right() -> None:
    before = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
    after = np.array([[0.8, 0.2], [0.7, 0.3], [0.3, 0.7], [0.1, 0.9]])
    changed = predict.changed_points(before, after)
    assert changed.tolist() == [False, True, True, False]
    assert predict.share_right([1, 2], changed) == 1.0
    assert predict.share_right([], changed) == 0.5
    assert predict.share_right([0, 3], changed) == 0.0
    assert predict.changed_points(None, after).all()  # grey points all take a colour


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

    # E-step: hidden until Reveal; no pick at all on the first E-step scores 0 % (all change).
    at.button(key="em2d.button.E").click().run()
    assert _status(at) == start
    assert any("which points will change colour" in i.value for i in at.info)
    at.button(key="em2d.button.reveal").click().run()
    assert "after E-step" in _status(at)
    assert any("You got 0% of the points right" in s.value for s in at.success)

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
