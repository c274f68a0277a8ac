"""The numbers of the model pages (/choose-k, /restarts, /kmeans-vs-gmm and the steppers'
"sample" and "unusual points" panels): gmm_core calls, cached, arranged as plain data.

Every number comes from :mod:`gmm_core`; this module only runs, caches and tabulates.
Caches are keyed by the data's identity (``LoadedData.key``: name and knobs of a built-in
set, a content hash of uploaded data) and the settings, with ``max_entries`` bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from gmm_app.bounded import CACHE_TTL_S
from gmm_app.engine import stop_requested
from gmm_core import (
    COVARIANCE_TYPES,
    EMHistory,
    FitResult,
    GMMParams,
    KMeansStep,
    ModelScore,
    e_step,
    fit_starts,
    group_optima,
    initialize,
    kfold_indices,
    n_parameters,
    run_em,
    run_kmeans,
    sample_two_stage,
    score_model,
    shared_variance_e_step,
    shared_variance_m_step,
    shared_variance_params,
    unusual_points,
)

if TYPE_CHECKING:
    import pandas as pd
else:
    from gmm_app.lazy import pandas as pd  # imported at first use (issue 11)

SWEEP: dict = {
    "ks": tuple(range(1, 11)),
    "n_folds": 5,
    "n_init": 3,
    "seed": 0,
    "init_method": "kmeans++",
    "reg_covar": 1e-6,
    "tol": 1e-3,
    # scikit-learn's stopping rule (mean per-point change below tol): about 8 iterations
    # per fit where the stepper's honest Aitken rule takes about 70 (overfitted models
    # crawl), and the whole sweep is 720 EM runs. The stepper link carries the rule, so
    # the stepper replays exactly the fit that was scored.
    "rule": "loglik_change",
    # A modest cap: nearly every fit converges in far fewer iterations.
    "max_iter": 100,
}
"""The /choose-k sweep's settings (the page changes folds, starts and seed)."""

RESTARTS: dict = {"tol": 1e-3, "max_iter": 500, "reg_covar": 1e-6, "rule": "aitken"}
"""Restarts run with the stepper's own (Aitken) rule: each stops when less than 0.001 of
log-likelihood is left to gain, so starts at the same optimum agree to about 0.01."""

SHARED_VARIANCES: tuple[str, ...] = ("learned", "1", "0.3", "0.1", "0.03", "0.01", "0.001",
                                     "0.0001")
"""Choices of EM's variance on /kmeans-vs-gmm: "learned" (ordinary EM with full
covariances), or a shared σ² fixed at this multiple of the data's variance."""


def parameter_formula(covariance_type: str) -> str:
    """The number of free parameters of a K-component mixture in D dimensions, in words."""
    cov = {
        "full": "K·D(D+1)/2",
        "tied": "D(D+1)/2",
        "diag": "K·D",
        "spherical": "K",
    }[covariance_type]
    return f"(K−1) weights + K·D means + {cov} covariance"


# --------------------------------------------------------------------------- choose K
@st.cache_data(max_entries=2000, ttl=CACHE_TTL_S, show_spinner=False)
def _score(
    data_key: str, _X: np.ndarray, k: int, cov: str, n_folds: int, n_init: int, seed: int
) -> ModelScore:
    # data_key identifies _X (not hashed). The folds depend only on N and the seed, so
    # every model of a sweep is scored on the same folds.
    folds = kfold_indices(_X.shape[0], n_folds, np.random.default_rng(seed))
    seeds = [seed + j for j in range(n_init)]
    kw = {k_: SWEEP[k_] for k_ in ("init_method", "reg_covar", "tol", "max_iter", "rule")}
    return score_model(_X, k, cov, folds, seeds, **kw)


def max_components(X: np.ndarray) -> int:
    """The largest K of the sweep that the data allow (K at most the number of points)."""
    return int(min(max(SWEEP["ks"]), X.shape[0] // 2))


def sweep(
    data_key: str,
    X: np.ndarray,
    n_folds: int,
    n_init: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[ModelScore]:
    """Score every K (1..10) and covariance type on X (N, D); each model cached on its own.

    ``progress(done, total)`` is called after each model (fits run only on a cache miss).
    """
    n_folds = int(min(n_folds, X.shape[0]))
    covs = COVARIANCE_TYPES if X.shape[1] > 1 else ("full", "tied")
    models = [(c, k) for c in covs for k in SWEEP["ks"] if k <= max_components(X)]
    out = []
    for i, (cov, k) in enumerate(models):
        if stop_requested():  # the visitor left or changed a setting: no more fits (issue 10)
            raise StopException()
        out.append(_score(data_key, X, k, cov, n_folds, n_init, seed))
        if progress is not None:
            progress(i + 1, len(models))
    return out


def scores_table(scores: list[ModelScore]) -> pd.DataFrame:
    """One row per model: covariance_type, K, n_parameters, log_likelihood, bic, aic, cv, seed."""
    return pd.DataFrame(
        {
            "covariance_type": [s.covariance_type for s in scores],
            "K": [s.n_components for s in scores],
            "n_parameters": [s.n_parameters for s in scores],
            "log_likelihood": [s.log_likelihood for s in scores],
            "bic": [s.bic for s in scores],
            "aic": [s.aic for s in scores],
            "cv": [s.cv_log_likelihood for s in scores],
            "seed": [s.seed if s.seed is not None else -1 for s in scores],
        }
    )


def parameter_counts(n_features: int, covariance_types: tuple[str, ...]) -> pd.DataFrame:
    """Free parameters p of each covariance type for K = 1..10, with the formula."""
    rows = []
    for cov in covariance_types:
        row = {"covariance": cov, "p = ": parameter_formula(cov)}
        for k in SWEEP["ks"]:
            row[f"K={k}"] = n_parameters(k, n_features, cov)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- restarts
@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def restarts(
    data_key: str, _X: np.ndarray, k: int, cov: str, init_method: str, first_seed: int,
    n_starts: int,
) -> tuple[list[FitResult], list]:
    """``n_starts`` EM runs (seeds ``first_seed ..``) and their optima grouped (cached)."""
    # The lean EM (same iterations as run_em, checked in the tests): 12-50 runs at once.
    results = fit_starts(_X, k, cov, range(first_seed, first_seed + n_starts),
                         init_method=init_method, lean=True, should_stop=stop_requested,
                         **RESTARTS)
    if len(results) < n_starts:  # the visitor left or changed a setting: cache nothing
        raise StopException()
    return results, group_optima(results, _X.std(axis=0))


def groups_table(groups: list, n_starts: int) -> pd.DataFrame:
    """One row per distinct optimum: how many starts reached it, its value, its seeds."""
    return pd.DataFrame(
        {
            "starts": [g.count for g in groups],
            "of": [n_starts] * len(groups),
            "final log-likelihood": [round(g.log_likelihood, 2) for g in groups],
            "seeds": [", ".join(str(s) for s in g.seeds) for g in groups],
        }
    )


def group_sentences(groups: list, n_starts: int) -> list[str]:
    """"7 of 20 starts reached −1130.26" for each optimum, best first."""
    out = []
    for g in groups:
        value = f"{g.log_likelihood:.2f}".replace("-", "\u2212")
        out.append(f"{g.count} of {n_starts} starts reached {value}")
    return out


# --------------------------------------------------------------------------- k-means vs mixture
@dataclass(frozen=True)
class Comparison:
    """k-means and EM from the same centres, half-step by half-step.

    Attributes
    ----------
    centres0 : ndarray, shape (K, D)
        The shared starting centres (k-means++ seeding).
    kmeans : tuple of KMeansStep
    em_params : tuple of GMMParams
        EM's parameters at each of its half-steps.
    em_resp_params : tuple of (GMMParams or None)
        The parameters whose responsibilities colour each half-step (None before any).
    em_phases : tuple of str
    error : str or None
    """

    centres0: np.ndarray
    kmeans: tuple[KMeansStep, ...]
    em_params: tuple[GMMParams, ...]
    em_resp_params: tuple[GMMParams | None, ...]
    em_phases: tuple[str, ...]
    error: str | None = None

    @property
    def n_steps(self) -> int:
        """Half-steps of the longer of the two runs (the shorter one stays at its end)."""
        return max(len(self.kmeans), len(self.em_params))


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def compare(data_key: str, _X: np.ndarray, k: int, seed: int, shared_var: str) -> Comparison:
    """k-means and EM (learned full covariances, or a fixed shared σ²) from the same start."""
    try:
        start = initialize(_X, k, "kmeans++", np.random.default_rng(seed))
    except ValueError as err:
        return Comparison(np.empty((0, _X.shape[1])), (), (), (), (), str(err))
    centres = start.means
    km = run_kmeans(_X, centres, max_iter=100)
    if shared_var == "learned":
        history: EMHistory = run_em(_X, start, covariance_type="full", max_iter=100,
                                    should_stop=stop_requested)
        if history.stop_reason == "stopped":  # the visitor left: nothing cached (issue 10)
            raise StopException()
        params = tuple(s.params for s in history.steps)
        phases = tuple(s.phase for s in history.steps)
        resp_params: list[GMMParams | None] = []
        last = None
        for s in history.steps:
            if s.phase == "E":
                last = s.params
            resp_params.append(last)
        return Comparison(centres, km, params, tuple(resp_params), phases)
    # Shared fixed variance: σ² = factor × the data's mean variance per feature.
    data_var = float(_X.var(axis=0).mean())
    sigma2 = float(shared_var) * data_var
    means = centres
    params_l = [shared_variance_params(means, sigma2)]
    resp_l: list[GMMParams | None] = [None]
    phases_l = ["init"]
    for _ in range(100):
        current = shared_variance_params(means, sigma2)
        resp = shared_variance_e_step(_X, means, sigma2)
        params_l.append(current)
        resp_l.append(current)
        phases_l.append("E")
        new = shared_variance_m_step(_X, resp, means)
        params_l.append(shared_variance_params(new, sigma2))
        resp_l.append(current)
        phases_l.append("M")
        # Stop as k-means does: when the means stop moving (to rounding).
        if np.allclose(new, means, rtol=0, atol=1e-9 * np.sqrt(data_var)):
            break
        means = new
    return Comparison(centres, km, tuple(params_l), tuple(resp_l), tuple(phases_l))


def responsibilities(X: np.ndarray, params: GMMParams | None) -> np.ndarray | None:
    """Responsibilities (N, K) of ``params`` for X (N, D); None if there are none yet."""
    if params is None:
        return None
    try:
        return e_step(X, params)[0]
    except ValueError:
        return None


def agreement(kmeans_labels: np.ndarray | None, resp: np.ndarray | None) -> float | None:
    """Share of points whose k-means cluster is also their most responsible component."""
    if kmeans_labels is None or resp is None:
        return None
    return float(np.mean(resp.argmax(axis=1) == kmeans_labels))


# --------------------------------------------------------------------------- samples, unusual
@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def draw_samples(params_dict: dict, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from the mixture in two stages (z, then x), seeded: ``(X (n, D), z (n,))``."""
    return sample_two_stage(GMMParams.from_dict(params_dict), n, np.random.default_rng(seed))


def unusual_table(
    X: np.ndarray, params: GMMParams, percentile: float, feature_names: tuple[str, ...]
) -> tuple[pd.DataFrame, float, np.ndarray, np.ndarray]:
    """The flagged points (lowest density first), the threshold, log densities and flags."""
    log_density, threshold, flags = unusual_points(X, params, percentile)
    idx = np.flatnonzero(flags)
    idx = idx[np.argsort(log_density[idx])]
    table = pd.DataFrame({"point": idx, "log density": log_density[idx]})
    for j, name in enumerate(feature_names):
        table[name] = X[idx, j]
    return table, threshold, log_density, flags
