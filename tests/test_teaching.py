"""The teaching tools' pure parts: Play's clock, the keys' bindings, the next half-step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmm_app import figures, keyboard, teaching, teaching_figures
from gmm_app.declared import FIELD, PAGE, Settings
from gmm_app.geometry import ellipse_points
from gmm_core import GMMParams


def test_play_shows_the_next_half_step_at_once_then_follows_the_clock() -> None:
    assert teaching.play_cursor(3, 0.0, 10.0, 100) == 4
    assert teaching.play_cursor(3, 0.1, 10.0, 100) == 5  # one tick on time is not lost
    assert teaching.play_cursor(3, 1.0, 10.0, 100) == 14  # 10 half-steps per second
    assert teaching.play_cursor(0, 2.0, 0.5, 100) == 2
    assert teaching.play_cursor(95, 60.0, 10.0, 100) == 100  # never past the end


@given(st.integers(0, 50), st.floats(0, 100), st.floats(0.5, 10))
def test_play_pace_is_the_speed(start: int, elapsed: float, speed: float) -> None:
    shown = teaching.play_cursor(start, elapsed, speed, 10**6)
    assert abs((shown - start - 1) - elapsed * speed) <= 1.0


def test_interval_is_one_half_step() -> None:
    assert teaching.play_interval(10.0) == pytest.approx(0.1)
    assert teaching.play_interval(0.5) == pytest.approx(2.0)


def test_next_half_step_button() -> None:
    phases = ["init", "E", "M", "E", "M"]
    assert [keyboard.next_half_step(phases, c) for c in range(5)] == ["E", "M", "E", "M", "E"]


def test_element_class_is_streamlits_key_class() -> None:
    # Streamlit: "st-key-" + key with every character outside [a-zA-Z0-9_-] replaced by "-".
    assert keyboard.element_class("em2d.button.E") == "st-key-em2d-button-E"
    assert keyboard.element_class(" a b/c ") == "st-key-a-b-c"


def test_bindings_press_the_stepper_buttons() -> None:
    bindings = keyboard.stepper_bindings(lambda a: f"em1d.button.{a}", "M")
    assert bindings["ArrowRight"] == ["st-key-em1d-button-M"]
    assert bindings["Space"] == ["st-key-em1d-button-play", "st-key-em1d-button-pause"]
    assert set(bindings) == {"e", "m", "ArrowRight", "ArrowLeft", "Space", "r"}
    assert [row[0] for row in keyboard.HELP_ROWS][:2] == ["E", "M"]


def test_forward_key_is_bound_to_both_half_steps_and_prefers_the_highlighted_one() -> None:
    # The bindings the page draws once: they must not depend on the shown half-step.
    bindings = keyboard.stepper_bindings(lambda a: f"em2d.button.{a}")
    assert bindings["ArrowRight"] == ["st-key-em2d-button-E", "st-key-em2d-button-M"]
    assert "ArrowRight" in keyboard.PREFER_PRIMARY
    assert bindings["e"] == ["st-key-em2d-button-E"]


@pytest.mark.parametrize("page", ["em1d", "em2d"])
def test_teaching_settings_are_declared_and_carried_by_links(page: str) -> None:
    for name in ("play_speed", "presenter", "predict"):
        assert name in PAGE[page].fields
        assert FIELD[name].link
    settings = Settings.defaults(page).replace(play_speed=7.5, presenter=True, predict=True)
    query = settings.to_query()
    assert (query["speed"], query["present"], query["predict"]) == ("7.5", "1", "1")
    back, messages = Settings.from_query(query, page)
    assert not messages
    assert (back.play_speed, back.presenter, back.predict) == (7.5, True, True)
    _, messages = Settings.from_query({**query, "speed": "11"}, page)
    assert any("speed" in m and "0.5 to 10" in m for m in messages)


# --------------------------------------------------------------------------- figures
def _random_params(rng: np.random.Generator, k: int) -> GMMParams:
    a = rng.normal(size=(k, 2, 2))
    covs = a @ np.transpose(a, (0, 2, 1)) + 0.05 * np.eye(2)
    return GMMParams(np.full(k, 1 / k), rng.normal(scale=3, size=(k, 2)), covs)


def test_ellipse_boxes_hold_the_drawn_ellipses_tightly() -> None:
    rng = np.random.default_rng(0)
    params = _random_params(rng, 4)
    lo, hi = teaching_figures.ellipse_boxes(params.means, params.covariances, 2.0)
    for j in range(4):  # oracle: the ellipse as drawn, densely sampled
        pts = ellipse_points(params.means[j], params.covariances[j], 2.0, n_points=20_001)
        np.testing.assert_allclose(pts.min(axis=0), lo[j], atol=1e-6)
        np.testing.assert_allclose(pts.max(axis=0), hi[j], atol=1e-6)


def test_run_extent_holds_every_2_sigma_ellipse_and_the_data() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    steps = [_random_params(rng, 3) for _ in range(5)]
    (x0, x1), (y0, y1) = teaching_figures.run_extent(X, steps)
    for params in steps:
        for mean, cov in zip(params.means, params.covariances, strict=True):
            pts = ellipse_points(mean, cov, 2.0)
            span = X.max(axis=0) - X.min(axis=0)
            if np.all(pts.min(axis=0) >= X.min(axis=0) - span) and np.all(
                    pts.max(axis=0) <= X.max(axis=0) + span):  # not cut by the cap
                assert pts[:, 0].min() >= x0
                assert pts[:, 0].max() <= x1
                assert pts[:, 1].min() >= y0
                assert pts[:, 1].max() <= y1
    assert x0 <= X[:, 0].min()
    assert X[:, 0].max() <= x1
    assert y0 <= X[:, 1].min()
    assert X[:, 1].max() <= y1


def test_run_extent_caps_a_huge_component() -> None:
    X = np.array([[0.0, 0.0], [1.0, 1.0]])
    huge = GMMParams(np.array([1.0]), np.array([[0.5, 0.5]]), np.array([np.eye(2) * 1e6]))
    (x0, x1), _ = teaching_figures.run_extent(X, [huge])
    assert -1.2 < x0 < -0.9
    assert 1.9 < x1 < 2.2


def test_figure_2d_uses_the_given_extent() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 2))
    params = _random_params(rng, 2)
    extent = ((-9.0, 9.0), (-7.0, 8.0))
    fig = figures.figure_2d(X, params, ["#888888"] * 50, extent=extent).to_plotly_json()
    assert list(fig["layout"]["xaxis"]["range"]) == [-9.0, 9.0]
    assert list(fig["layout"]["yaxis"]["range"]) == [-7.0, 8.0]


def test_presenter_figure_has_larger_type_and_thicker_lines() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2))
    fig = figures.figure_2d(X, _random_params(rng, 2), ["#888888"] * 50, width=400)
    big = teaching_figures.presenter_figure(fig).to_plotly_json()
    small = fig.to_plotly_json()
    assert big["layout"]["font"]["size"] >= 20
    assert "width" not in big["layout"]
    widths = [(t["line"]["width"], b["line"]["width"]) for t, b in
              zip(small["data"], big["data"], strict=True) if "width" in t.get("line", {})]
    assert widths
    assert all(b > t for t, b in widths)
