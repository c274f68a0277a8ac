"""Choosing a model: several starts per fit, BIC/AIC, held-out likelihood, restarts.

The raw log-likelihood of the training data never decreases when components
are added (a K+1 mixture can always imitate a K mixture), so it cannot choose
K. The criteria here charge for the extra freedom:

* **BIC** :math:`= -2 \\log L + p \\log N` and **AIC** :math:`= -2 \\log L + 2p`
  (:func:`gmm_core.bic`, :func:`gmm_core.aic`; lower is better), with ``p``
  free parameters (:func:`gmm_core.n_parameters`);
* **held-out log-likelihood**: fit on k-1 folds, score the points of the
  remaining fold, average per point over the folds (higher is better). Points
  the model has not seen cannot be memorised.

EM reaches a local maximum only, so every fit here is the best of several
starts. Start ``j`` is ``initialize(X, K, init_method, default_rng(seeds[j]))``
followed by :func:`gmm_core.run_em`, exactly what an app's stepper does with
that seed: a fit can always be replayed step by step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gmm_core._em import (
    _covariances_from_scatter,
    aic,
    aitken_expected_gain,
    bic,
    check_data,
    log_likelihood,
    n_parameters,
    run_em,
    score_samples,
    twin_components,
)
from gmm_core._init import initialize
from gmm_core._params import COVARIANCE_TYPES, CovarianceType, GMMParams, check_covariance_type


# --------------------------------------------------------------------------- folds
def kfold_indices(n_samples: int, n_folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Test indices of k-fold cross-validation: a seeded shuffle cut into ``n_folds`` parts.

    Parameters
    ----------
    n_samples : int
        N.
    n_folds : int
        2 <= n_folds <= N.
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray of int
        ``n_folds`` sorted index arrays, disjoint, together ``0 .. N-1``; their
        sizes differ by at most one.
    """
    if not 2 <= n_folds <= n_samples:
        raise ValueError(
            f"n_folds must be from 2 to the number of points ({n_samples}); got {n_folds}."
        )
    order = rng.permutation(n_samples)
    return [np.sort(part) for part in np.array_split(order, n_folds)]


# --------------------------------------------------------------------------- lean EM
_LOG_2PI = math.log(2.0 * math.pi)
# As in gmm_core.m_step (and scikit-learn): N_k gets 10 eps, so an empty component
# divides by a tiny number instead of zero.
_NK_EPS = 10 * np.finfo(np.float64).eps


def _lean_diffs(X: np.ndarray, means: np.ndarray) -> list[np.ndarray]:
    """x_nj - mu_kj for each feature j: D arrays of shape (K, N) (contiguous rows)."""
    return [X[:, j][None, :] - means[:, j][:, None] for j in range(X.shape[1])]


def _lean_log_prob(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """log pi_k + log N(x_n | mu_k, Sigma_k), shape (K, N) (components first), X (N, D).

    The quadratic form is summed feature pair by feature pair on (K, N) arrays,
    ``sum_ij P_kij (x_ni - mu_ki)(x_nj - mu_kj)`` with the precisions P_k: for the small D
    of this app that is a few elementwise operations, faster than batched matrix products.
    Raises numpy.linalg.LinAlgError if a covariance is not positive definite.
    """
    chol = np.linalg.cholesky(cov)  # also the positive-definiteness check
    prec = np.linalg.inv(cov)
    diffs = _lean_diffs(X, means)
    d = X.shape[1]
    maha = np.zeros_like(diffs[0])
    for a in range(d):
        maha += prec[:, a, a][:, None] * diffs[a] ** 2
        for b in range(a + 1, d):
            maha += (2.0 * prec[:, a, b])[:, None] * (diffs[a] * diffs[b])
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    const = np.log(weights) - 0.5 * (d * _LOG_2PI + log_det)
    maha *= -0.5
    maha += const[:, None]
    return maha


def _lean_m_step(
    X: np.ndarray, resp: np.ndarray, covariance_type: str, reg_covar: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """weights (K,), means (K, D), covariances (K, D, D) from resp (K, N): gmm_core.m_step's
    formulas, the scatter in two passes (about the new means: no cancellation)."""
    nk = resp.sum(axis=1) + _NK_EPS
    means = resp @ X / nk[:, None]
    diffs = _lean_diffs(X, means)
    k, d = means.shape
    scatter = np.empty((k, d, d))
    for a in range(d):
        weighted = resp * diffs[a]
        for b in range(a, d):
            scatter[:, a, b] = scatter[:, b, a] = (weighted * diffs[b]).sum(axis=1)
    cov = _covariances_from_scatter(nk, scatter, covariance_type, reg_covar)
    return nk / nk.sum(), means, cov


def _lean_e_step(
    X: np.ndarray, weights: np.ndarray, means: np.ndarray, cov: np.ndarray
) -> tuple[np.ndarray, float]:
    """Responsibilities (K, N) and the total log-likelihood."""
    wlp = _lean_log_prob(X, weights, means, cov)
    top = wlp.max(axis=0)
    # log-sum-exp by hand (scipy's logsumexp costs more than this whole E-step at small N);
    # one exponential per entry serves both the normaliser and the responsibilities.
    e = np.exp(wlp - top)
    total = e.sum(axis=0)
    return e / total, float((top + np.log(total)).sum())


def lean_em(
    X: np.ndarray,
    params0: GMMParams,
    covariance_type: str,
    *,
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    rule: str = "aitken",
) -> tuple[GMMParams, float, int, bool]:
    """EM without the history, the checks and the numerical fallbacks of run_em: for screening.

    The same iteration and stopping rules as :func:`gmm_core.run_em` (an E-step,
    then M-step and E-step until ``rule`` says converged), for well-conditioned data
    only: it ranks the starts of a fit and fits the cross-validation folds, where
    hundreds of runs are needed and only the best start's result is kept. The chosen
    fit on all the data is re-run with :func:`gmm_core.run_em`. Several times faster
    than run_em at N ~ 1,000, K <= 10, D <= 2 (no per-iteration GMMParams, checks,
    chunking or history).

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params0 : GMMParams
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar, tol, max_iter, rule
        As for run_em: ``rule="aitken"`` stops when Aitken's estimate of the
        log-likelihood still to gain is below ``tol`` and no two components coincide
        (:func:`gmm_core.aitken_expected_gain`, :func:`gmm_core.twin_components`);
        ``"loglik_change"`` when the mean per-point change is below ``tol``.

    Returns
    -------
    params : GMMParams
    log_likelihood : float
        Of ``params`` on X.
    n_iter : int
    converged : bool

    Raises
    ------
    ValueError
        If a component collapses (a covariance not positive definite, or a non-finite
        likelihood): the caller treats the start as failed.
    """
    n = X.shape[0]
    w, m, c = params0.weights, params0.means, params0.covariances
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            resp, ll = _lean_e_step(X, w, m, c)
            lls = [ll]
            converged, it = False, 0
            for it in range(1, max_iter + 1):  # noqa: B007  (it is reported)
                w, m, c = _lean_m_step(X, resp, covariance_type, reg_covar)
                resp, ll_new = _lean_e_step(X, w, m, c)
                if not math.isfinite(ll_new):
                    raise ValueError("the log-likelihood is not finite")
                lls.append(ll_new)
                if rule == "loglik_change":
                    done = abs(ll_new - ll) / n < tol
                else:  # run_em's default; the twin test only once the gain is small
                    done = (
                        len(lls) >= 3
                        and aitken_expected_gain(*lls[-3:]) < tol
                        and twin_components(GMMParams(w, m, c)) is None
                    )
                ll = ll_new
                if done:
                    converged = True
                    break
    except np.linalg.LinAlgError:
        raise ValueError("a covariance stopped being positive definite") from None
    if not math.isfinite(ll):
        raise ValueError("the log-likelihood is not finite")
    return GMMParams(w, m, c), ll, it, converged


# --------------------------------------------------------------------------- fits
@dataclass(frozen=True)
class FitResult:
    """One EM start and where it ended.

    Attributes
    ----------
    seed : int
        Seed of the start's generator.
    params : GMMParams or None
        Final parameters; None if the start was impossible or the run collapsed.
    log_likelihood : float
        Total log-likelihood of the training data under ``params`` (nan if none).
    n_iter : int
    converged : bool
    error : str or None
        Why there is no fit (the message of the failure).
    """

    seed: int
    params: GMMParams | None
    log_likelihood: float
    n_iter: int
    converged: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True if the start produced a usable fit."""
        return self.params is not None


def _kmeanspp_starts(
    X: np.ndarray, n_components: int, covariance_type: str, reg_covar: float
) -> Callable[[np.random.Generator], GMMParams]:
    """``rng -> initialize(X, K, "kmeans++", rng, ...)``, with the parts that do not depend
    on the seed (the distinct-point check, the data's covariance) done once, not per start.

    The same draws from ``rng`` as :func:`gmm_core.initialize`, hence the same parameters
    (a test checks it); a start that initialize would refuse raises the same ValueError.
    """
    from gmm_core._init import _distinct_count, _kmeans_plus_plus, _starting_covariances

    k = int(n_components)
    problem = None
    if k < 1 or k > X.shape[0]:
        problem = f"n_components = {k} must be from 1 to the {X.shape[0]} data points."
    elif k > 1 and (distinct := _distinct_count(X, k)) < k:
        problem = (f"The data have only {distinct} distinct point(s), fewer than K = {k} "
                   "components.")
    try:
        cov = None if problem else _starting_covariances(X, k, covariance_type, reg_covar)
    except ValueError as err:
        problem = str(err)
    weights = np.full(k, 1.0 / max(k, 1))

    def start(rng: np.random.Generator) -> GMMParams:
        if problem is not None:
            raise ValueError(problem)
        return GMMParams(weights, X[_kmeans_plus_plus(X, k, rng)], cov)

    return start


def fit_starts(
    X: np.ndarray,
    n_components: int,
    covariance_type: CovarianceType,
    seeds: Sequence[int],
    *,
    init_method: str = "kmeans++",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    rule: str = "aitken",
    lean: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> list[FitResult]:
    """Run EM once from each seed.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
    covariance_type : {"full", "tied", "diag", "spherical"}
    seeds : sequence of int
        One start per seed: ``initialize(X, K, init_method, default_rng(seed))``.
    init_method, reg_covar, tol, max_iter, rule
        As for :func:`gmm_core.initialize` and :func:`gmm_core.run_em`.
    lean : bool, default False
        Run :func:`lean_em` instead of :func:`gmm_core.run_em` (screening: same
        iteration, no history, no numerical fallbacks).
    should_stop : callable, optional
        Asked before each start; once it returns True the remaining starts are
        skipped (e.g. the visitor of a server left), so the list is shorter than
        ``seeds``.

    Returns
    -------
    list of FitResult, one per seed run, in order
        A run that collapsed, or could not start, has ``params=None`` and its
        reason in ``error``; it never wins.
    """
    X = check_data(X)
    out = []
    start = _kmeanspp_starts(X, n_components, covariance_type, reg_covar) if (
        lean and init_method == "kmeans++") else None
    for seed in seeds:
        if should_stop is not None and should_stop():
            break
        try:
            if start is not None:
                params0 = start(np.random.default_rng(int(seed)))
            else:
                params0 = initialize(
                    X, n_components, init_method, np.random.default_rng(int(seed)),
                    covariance_type=covariance_type, reg_covar=reg_covar,
                )
            if lean:
                params, ll, n_iter, converged = lean_em(
                    X, params0, covariance_type, reg_covar=reg_covar, tol=tol,
                    max_iter=max_iter, rule=rule,
                )
                out.append(FitResult(int(seed), params, ll, n_iter, converged))
                continue
            history = run_em(
                X, params0, covariance_type=covariance_type, reg_covar=reg_covar,
                tol=tol, max_iter=max_iter, rule=rule,
            )
        except ValueError as err:  # includes ComponentCollapseError
            out.append(FitResult(int(seed), None, math.nan, 0, False, str(err)))
            continue
        if history.stop_reason == "collapse":
            why = history.collapse.message if history.collapse else "a component collapsed"
            out.append(FitResult(int(seed), None, math.nan, history.n_iter, False, why))
            continue
        final = history.final
        out.append(
            FitResult(
                int(seed), final.params, float(final.log_likelihood), history.n_iter,
                history.converged,
            )
        )
    return out


def best_fit(results: Sequence[FitResult]) -> FitResult | None:
    """The usable result with the highest log-likelihood (first on ties), or None."""
    usable = [r for r in results if r.ok]
    return max(usable, key=lambda r: r.log_likelihood) if usable else None


# --------------------------------------------------------------------------- model selection
@dataclass(frozen=True)
class ModelScore:
    """The criteria of one model (K, covariance type) on one data set.

    Attributes
    ----------
    n_components : int
    covariance_type : str
    n_parameters : int
        Free parameters p.
    log_likelihood : float
        Total training log-likelihood of the best start (nan if no start worked).
    bic, aic : float
        Lower is better (nan if no fit).
    cv_log_likelihood : float
        Mean held-out log-likelihood per point, averaged over the folds (higher
        is better; nan if a fold could not be fitted).
    cv_folds : tuple of float
        The mean held-out log-likelihood per point of each fold.
    seed : int or None
        Seed of the best start on all the data (replays the fit).
    params : GMMParams or None
        Parameters of the best start on all the data.
    n_starts : int
        Starts per fit.
    error : str or None
        Why there is no fit, if there is none.
    """

    n_components: int
    covariance_type: str
    n_parameters: int
    log_likelihood: float
    bic: float
    aic: float
    cv_log_likelihood: float
    cv_folds: tuple[float, ...]
    seed: int | None
    params: GMMParams | None
    n_starts: int
    error: str | None = None


def score_model(
    X: np.ndarray,
    n_components: int,
    covariance_type: CovarianceType,
    folds: Sequence[np.ndarray],
    seeds: Sequence[int],
    *,
    init_method: str = "kmeans++",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    rule: str = "aitken",
    lean: bool = True,
) -> ModelScore:
    """BIC, AIC and the held-out log-likelihood of one model.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
    covariance_type : {"full", "tied", "diag", "spherical"}
    folds : sequence of ndarray of int
        Test indices of each fold (:func:`kfold_indices`); empty for no CV.
    seeds : sequence of int
        The starts of every fit (each fit keeps its best start).
    init_method, reg_covar, tol, max_iter, rule
        As for :func:`fit_starts`.
    lean : bool, default True
        Screen the starts and fit the folds with :func:`lean_em` (about ten times
        faster); the reported fit on all the data is always run_em's.

    Returns
    -------
    ModelScore
    """
    X = check_data(X)
    covariance_type = check_covariance_type(covariance_type)
    n, d = X.shape
    p = n_parameters(n_components, d, covariance_type)
    kw = {"init_method": init_method, "reg_covar": reg_covar, "tol": tol, "max_iter": max_iter,
          "rule": rule}
    # Screening: every start (on all the data and on each fold) with the lean EM; the
    # winning start on all the data is then re-run with run_em, whose result is reported
    # (and is what the stepper shows for that seed).
    screened = best_fit(fit_starts(X, n_components, covariance_type, seeds, lean=lean, **kw))
    best = screened
    if screened is not None and lean:
        best = best_fit(fit_starts(X, n_components, covariance_type, [screened.seed], **kw))
    if best is None:
        return ModelScore(
            n_components, covariance_type, p, math.nan, math.nan, math.nan, math.nan, (),
            None, None, len(seeds), "no start of EM gave a fit on the data",
        )
    # BIC and AIC from gmm_core's own functions on the final parameters (one density
    # pass per model: negligible next to the EM runs, and independent of how run_em
    # records its last log-likelihood).
    ll = log_likelihood(X, best.params)
    fold_scores = []
    mask = np.ones(n, dtype=bool)
    for test in folds:
        mask[:] = True
        mask[test] = False
        fit = best_fit(
            fit_starts(X[mask], n_components, covariance_type, seeds, lean=lean, **kw)
        )
        if fit is None:
            fold_scores.append(math.nan)
            continue
        fold_scores.append(float(score_samples(X[test], fit.params).mean()))
    cv = float(np.mean(fold_scores)) if fold_scores else math.nan
    return ModelScore(
        n_components, covariance_type, p, ll,
        bic(X, best.params, covariance_type), aic(X, best.params, covariance_type),
        cv, tuple(fold_scores), best.seed, best.params, len(seeds),
    )


def select_model(
    X: np.ndarray,
    ks: Sequence[int] = tuple(range(1, 11)),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    *,
    n_folds: int = 5,
    n_init: int = 3,
    seed: int = 0,
    init_method: str = "kmeans++",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    rule: str = "aitken",
    lean: bool = True,
    progress: Callable[[int, int], None] | None = None,
    n_jobs: int = 1,
) -> list[ModelScore]:
    """Score every (covariance type, K) model: BIC, AIC and ``n_folds``-fold CV.

    Parameters
    ----------
    X : array_like, shape (N, D)
    ks : sequence of int
    covariance_types : sequence of str
    n_folds : int, default 5
        0 skips cross-validation.
    n_init : int, default 3
        Starts per fit; start ``j`` uses seed ``seed + j``.
    seed : int
        Seeds the folds (``default_rng(seed)``) and the starts.
    init_method, reg_covar, tol, max_iter, rule, lean
        As for :func:`score_model`.
    progress : callable ``(done, total)``, optional
        Called after each model.
    n_jobs : int, default 1
        Worker processes (the models are independent; each result is the same whatever
        the number of workers). Above 1, a :class:`concurrent.futures.ProcessPoolExecutor`
        is started for the call (forked where the platform allows it).

    Returns
    -------
    list of ModelScore
        Covariance type by covariance type, K ascending.
    """
    X = check_data(X)
    folds = kfold_indices(X.shape[0], n_folds, np.random.default_rng(seed)) if n_folds else []
    seeds = [seed + j for j in range(n_init)]
    models = [(cov, k) for cov in covariance_types for k in ks]
    kw = {"init_method": init_method, "reg_covar": reg_covar, "tol": tol,
          "max_iter": max_iter, "rule": rule, "lean": lean}
    if n_jobs > 1 and len(models) > 1:
        return _select_in_processes(X, models, folds, seeds, kw, progress, n_jobs)
    out = []
    for i, (cov, k) in enumerate(models):
        out.append(score_model(X, k, cov, folds, seeds, **kw))
        if progress is not None:
            progress(i + 1, len(models))
    return out


def _select_in_processes(
    X: np.ndarray,
    models: list[tuple[str, int]],
    folds: list[np.ndarray],
    seeds: list[int],
    kw: dict,
    progress: Callable[[int, int], None] | None,
    n_jobs: int,
) -> list[ModelScore]:
    """:func:`select_model`'s loop over models in ``n_jobs`` processes (results in order)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    methods = multiprocessing.get_all_start_methods()
    # fork: the workers start in milliseconds with numpy already imported (the caller is
    # a plain script); forkserver or spawn elsewhere.
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    # The biggest models first, so that no worker is left with a large one at the end.
    order = sorted(range(len(models)), key=lambda i: -models[i][1])
    out: list[ModelScore | None] = [None] * len(models)
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
        futures = {
            pool.submit(score_model, X, models[i][1], models[i][0], folds, seeds, **kw): i
            for i in order
        }
        for done, future in enumerate(as_completed(futures), start=1):
            out[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(models))
    return [s for s in out if s is not None]


def best_model(
    scores: Sequence[ModelScore], criterion: str, covariance_type: str | None = None
) -> ModelScore | None:
    """The best scored model by ``criterion`` ("bic", "aic": lowest; "cv": highest).

    Restricted to one covariance type if given; models without a score are skipped.
    """
    if criterion not in ("bic", "aic", "cv"):
        raise ValueError(f"criterion must be bic, aic or cv; got {criterion!r}.")
    attr = "cv_log_likelihood" if criterion == "cv" else criterion
    sign = -1.0 if criterion == "cv" else 1.0
    pool = [
        s for s in scores
        if (covariance_type is None or s.covariance_type == covariance_type)
        and np.isfinite(getattr(s, attr))
    ]
    return min(pool, key=lambda s: sign * getattr(s, attr)) if pool else None


# --------------------------------------------------------------------------- restarts
@dataclass(frozen=True)
class OptimumGroup:
    """Starts that ended at the same optimum.

    Attributes
    ----------
    log_likelihood : float
        The highest final log-likelihood in the group.
    seeds : tuple of int
        The starts that reached it (best first).
    params : GMMParams
        Parameters of the group's best start.
    """

    log_likelihood: float
    seeds: tuple[int, ...]
    params: GMMParams

    @property
    def count(self) -> int:
        """Number of starts in the group."""
        return len(self.seeds)


def match_components(a: GMMParams, b: GMMParams, scale: np.ndarray) -> np.ndarray:
    """The order of b's components that best matches a's (labels are arbitrary).

    Parameters
    ----------
    a, b : GMMParams
        K components each, in D dimensions.
    scale : ndarray, shape (D,)
        Length units of each feature (e.g. the data's standard deviations).

    Returns
    -------
    ndarray of int, shape (K,)
        ``b.permuted(order)`` lists b's components in a's order; the pairing
        minimises the total squared distance of the scaled means (Hungarian
        algorithm, :func:`scipy.optimize.linear_sum_assignment`).
    """
    from scipy.optimize import linear_sum_assignment

    ma, mb = a.means / scale, b.means / scale
    cost = ((ma[:, None, :] - mb[None, :, :]) ** 2).sum(axis=2)
    _, order = linear_sum_assignment(cost)
    return order


def same_optimum(
    a: GMMParams, b: GMMParams, scale: np.ndarray, rtol: float = 1e-2
) -> bool:
    """True if b equals a up to a relabelling of components, within ``rtol``.

    Means are compared in units of ``scale`` (D,), covariances in units of
    ``scale**2`` and also relative to their own size (a component wider than the data,
    e.g. one spanning Galaxies' outliers, converges slowly, so two starts at the same
    optimum stop with its variance 0.5 % apart), and weights absolutely, all to ``rtol``:
    a loose tolerance, because EM stops near an optimum, not at it.
    """
    if a.means.shape != b.means.shape:
        return False
    bb = b.permuted(match_components(a, b, scale))
    s2 = np.outer(scale, scale)
    return bool(
        np.allclose(a.weights, bb.weights, rtol=0, atol=rtol)
        and np.allclose(a.means / scale, bb.means / scale, rtol=0, atol=rtol)
        and np.allclose(a.covariances / s2, bb.covariances / s2, rtol=rtol, atol=rtol)
    )


def group_optima(
    results: Sequence[FitResult],
    scale: np.ndarray,
    *,
    ll_tol: float = 0.05,
    rtol: float = 1e-2,
) -> list[OptimumGroup]:
    """Group the starts by the optimum they reached.

    Two starts share an optimum when their final log-likelihoods differ by at
    most ``ll_tol`` and their parameters agree up to a relabelling of the
    components (:func:`same_optimum`).

    Parameters
    ----------
    results : sequence of FitResult
        Unusable ones (``params is None``) are left out.
    scale : ndarray, shape (D,)
        The data's length units (e.g. standard deviation of each feature).
    ll_tol : float, default 0.05
        Absolute tolerance on the total log-likelihood.
    rtol : float, default 1e-2

    Returns
    -------
    list of OptimumGroup
        Highest log-likelihood first.
    """
    scale = np.asarray(scale, dtype=np.float64)
    scale = np.where(scale > 0, scale, 1.0)
    ordered = sorted((r for r in results if r.ok), key=lambda r: -r.log_likelihood)
    groups: list[tuple[FitResult, list[int]]] = []
    for r in ordered:
        for head, seeds in groups:
            if abs(head.log_likelihood - r.log_likelihood) <= ll_tol and same_optimum(
                head.params, r.params, scale, rtol
            ):
                seeds.append(r.seed)
                break
        else:
            groups.append((r, [r.seed]))
    return [OptimumGroup(head.log_likelihood, tuple(seeds), head.params) for head, seeds in groups]
