"""The teaching tools' pure parts: Play's clock, the keys' bindings, the next half-step."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmm_app import keyboard, teaching
from gmm_app.declared import FIELD, PAGE, Settings


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
