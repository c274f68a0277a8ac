"""A run computed lazily (issue 10, a fair share) shows what one uninterrupted run shows.

A page load computes only the first iterations of a run; stepping past them, a link to a
later step, and "Run to convergence" compute more, each within a budget. The segments are
made tiny here (3 iterations on load, 2 more per click, one per "Run to convergence" press)
so that every click crosses the end of what is computed. Oracle: the status line of every
half-step of ONE uninterrupted ``gmm_core.run_em`` of the same settings (Old Faithful,
K = 2, seed 0: converged after 21 iterations at -1130.26), formatted by ``status_line``.
"""

from __future__ import annotations

import numpy as np
import pytest

from gmm_app import cursor, engine, stepper
from gmm_app.formatting import MINUS, computed_so_far, status_line, still_computing
from gmm_core import EMHistory, datasets, initialize, run_em
from tests.test_app_pages import click, open_page, status

FAITHFUL = {"dataset": "old_faithful", "K": "2", "cov": "full", "init": "random_from_data",
            "seed": "0"}


@pytest.fixture
def tiny_segments(monkeypatch: pytest.MonkeyPatch):
    engine._RUNS.clear()  # no run computed by another test
    monkeypatch.setattr(engine, "RUN_FIRST_ITERATIONS", 3)
    monkeypatch.setattr(engine, "RUN_STEP_ITERATIONS", 2)
    yield
    engine._RUNS.clear()


@pytest.fixture(scope="module")
def whole() -> EMHistory:
    """The same run, uninterrupted, straight from gmm_core (the app's defaults)."""
    X = datasets.load("old_faithful").X
    params0 = initialize(X, 2, "random_from_data", np.random.default_rng(0),
                         covariance_type="full", reg_covar=1e-6)
    history = run_em(X, params0, covariance_type="full", reg_covar=1e-6, tol=1e-3,
                     max_iter=300, rule="aitken")
    assert history.stop_reason == "converged"
    assert history.n_iter == 21
    return history


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


def captions(at) -> str:
    return " ".join(c.value for c in at.caption)


def test_a_page_load_computes_only_the_first_iterations(tiny_segments, whole) -> None:
    at = open_page("pages/em-2d.py", FAITHFUL)
    assert at.slider(key="em2d.step").max == 6  # 3 iterations: init + 3 x (E, M)
    assert status(at) == status_line(whole, 0)
    assert "Computed so far: 3 of at most 300 iterations" in captions(at)


def test_stepping_through_shows_the_uninterrupted_runs_status_lines(tiny_segments,
                                                                   whole) -> None:
    at = open_page("pages/em-2d.py", FAITHFUL)
    for half_step in range(1, len(whole.steps)):
        click(at, "em2d", "E" if half_step % 2 else "M")
        assert status(at) == status_line(whole, half_step), half_step
    assert f"converged \u00b7 log-likelihood {MINUS}1130.26" in status(at)
    assert "Computed so far" not in captions(at)  # the end is known now
    click(at, "em2d", "E")
    assert "EM has stopped here. Converged after 21 iteration(s)" in infos(at)


def test_run_to_convergence_says_still_computing_until_the_end(tiny_segments, whole,
                                                               monkeypatch) -> None:
    # A budget that ends after one iteration: each press computes one more.
    monkeypatch.setattr(engine, "RUN_TO_END_BUDGET_S", 0.0)
    monkeypatch.setattr(stepper, "RUN_TO_END_BUDGET_S", 0.0)
    at = open_page("pages/em-2d.py", FAITHFUL)
    presses = 0
    while "Converged after" not in infos(at):
        click(at, "em2d", "run")
        presses += 1
        n_iter = int(status(at).split()[1])
        assert status(at) == status_line(whole, 2 * n_iter)
        if n_iter < whole.n_iter:
            assert "Not finished yet: EM has run" in infos(at)
            assert "(one press computes for at most 0 s). Press again" in infos(at)
        assert presses <= whole.n_iter
    assert presses == whole.n_iter - 3  # 3 iterations were computed by the page load
    assert status(at) == status_line(whole, len(whole.steps) - 1)


def test_a_link_to_a_later_step_computes_up_to_it(tiny_segments, whole) -> None:
    at = open_page("pages/em-2d.py", {**FAITHFUL, "step": "30"})
    assert status(at) == status_line(whole, 30)
    at.slider(key="em2d.step").set_value(at.slider(key="em2d.step").max).run()
    assert status(at) == status_line(whole, int(at.slider(key="em2d.step").value))


def test_a_link_to_a_later_step_is_reached_when_a_click_budget_is_not_enough(
        tiny_segments, whole, monkeypatch) -> None:
    # One click's budget computes one iteration here (a loaded server, a large run); the
    # link's step is still shown, not an earlier one kept in its place.
    monkeypatch.setattr(engine, "RUN_CLICK_BUDGET_S", 0.0)
    at = open_page("pages/em-2d.py", {**FAITHFUL, "step": "30"})
    assert status(at) == status_line(whole, 30)
    click(at, "em2d", "E")  # and the click after it is an ordinary one
    assert status(at) == status_line(whole, 31)


# --------------------------------------------------------------------------- pure parts
def _cut(history: EMHistory, n_iter: int) -> EMHistory:
    X = datasets.load("old_faithful").X
    calls = iter(range(10**6))
    return run_em(X, history.steps[0].params, should_stop=lambda: next(calls) >= n_iter)


def test_the_computed_end_of_a_run_is_not_called_its_end(whole) -> None:
    part = _cut(whole, 4)
    assert part.stop_reason == "stopped"
    assert status_line(part, 8) == status_line(whole, 8)  # "next: E-step", not "converged"
    phases = [s.phase for s in part.steps]
    words = still_computing(part, 300, 8.0)
    for action in ("E", "M", "iterate", "run", "play"):
        move = cursor.move(action, 8, phases, words, end_known=False)
        assert move.cursor == 8
        assert move.message == words  # never "EM has stopped here"
        assert not move.at_end
    assert cursor.move("M", 7, phases, words, end_known=False).cursor == 8
    assert words.startswith("Not finished yet: EM has run 4 iteration(s) of at most 300")
    assert "at most 8 s" in words
    assert computed_so_far(part, 300).startswith("Computed so far: 4 of at most 300")


def test_a_fragment_rerun_sees_what_is_computed_by_now(tiny_segments, whole) -> None:
    # A fragment reruns with the outcome of its page's last full run; the run may have been
    # computed further since (by this session or another): the stepper gets the longer one.
    from gmm_app.data import load_data
    from gmm_app.declared import STEPPER_PAGE, Settings

    settings = Settings.defaults(STEPPER_PAGE[2], "old_faithful").replace(
        n_components=2, seed=0, init_method="random_from_data")
    data = load_data(settings, None)
    spec = settings.run_spec(data.key)
    stale = engine.RunOutcome(_cut(whole, 3), None, 300)
    run = engine._RUNS.get_or_compute(spec, engine._Run)
    run.outcome = engine.RunOutcome(_cut(whole, 10), None, 300)
    got = engine.extend_run(data, settings, stale, None, 0)
    assert got.history.n_iter == 10
    run.outcome = engine.RunOutcome(whole, None, 300)
    assert engine.extend_run(data, settings, stale, "E", 0).complete


def test_the_model_pages_stop_on_the_same_hook(monkeypatch) -> None:
    # The choose-K sweep stops between models when its session stops or reruns.
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    from gmm_app import models

    monkeypatch.setattr(models, "stop_requested", lambda: True)
    X = datasets.load("old_faithful").X
    with pytest.raises(StopException):
        models.sweep("old_faithful-stop-test", X, 2, 1, 0)
    # So do the restarts, between starts, and a partial list is not cached.
    with pytest.raises(StopException):
        models.restarts("old_faithful-stop-test", X, 2, "full", "kmeans++", 0, 12)


@pytest.mark.parametrize("fragment_run", [False, True], ids=["page run", "fragment run"])
def test_stop_requested_follows_streamlits_own_interruptions(monkeypatch,
                                                              fragment_run) -> None:
    # Oracle: Streamlit's ScriptRequests.on_scriptrunner_yield, which decides whether the run
    # in progress is interrupted. A page run goes on while a click in a fragment (or Play's
    # timer) waits for it; stopping it there left the page half drawn (StopException).
    from types import SimpleNamespace

    from streamlit.runtime.scriptrunner_utils.script_requests import (
        RerunData,
        ScriptRequests,
    )

    requests = ScriptRequests()
    ctx = SimpleNamespace(script_requests=requests,
                          fragment_ids_this_run=["stepper"] if fragment_run else None)
    monkeypatch.setattr(engine, "get_script_run_ctx", lambda **_: ctx)
    assert not engine.stop_requested()  # nothing asked

    requests.request_rerun(RerunData(fragment_id="stepper"))  # a click in the fragment
    streamlit_interrupts = requests.on_scriptrunner_yield() is not None
    assert not streamlit_interrupts
    # A page run goes on as Streamlit does; a fragment's run gives way to the newer click.
    assert engine.stop_requested() is fragment_run

    requests.request_rerun(RerunData(query_string="K=3"))  # a setting changed: whole page
    assert engine.stop_requested()
    assert requests.on_scriptrunner_yield() is not None  # Streamlit interrupts it too

    requests.request_stop()  # the visitor left
    assert engine.stop_requested()


class _FailingWorker:
    """A worker whose process dies on every job after the first ``good`` ones."""

    def __init__(self, good: int) -> None:
        self.good = good

    def run(self, job, stop):
        from gmm_app import em_worker

        if self.good <= 0:
            raise RuntimeError("the EM worker process ended unexpectedly")
        self.good -= 1
        return em_worker.compute(job, stop)


def test_a_worker_that_dies_is_said_and_not_kept(tiny_segments, whole, monkeypatch) -> None:
    monkeypatch.setattr(engine, "HEAVY_RUN_WORK", 0)  # every run goes to the worker
    monkeypatch.setattr(engine.em_worker, "AVAILABLE", True)
    monkeypatch.setattr(engine, "_WORKER", _FailingWorker(good=0))
    at = open_page("pages/em-2d.py", FAITHFUL)
    assert not at.exception
    assert [e.value for e in at.error] == [engine.WORKER_FAILED]
    # The failure is not the run's outcome: the next visit computes it.
    monkeypatch.setattr(engine, "_WORKER", _FailingWorker(good=10**6))
    at = open_page("pages/em-2d.py", FAITHFUL)
    assert not at.error
    assert status(at) == status_line(whole, 0)


def test_a_worker_dying_later_keeps_what_is_computed(tiny_segments, whole,
                                                     monkeypatch) -> None:
    monkeypatch.setattr(engine, "HEAVY_RUN_WORK", 0)
    monkeypatch.setattr(engine.em_worker, "AVAILABLE", True)
    monkeypatch.setattr(engine, "_WORKER", _FailingWorker(good=1))  # the page load's piece
    at = open_page("pages/em-2d.py", FAITHFUL)
    for half_step in range(1, 7):  # the 3 iterations computed on load
        click(at, "em2d", "E" if half_step % 2 else "M")
    assert not at.exception
    assert engine.WORKER_FAILED in " ".join(w.value for w in at.warning)
    assert status(at) == status_line(whole, 6)  # still shown, still stepping back
    click(at, "em2d", "back")
    assert status(at) == status_line(whole, 5)
    monkeypatch.setattr(engine, "_WORKER", _FailingWorker(good=10**6))
    click(at, "em2d", "iterate")
    assert status(at) == status_line(whole, 6)
    click(at, "em2d", "E")
    assert status(at) == status_line(whole, 7)  # computed on from what was kept


def test_a_run_dropped_from_the_cache_goes_on_from_what_the_session_shows(
        tiny_segments, whole, monkeypatch) -> None:
    # The runs' cache is bounded: a run a session still shows may be dropped from it (or be
    # put back shorter by another session). A click near the end of what the session shows
    # must continue ITS history, not start again with a piece that ends further back (the
    # slider's cursor was then clamped back, a step the student had seen gone).
    from gmm_app.data import load_data
    from gmm_app.declared import STEPPER_PAGE, Settings

    monkeypatch.setattr(engine, "RUN_CLICK_BUDGET_S", 0.0)  # one iteration per click
    settings = Settings.defaults(STEPPER_PAGE[2], "old_faithful").replace(
        n_components=2, seed=0, init_method="random_from_data")
    data = load_data(settings, None)
    shown = engine.RunOutcome(_cut(whole, 10), None, 300)
    engine._RUNS.clear()  # dropped
    got = engine.extend_run(data, settings, shown, "E", 20)
    assert got.history.n_iter == 11
    np.testing.assert_array_equal(got.history.log_likelihoods,
                                  whole.log_likelihoods[: len(got.history.steps)])
    # Another session put a shorter piece back: the longer one still wins.
    spec = settings.run_spec(data.key)
    engine._RUNS.get_or_compute(spec, engine._Run).outcome = engine.RunOutcome(
        _cut(whole, 2), None, 300)
    assert engine.extend_run(data, settings, got, "E", 22).history.n_iter == 12


def test_the_waiting_message_names_every_setting_that_makes_a_run_large() -> None:
    # A run waits when N x K x max_iter is above HEAVY_RUN_WORK; at the default 600 points
    # only K or max_iter can make it so, and lowering max_iter alone ends the wait.
    from types import SimpleNamespace

    from gmm_app.declared import FIELD, HEAVY_RUN_WORK

    assert engine.run_work(600, SimpleNamespace(n_components=10, max_iter=1000)) \
        > HEAVY_RUN_WORK >= engine.run_work(600, SimpleNamespace(n_components=10, max_iter=300))
    assert "number of points" in engine.WAITING
    assert f"'{FIELD['max_iter'].label}'" in engine.WAITING  # the widget's own label


def test_a_waiting_run_gives_up_its_turn_when_its_session_stops(monkeypatch) -> None:
    # (A browser test of this depended on how long another tab's run held the slot: lazily
    # computed pieces end within a second on a quiet machine.) Another large run holds the
    # only slot; this one waits, and gives up as soon as its session stops.
    import threading
    import time

    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    assert engine.HEAVY_RUN_SLOTS == 1
    stop = threading.Event()
    monkeypatch.setattr(engine, "_stop_requested", stop.is_set)
    outcome: list[str] = []

    def large_run() -> None:
        try:
            with engine._heavy_slot(engine.HEAVY_RUN_WORK + 1):
                outcome.append("ran")
        except StopException:
            outcome.append("gave up")

    assert engine._HEAVY_SLOTS.acquire(blocking=False)  # the other run's turn
    try:
        waiting = threading.Thread(target=large_run)
        waiting.start()
        time.sleep(0.6)
        assert waiting.is_alive()  # it waits for its turn
        assert outcome == []
        stop.set()  # its visitor leaves
        waiting.join(5.0)
        assert outcome == ["gave up"]
    finally:
        engine._HEAVY_SLOTS.release()
    assert engine._HEAVY_SLOTS.acquire(blocking=False)  # the slot is free again
    engine._HEAVY_SLOTS.release()
