"""Issue 11: the stepper builds the next half-step's charts ahead, in a thread, and the click
that shows it then sends them at once; what it shows agrees with the state it reports."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gmm_app import figures, live_chart
from tests.test_app_pages import SMALL_2D, chart, click, decode, open_page, status, tables


def _wait_for_prefetch() -> None:
    for thread in threading.enumerate():
        if thread.name == "gmm_app-prefetch":
            thread.join(timeout=60)
            assert not thread.is_alive()


def _shown_number(cell: str) -> float:
    return float(cell.replace("\u2212", "-"))


def _table_means(at: object) -> np.ndarray:
    """The μ (x, y) column of the parameter table, as the page prints it."""
    table = tables(at)[0]
    column = next(c for c in table.columns if c.startswith("\u03bc"))
    return np.array([[_shown_number(v) for v in cell.strip("()").split(",")]
                     for cell in table[column]])


@pytest.fixture
def spec_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that built a chart spec, in order (the cache emptied first)."""
    live_chart.SPECS.clear()
    built: list[str] = []
    original = live_chart._spec_and_height

    def counting(fig: object) -> object:
        built.append(threading.current_thread().name)
        return original(fig)

    monkeypatch.setattr(live_chart, "_spec_and_height", counting)
    return built


def test_the_next_half_step_is_built_ahead_and_agrees_with_the_table(
    spec_builds: list[str],
) -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    _wait_for_prefetch()
    # The page drew Start and built the E-step's two charts ahead.
    assert spec_builds.count("gmm_app-prefetch") == 2
    spec_builds.clear()
    click(at, "em2d", "E")
    after_e = chart(at, "em2d.chart")
    _wait_for_prefetch()
    # The E-step's charts came from the cache; the M-step's (the main chart and the
    # log-likelihood) were built ahead.
    assert spec_builds == ["gmm_app-prefetch"] * 2
    spec_builds.clear()

    click(at, "em2d", "M")
    assert [name for name in spec_builds if name != "gmm_app-prefetch"] == []  # none rebuilt
    assert status(at).startswith("Iteration 1 \u00b7 after M-step \u00b7 next: E-step")
    after_m = chart(at, "em2d.chart")
    means = after_m["data"][figures.means_trace_index(3)]
    drawn = np.column_stack([decode(means["x"]), decode(means["y"])])
    # The chart shows the M-step the status line and the table (built in the click's own
    # run, from the run's parameters) report: means to the table's three digits.
    np.testing.assert_allclose(drawn, _table_means(at), rtol=5e-3, atol=5e-4)
    assert not np.allclose(drawn, np.column_stack([
        decode(after_e["data"][figures.means_trace_index(3)]["x"]),
        decode(after_e["data"][figures.means_trace_index(3)]["y"])]))
    # The log-likelihood chart (also built ahead) marks the same half-step: 2 (after M of 1).
    assert decode(chart(at, "em2d.chart.ll")["data"][1]["x"]).tolist() == [2]


def test_nothing_is_built_ahead_in_a_predict_round(spec_builds: list[str]) -> None:
    """Predict first hides the next half-step until the guess: it is not computed ahead."""
    # From half-step 1 (the first E-step is no round: the points were all grey).
    at = open_page("pages/em-2d.py", {**SMALL_2D, "predict": "1", "step": "1"})
    # The opening run (no round yet) may build ahead; its thread, if still running, would
    # be counted against the click's run.
    _wait_for_prefetch()
    spec_builds.clear()
    click(at, "em2d", "M")
    assert "where will each mean move" in " ".join(i.value for i in at.info)
    _wait_for_prefetch()
    assert "gmm_app-prefetch" not in spec_builds


def test_nothing_is_built_ahead_at_the_last_half_step(spec_builds: list[str]) -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "run")
    assert "converged" in status(at)
    _wait_for_prefetch()
    spec_builds.clear()
    at.run()
    _wait_for_prefetch()
    assert "gmm_app-prefetch" not in spec_builds


def test_nothing_is_built_ahead_while_playing(spec_builds: list[str]) -> None:
    """Play's next half-step is its clock's (it skips ahead when behind): not built ahead."""
    at = open_page("pages/em-2d.py", SMALL_2D)
    _wait_for_prefetch()
    spec_builds.clear()
    click(at, "em2d", "play")
    assert [b.label for b in at.button if b.label == "Pause"] == ["Pause"]
    _wait_for_prefetch()
    assert "gmm_app-prefetch" not in spec_builds
    click(at, "em2d", "pause")
    _wait_for_prefetch()
    assert "gmm_app-prefetch" in spec_builds  # stepping by hand again: built ahead
