"""EM runs derived from the settings, and the numbers each half-step shows.

The run is a pure function of the data and the settings (the seed drives the
initialisation), so it is computed once with :func:`gmm_core.run_em` and cached
with ``st.cache_data``, keyed by one frozen :class:`~gmm_app.declared.RunSpec` (the
settings that define the run, and the data's identity: a content hash for uploaded
data). The stepper buttons only move a cursor over
its half-steps, so Back restores the previous state exactly. The history keeps
parameters only; the responsibilities of the shown step are recomputed with
:func:`gmm_core.e_step`.

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

from gmm_app import janitor
from gmm_app.bounded import CACHE_TTL_S, BoundedCache
from gmm_app.data import LoadedData
from gmm_app.declared import HEAVY_RUN_SLOTS, HEAVY_RUN_WORK, MAX_RUN_WORK, RunSpec, Settings
from gmm_app.geometry import grid_1d, grid_2d
from gmm_core import (
    EMHistory,
    GMMParams,
    e_step,
    initialize,
    run_em,
    score_samples,
    weighted_log_prob,
)


@dataclass(frozen=True)
class RunOutcome:
    """A run, or why there is none.

    Attributes
    ----------
    history : EMHistory or None
    error : str or None
        A sentence for the user when the run could not start (e.g. K larger
        than the number of distinct points).
    """

    history: EMHistory | None
    error: str | None = None


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
    """The size of a run, N x K x max_iter: what :data:`MAX_RUN_WORK` bounds."""
    return int(n_points) * int(spec.n_components) * max(int(spec.max_iter), 1)


def too_large_message(n_points: int, spec: RunSpec) -> str | None:
    """Why a run is refused (it asks more than :data:`MAX_RUN_WORK`), or None."""
    work = run_work(n_points, spec)
    if work <= MAX_RUN_WORK:
        return None
    k, iters = int(spec.n_components), max(int(spec.max_iter), 1)
    lower = [f"the iterations (Regularisation and stopping) to {MAX_RUN_WORK // (n_points * k):,}"
             if MAX_RUN_WORK // (n_points * k) >= 1 else None,
             f"K to {MAX_RUN_WORK // (n_points * iters):,}"
             if MAX_RUN_WORK // (n_points * iters) >= 1 else None,
             f"the number of points to {MAX_RUN_WORK // (k * iters):,}"]
    options = " or ".join(x for x in lower if x)
    return (
        f"This run is too large for a server shared by a class: N \u00d7 K \u00d7 iterations = "
        f"{n_points:,} \u00d7 {k} \u00d7 {iters:,} = {work:,}, and one run may do at most "
        f"{MAX_RUN_WORK:,}. Lower {options} or less."
    )


_HEAVY_SLOTS = threading.BoundedSemaphore(HEAVY_RUN_SLOTS)
_LOG = get_logger(__name__)
GAVE_UP_LOG = "A large EM run gave up its turn: its session stopped"
"""Logged (Streamlit's logger, level info) when a waiting run's visitor leaves or reruns."""


def _stop_requested() -> bool:
    """True if this script run was asked to stop or rerun (the visitor left, or changed a
    setting): a run waiting for a slot then gives up its turn."""
    ctx = get_script_run_ctx(suppress_warning=True)
    requests = getattr(ctx, "script_requests", None)
    state = getattr(requests, "_state", None)  # Streamlit's ScriptRequests (no public getter)
    return state is not None and state != ScriptRequestType.CONTINUE


@contextmanager
def _heavy_slot(work: int) -> Iterator[None]:
    """Runs larger than :data:`HEAVY_RUN_WORK` take turns (:data:`HEAVY_RUN_SLOTS` at once);
    a waiting run stops waiting when its session is stopped (disconnected) or reruns."""
    if work <= HEAVY_RUN_WORK:
        yield
        return
    while not _HEAVY_SLOTS.acquire(timeout=0.2):
        if _stop_requested():
            _LOG.info("%s (N x K x iterations = %d)", GAVE_UP_LOG, work)
            raise StopException()
    try:
        yield
    finally:
        _HEAVY_SLOTS.release()


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner="Computing the EM run\u2026")
def _run(spec: RunSpec, _X: np.ndarray) -> RunOutcome:
    # ``spec.data_key`` identifies ``_X`` (which is not hashed): built-in data by name and
    # knobs, uploaded data by a SHA-256 of its content.
    with _heavy_slot(run_work(len(_X), spec)):
        return _run_now(spec, _X)


def _run_now(spec: RunSpec, _X: np.ndarray) -> RunOutcome:
    rng = np.random.default_rng(spec.seed)
    try:
        params0 = initialize(
            _X,
            spec.n_components,
            spec.init_method,
            rng,
            means=np.asarray(spec.manual_means, dtype=float)
            if spec.init_method == "manual"
            else None,
            covariance_type=spec.covariance_type,
            reg_covar=spec.reg_covar,
        )
        history = run_em(
            _X,
            params0,
            covariance_type=spec.covariance_type,
            reg_covar=spec.reg_covar,
            tol=spec.tol,
            max_iter=spec.max_iter,
            rule=spec.stop_rule,
        )
    except ValueError as err:  # includes ComponentCollapseError
        return RunOutcome(None, f"EM could not start: {err}")
    return RunOutcome(history)


def compute_run(data: LoadedData, settings: Settings) -> RunOutcome:
    """The EM run of ``settings`` on ``data`` (cached by its :class:`RunSpec`), or a message
    saying what to lower when it asks more than :data:`MAX_RUN_WORK`."""
    janitor.ensure_started()
    spec = settings.run_spec(data.key)
    refused = too_large_message(len(data.X), spec)
    if refused:
        return RunOutcome(None, refused)
    return _run(spec, data.X)


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
