"""EM runs derived from the settings, and the numbers each half-step shows.

The run is a pure function of the data and the settings (the seed drives the
initialisation), keyed by one frozen :class:`~gmm_app.declared.RunSpec` (the settings
that define the run, and the data's identity: a content hash for uploaded data). The
stepper buttons only move a cursor over its half-steps, so Back restores the previous
state exactly. The history keeps parameters only; the responsibilities of the shown step
are recomputed with :func:`gmm_core.e_step`.

A fair share (issue 10): a run is computed lazily, as far as its visitors step. A page
load computes the first :data:`RUN_FIRST_ITERATIONS` iterations at most, within
:data:`RUN_PAGE_BUDGET_S` of wall time; a click near the end of what is computed adds
:data:`RUN_STEP_ITERATIONS`, "Run to convergence" goes on to the end, each within its own
wall-time budget. Every piece continues the same run (``run_em(..., resume=history)``), so
the history, and the stopping rule's decision, are exactly those of one uninterrupted run.
A run computing stops within one iteration when its session disconnects or reruns (the
``should_stop`` hook of :func:`gmm_core.run_em`); what it computed is kept. The histories
computed so far live in one bounded cache shared by all sessions, one entry per RunSpec.

Every number comes from :mod:`gmm_core`; this module only selects and arranges.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.logger import get_logger
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from gmm_app import em_worker, janitor
from gmm_app.bounded import MIB, BoundedCache
from gmm_app.data import LoadedData
from gmm_app.declared import (
    HEAVY_RUN_SLOTS,
    HEAVY_RUN_WORK,
    MAX_ITERATION_WORK,
    RUN_CLICK_BUDGET_S,
    RUN_FIRST_ITERATIONS,
    RUN_PAGE_BUDGET_S,
    RUN_STEP_ITERATIONS,
    RUN_TO_END_BUDGET_S,
    RunSpec,
    Settings,
)
from gmm_app.geometry import grid_1d, grid_2d
from gmm_core import (
    EMHistory,
    GMMParams,
    clear_memory_pool,
    e_step,
    score_samples,
    weighted_log_prob,
)


@dataclass(frozen=True)
class RunOutcome:
    """A run (as far as it is computed), or why there is none.

    Attributes
    ----------
    history : EMHistory or None
        The half-steps computed so far; ``stop_reason == "stopped"`` while the run
        has not ended (see :attr:`complete`).
    error : str or None
        A sentence for the user when the run could not start (e.g. K larger
        than the number of distinct points).
    max_iter : int
        The run's iteration limit (its end is at or before it).
    """

    history: EMHistory | None
    error: str | None = None
    max_iter: int = 0

    @property
    def complete(self) -> bool:
        """True when the run has ended (or could not start): nothing more to compute."""
        return self.history is None or self.history.stop_reason != "stopped"


def manual_means_problem(settings: Settings) -> str | None:
    """Why a manual initialisation cannot start yet (too few or too many means), or None."""
    if settings.init_method != "manual":
        return None
    have, need = len(settings.manual_means), settings.n_components
    if have == need:
        return None
    how = (
        "Click data points on the chart (or type them in the sidebar)"
        if settings.n_features == 2
        else "Type them in the sidebar, separated by commas"
    )
    if have < need:
        return (
            f"Manual initialisation needs K = {need} starting means; {have} given. "
            f"{how} to give {need - have} more."
        )
    return (
        f"Manual initialisation needs K = {need} starting means, but {have} were given. "
        "Remove some, or raise K."
    )


def run_work(n_points: int, spec: RunSpec) -> int:
    """The size of a whole run, N x K x max_iter (runs above :data:`HEAVY_RUN_WORK` take
    turns)."""
    return int(n_points) * int(spec.n_components) * max(int(spec.max_iter), 1)


def too_large_message(n_points: int, spec: RunSpec) -> str | None:
    """Why a run is refused (one iteration would cost more than :data:`MAX_ITERATION_WORK`,
    N x K), or None. Long runs are not refused: they are computed as far as they are shown."""
    k = int(spec.n_components)
    work = int(n_points) * k
    if work <= MAX_ITERATION_WORK:
        return None
    lower = [f"K to {MAX_ITERATION_WORK // n_points:,}" if MAX_ITERATION_WORK // n_points >= 1
             else None,
             f"the number of points to {MAX_ITERATION_WORK // k:,}"]
    options = " or ".join(x for x in lower if x)
    return (
        "One EM iteration of this run is too costly for a server shared by a class: "
        f"N \u00d7 K = {n_points:,} \u00d7 {k} = {work:,}, and one iteration may cover at "
        f"most {MAX_ITERATION_WORK:,}. Lower {options} or less."
    )


_HEAVY_SLOTS = threading.BoundedSemaphore(HEAVY_RUN_SLOTS)
_LOG = get_logger(__name__)
GAVE_UP_LOG = "A large EM run gave up its turn: its session stopped"
"""Logged (Streamlit's logger, level info) when a waiting run's visitor leaves or reruns."""
STOPPED_LOG = "An EM run stopped computing: its session stopped or reran"
"""Logged (level info) when a run being computed stops because its visitor left or reran."""
COMPUTING = "Computing the EM run\u2026"
WAITING = (
    "This run is large (N \u00d7 K \u00d7 iterations above "
    f"{HEAVY_RUN_WORK:,}), so it waits for its turn: the server computes one large run at a "
    "time, so that everyone's clicks stay quick. For a quicker start, lower the number of "
    "points, K or 'Maximum iterations'."
)


def stop_requested() -> bool:
    """True if this script run was asked to stop or rerun (the visitor left, or changed a
    setting): a run waiting for a slot then gives up its turn, and a run computing stops
    (the ``should_stop`` hook of :func:`gmm_core.run_em`). Cheap: a few attribute reads.

    A rerun of fragments only (a click in the stepper's fragment, Play's timer) does not
    interrupt a whole-page run in Streamlit: it waits for the page run to end. Such a run
    goes on too (stopping it would leave the page half drawn, its stepper missing); a
    fragment's own run stops for it (the newer click in the fragment replaces this one).
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    requests = getattr(ctx, "script_requests", None)
    state = getattr(requests, "_state", None)  # Streamlit's ScriptRequests (no public getter)
    if state is None or state == ScriptRequestType.CONTINUE:
        return False
    if state == ScriptRequestType.RERUN and not getattr(ctx, "fragment_ids_this_run", None):
        pending = getattr(requests, "_rerun_data", None)
        # Streamlit's rule (ScriptRequests.on_scriptrunner_yield): a queue of fragments that
        # is not a fragment-scoped rerun does not preempt the run in progress.
        if (pending is not None and getattr(pending, "fragment_id_queue", None)
                and not getattr(pending, "is_fragment_scoped_rerun", False)):
            return False
    return True


_stop_requested = stop_requested


def _acquire(lock: threading.Lock | threading.BoundedSemaphore, work: int) -> None:
    """Wait for ``lock``; give up (StopException) when this session is stopped or reruns."""
    while not lock.acquire(timeout=0.2):
        if _stop_requested():
            _LOG.info("%s (N x K x iterations = %d)", GAVE_UP_LOG, work)
            raise StopException()


@contextmanager
def _heavy_slot(work: int) -> Iterator[None]:
    """Runs larger than :data:`HEAVY_RUN_WORK` take turns (:data:`HEAVY_RUN_SLOTS` at once);
    a waiting run stops waiting when its session is stopped (disconnected) or reruns."""
    if work <= HEAVY_RUN_WORK:
        yield
        return
    if not _HEAVY_SLOTS.acquire(blocking=False):
        note = st.empty()
        note.info(WAITING, icon=":material/hourglass_top:")
        try:
            _acquire(_HEAVY_SLOTS, work)
        finally:
            note.empty()
    try:
        yield
    finally:
        _HEAVY_SLOTS.release()


class _Run:
    """One run as far as it is computed, shared by every session showing it; ``lock`` makes
    the sessions that ask for more of it at once compute it once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcome: RunOutcome | None = None


# ``RunSpec.data_key`` identifies the data: built-in data by name and knobs, uploaded data by
# a SHA-256 of its content; so the spec alone keys the run.
_RUNS = BoundedCache("gmm_app.engine.runs", max_bytes=128 * MIB)
janitor.register(_RUNS.clear)
janitor.register(clear_memory_pool)  # EM's scratch memory kept between runs


def _history_bytes(history: EMHistory | None) -> int:
    """Approximate bytes of a history: its distinct parameter sets and its half-steps."""
    if history is None:
        return 1024
    distinct = {id(s.params): s.params for s in history.steps}.values()
    arrays = sum(p.weights.nbytes + p.means.nbytes + p.covariances.nbytes + 3 * 112 + 200
                 for p in distinct)
    return arrays + 120 * len(history.steps) + 1024


WORKER_FAILED = (
    "The server could not compute this run: the process that computes large runs failed "
    "(perhaps out of memory). Reload the page or press the button again to retry; if it "
    "fails again, lower the number of points or K."
)


class _WorkerFailed(Exception):
    """A piece failed in the worker: said on the page, never kept as the run's outcome (a
    passing failure must not replace what is computed, nor stay for every session)."""


_WORKER = em_worker.Worker()
"""The process that computes runs above :data:`HEAVY_RUN_WORK` (see :mod:`gmm_app.em_worker`)."""
janitor.register(_WORKER.end)  # no visitors for a while: the worker's memory is returned


def _compute(spec: RunSpec, X: np.ndarray, before: EMHistory | None, iterations: int,
             seconds: float, heavy: bool) -> RunOutcome:
    """``before`` (or the run's start) continued by up to ``iterations`` iterations within
    ``seconds``, stopping within an iteration if this session stops or reruns. A ``heavy``
    run is computed in the worker process, at a lower priority than the server's threads."""
    job = em_worker.Job(
        X, spec.n_components, spec.init_method, spec.seed, tuple(spec.manual_means),
        spec.covariance_type, spec.reg_covar, spec.tol, spec.max_iter, spec.stop_rule,
        before, iterations, seconds,
    )
    stopped = False

    def stop() -> bool:
        nonlocal stopped
        stopped = stopped or stop_requested()
        return stopped

    if heavy:
        try:
            got = _WORKER.run(job, stop)
        except em_worker.Stopped as err:
            got = err.args[0]
        except RuntimeError as err:  # the worker died (e.g. killed out of memory) or failed
            if stop():
                raise StopException() from None
            _LOG.warning("The EM worker failed: %s", err)
            raise _WorkerFailed(WORKER_FAILED) from None
    else:
        got = em_worker.compute(job, stop)
    if stopped:
        done = got.n_iter if isinstance(got, EMHistory) else 0
        _LOG.info("%s (%d iteration(s) computed; N x K x max_iter = %d)", STOPPED_LOG, done,
                  run_work(len(X), spec))
        if not isinstance(got, EMHistory):
            raise StopException()
    if isinstance(got, str):
        return RunOutcome(None, got, spec.max_iter)
    return RunOutcome(got, None, spec.max_iter)


def _longer(a: RunOutcome | None, b: RunOutcome | None) -> RunOutcome | None:
    """Whichever of two outcomes of one run has more half-steps (``a`` on a tie)."""
    if b is None or b.history is None:
        return a if a is not None else b
    if a is None or a.history is None or len(b.history.steps) > len(a.history.steps):
        return b
    return a


def _advance(spec: RunSpec, X: np.ndarray, through: int, seconds: float,
             known: RunOutcome | None = None) -> RunOutcome:
    """The run of ``spec`` computed through iteration ``through`` at least (or to its end),
    within ``seconds`` of wall time for this call's share. ``known``: the part the caller
    shows already; the shared cache may have dropped the run (bounded) or hold less of it,
    and the run goes on from the longer of the two, never from further back."""
    run = _RUNS.get_or_compute(spec, _Run)

    def enough(outcome: RunOutcome | None) -> bool:
        return outcome is not None and (outcome.complete or outcome.history.n_iter >= through)

    if enough(run.outcome):  # computed already (by this session or another)
        return run.outcome  # type: ignore[return-value]
    work = run_work(len(X), spec)
    with st.spinner(COMPUTING):  # shown after half a second only
        _acquire(run.lock, work)  # another session computing this run: wait, then share it
        try:
            outcome = _longer(run.outcome, known)
            if enough(outcome):
                return outcome  # type: ignore[return-value]
            before = None if outcome is None else outcome.history
            done = 0 if before is None else before.n_iter
            try:
                with _heavy_slot(work):
                    outcome = _compute(spec, X, before, max(through - done, 1), seconds,
                                       heavy=work > HEAVY_RUN_WORK and em_worker.AVAILABLE)
            except _WorkerFailed as err:
                if outcome is None:  # nothing computed yet: the page says why
                    return RunOutcome(None, str(err), spec.max_iter)
                st.warning(str(err), icon=":material/error:")  # what is computed stays
                return outcome
            run.outcome = outcome
            _RUNS.put(spec, run, _history_bytes(outcome.history))
            return outcome
        finally:
            run.lock.release()


def compute_run(data: LoadedData, settings: Settings) -> RunOutcome:
    """The EM run of ``settings`` on ``data`` as far as it is computed: at least its first
    :data:`RUN_FIRST_ITERATIONS` iterations (fewer if :data:`RUN_PAGE_BUDGET_S` runs out),
    or a message saying what to lower when one iteration would be too costly."""
    janitor.ensure_started()
    spec = settings.run_spec(data.key)
    refused = too_large_message(len(data.X), spec)
    if refused:
        return RunOutcome(None, refused, spec.max_iter)
    return _advance(spec, data.X, RUN_FIRST_ITERATIONS, RUN_PAGE_BUDGET_S)


LOOKAHEAD_HALF_STEPS = 3
"""A click whose cursor is this close to the end of what is computed computes more."""


def extend_run(data: LoadedData, settings: Settings, outcome: RunOutcome,
               action: str | None, cursor: int) -> RunOutcome:
    """More of a run that has not ended, when a click needs it.

    "Run to convergence" (``action == "run"``) goes on towards the end within
    :data:`RUN_TO_END_BUDGET_S`; any other click (or the slider) whose ``cursor`` is near the
    end of what is computed adds :data:`RUN_STEP_ITERATIONS` within
    :data:`RUN_CLICK_BUDGET_S`. Otherwise ``outcome`` is returned as it is.
    """
    if outcome.complete or outcome.history is None:
        return outcome
    spec = settings.run_spec(data.key)
    # A fragment's rerun gets the outcome its page run had: take what is computed by now.
    outcome = _longer(outcome, _RUNS.get_or_compute(spec, _Run).outcome)  # type: ignore[assignment]
    history = outcome.history
    if outcome.complete:
        return outcome
    if action == "run":
        return _advance(spec, data.X, spec.max_iter, RUN_TO_END_BUDGET_S, outcome)
    if cursor + LOOKAHEAD_HALF_STEPS >= len(history.steps) - 1:
        # Half-step 2t is iteration t's M-step; a link may ask for a step further on.
        through = max(history.n_iter + RUN_STEP_ITERATIONS,
                      (cursor + LOOKAHEAD_HALF_STEPS) // 2 + 1)
        # A cursor past what is computed comes from a link (the slider ends at the computed
        # end): it gets Run to convergence's budget, as one click's might not reach its step
        # and the stepper then shows (and keeps) an earlier one.
        beyond = cursor > len(history.steps) - 1
        return _advance(spec, data.X, through,
                        RUN_TO_END_BUDGET_S if beyond else RUN_CLICK_BUDGET_S, outcome)
    return outcome


@dataclass(frozen=True)
class StepView:
    """What one half-step shows.

    Attributes
    ----------
    params : GMMParams
        The parameters of the half-step (the Gaussians drawn).
    resp : ndarray, shape (N, K), or None
        The responsibilities the colours show: those of the most recent E-step
        at or before the half-step (an M-step moves the Gaussians, not the
        colours). None before the first E-step.
    nk : ndarray, shape (K,), or None
        :math:`N_k = \\sum_n \\gamma_{nk}` of ``resp``.
    collapsed : int or None
        The component that collapsed, on the run's last half-step.
    error : str or None
        Why the responsibilities could not be computed.
    """

    params: GMMParams
    resp: np.ndarray | None
    nk: np.ndarray | None
    collapsed: int | None
    error: str | None = None


_RESPONSIBILITIES = BoundedCache("gmm_app.engine.responsibilities", max_bytes=256 * 1024 * 1024)
janitor.register(_RESPONSIBILITIES.clear)


def step_view(
    X: np.ndarray, history: EMHistory, cursor: int, key: Hashable | None = None
) -> StepView:
    """Parameters and responsibilities shown at half-step ``cursor``; X has shape (N, D).

    With ``key`` (the run's identity, e.g. its :class:`RunSpec`), the responsibilities of
    each E-step are computed once and kept in a bounded cache: an M-step, Back or the
    slider over half-steps already seen costs no E-step (issue 10: cheap clicks).
    """
    steps = history.steps
    params = steps[cursor].params
    last_e = next((i for i in range(cursor, -1, -1) if steps[i].phase == "E"), None)
    collapsed = (
        history.collapse.component
        if history.collapse is not None and cursor == len(steps) - 1
        else None
    )
    if last_e is None:
        return StepView(params, None, None, collapsed)
    def compute() -> tuple[np.ndarray, np.ndarray] | str:
        try:
            resp, _ = e_step(X, steps[last_e].params)
        except ValueError as err:
            return str(err)
        resp.setflags(write=False)  # shared by the sessions that show this step
        return resp, resp.sum(axis=0)

    got = compute() if key is None else _RESPONSIBILITIES.get_or_compute((key, last_e), compute)
    if isinstance(got, str):
        return StepView(params, None, None, collapsed, got)
    return StepView(params, got[0], got[1], collapsed)


def point_log_weighted(x: np.ndarray, params: GMMParams) -> np.ndarray:
    """:math:`\\log \\pi_k + \\log \\mathcal{N}(x \\mid \\mu_k, \\Sigma_k)` for one point.

    ``x`` has shape (D,); returns shape (K,).
    """
    return weighted_log_prob(np.asarray(x, dtype=float).reshape(1, -1), params)[0]


def density_grid_2d(
    X: np.ndarray, params: GMMParams, n_points: int = 70
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log mixture density on a grid over the data (N, 2): ``(gx (G,), gy (G,), z (G, G))``.

    ``z[i, j] = log p((gx[j], gy[i]))``; logarithms, so that evenly spaced contour
    levels circle every cluster instead of crowding at the highest peak.
    """
    gx, gy, points = grid_2d(X, n_points)
    z = score_samples(points, params).reshape(gy.size, gx.size)
    return gx, gy, z


@dataclass(frozen=True)
class Curves1D:
    """The 1-D chart's curves on a grid of G points.

    Attributes
    ----------
    grid : ndarray, shape (G,)
    component_density : ndarray, shape (G, K)
        :math:`\\pi_k \\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2)`.
    mixture_density : ndarray, shape (G,)
    grid_resp : ndarray, shape (G, K), or None
        :math:`\\gamma_k(x)` under the parameters of the last E-step.
    """

    grid: np.ndarray
    component_density: np.ndarray
    mixture_density: np.ndarray
    grid_resp: np.ndarray | None


def curves_1d(
    X: np.ndarray, params: GMMParams, resp_params: GMMParams | None, n_points: int = 400
) -> Curves1D:
    """Densities of ``params`` and responsibilities of ``resp_params`` along x (X: (N, 1))."""
    grid = grid_1d(X[:, 0], n_points)
    g = grid.reshape(-1, 1)
    comp = np.exp(weighted_log_prob(g, params))
    mixture = np.exp(score_samples(g, params))
    grid_resp = e_step(g, resp_params)[0] if resp_params is not None else None
    return Curves1D(grid, comp, mixture, grid_resp)


def last_e_params(history: EMHistory, cursor: int) -> GMMParams | None:
    """Parameters of the most recent E-step at or before ``cursor`` (None before any)."""
    for i in range(cursor, -1, -1):
        if history.steps[i].phase == "E":
            return history.steps[i].params
    return None
