"""Choosing and comparing models (issue 8): k-means half-steps, the sigma^2 -> 0 limit,
BIC/AIC/CV model selection, restarts, two-stage sampling and unusual points.

Every oracle is independent of gmm_core: a plain numpy Lloyd iteration, scipy's
multivariate normal, scikit-learn's GaussianMixture.bic on the same parameters,
np.cov and np.percentile.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import gmm_core
from gmm_core import datasets


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return datasets.load("old_faithful").X


def scipy_score(X: np.ndarray, params: gmm_core.GMMParams) -> np.ndarray:
    cols = [
        np.log(w) + multivariate_normal(mean=m, cov=c).logpdf(X)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ]
    return logsumexp(np.column_stack(cols), axis=1)


# --------------------------------------------------------------------------- k-means
def numpy_lloyd(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One plain Lloyd iteration: (labels of the old centres, new centres)."""
    d2 = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    new = centres.copy()
    for k in range(centres.shape[0]):
        if np.any(labels == k):
            new[k] = X[labels == k].mean(axis=0)
    return labels, new


@pytest.mark.parametrize("dataset", ["blobs", "anisotropic", "unequal_sizes", "old_faithful"])
def test_kmeans_half_steps_match_numpy_lloyd(dataset: str) -> None:
    X = datasets.load(dataset).X
    rng = np.random.default_rng(3)
    centres = X[rng.choice(X.shape[0], size=4, replace=False)]
    for _ in range(6):
        labels, sq = gmm_core.kmeans_assign(X, centres)
        ref_labels, ref_centres = numpy_lloyd(X, centres)
        np.testing.assert_array_equal(labels, ref_labels)
        np.testing.assert_allclose(sq, ((X - centres[ref_labels]) ** 2).sum(axis=1), rtol=1e-10)
        new = gmm_core.kmeans_update(X, labels, centres)
        np.testing.assert_allclose(new, ref_centres, rtol=1e-12, atol=1e-12)
        centres = new


def test_kmeans_update_keeps_an_empty_centre() -> None:
    X = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0]])
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [100.0, 100.0]])
    labels = np.array([0, 0, 1])
    new = gmm_core.kmeans_update(X, labels, centres)
    np.testing.assert_allclose(new, [[0.5, 0.0], [10.0, 10.0], [100.0, 100.0]])


def test_run_kmeans_records_half_steps_until_no_label_changes() -> None:
    X = datasets.load("blobs").X
    centres = X[:3].copy()
    steps = gmm_core.run_kmeans(X, centres)
    assert [s.phase for s in steps[:3]] == ["init", "assign", "update"]
    assert steps[-1].phase == "assign"
    # The plain numpy Lloyd loop from the same centres reaches the same labels.
    labels = None
    for _ in range(300):
        new_labels, new_centres = numpy_lloyd(X, centres)
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels, centres = new_labels, new_centres
    np.testing.assert_array_equal(steps[-1].labels, labels)
    inertias = [s.inertia for s in steps[1:]]
    assert all(b <= a + 1e-9 for a, b in zip(inertias, inertias[1:], strict=False))


def test_smallest_shared_variance_gives_kmeans_labels() -> None:
    X = datasets.load("anisotropic").X
    rng = np.random.default_rng(0)
    centres = X[rng.choice(X.shape[0], size=3, replace=False)]
    ref_labels, _ = numpy_lloyd(X, centres)
    var = X.var(axis=0).mean()
    # Large sigma^2: soft; the smallest: every point wholly in its nearest centre.
    soft = gmm_core.shared_variance_e_step(X, centres, var)
    assert soft.max(axis=1).min() < 0.9
    hard = gmm_core.shared_variance_e_step(X, centres, 1e-4 * var)
    np.testing.assert_array_equal(hard.argmax(axis=1), ref_labels)
    np.testing.assert_array_equal(
        hard.argmax(axis=1), gmm_core.kmeans_assign(X, centres)[0]
    )
    assert hard.max(axis=1).min() > 1 - 1e-6
    # The M-step with these responsibilities is k-means' update.
    np.testing.assert_allclose(
        gmm_core.shared_variance_m_step(X, hard, centres), numpy_lloyd(X, centres)[1],
        atol=1e-6 * np.sqrt(var),
    )


def test_shared_variance_m_step_is_the_weighted_mean() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    resp = rng.dirichlet(np.ones(3), size=50)
    means = gmm_core.shared_variance_m_step(X, resp, np.zeros((3, 2)))
    for k in range(3):
        np.testing.assert_allclose(means[k], np.average(X, axis=0, weights=resp[:, k]))


# --------------------------------------------------------------------------- model selection
@given(n=st.integers(2, 400), n_folds=st.integers(2, 12), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_folds_are_disjoint_and_cover_the_data(n: int, n_folds: int, seed: int) -> None:
    if n_folds > n:
        with pytest.raises(ValueError, match="n_folds"):
            gmm_core.kfold_indices(n, n_folds, np.random.default_rng(seed))
        return
    folds = gmm_core.kfold_indices(n, n_folds, np.random.default_rng(seed))
    assert len(folds) == n_folds
    together = np.concatenate(folds)
    assert together.size == n  # no point in two folds ...
    np.testing.assert_array_equal(np.sort(together), np.arange(n))  # ... and none left out
    sizes = [f.size for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_select_model_in_two_processes_gives_the_same_scores(faithful: np.ndarray) -> None:
    kw = {"n_folds": 3, "n_init": 2, "seed": 4, "rule": "loglik_change"}
    one = gmm_core.select_model(faithful, range(1, 4), ["full", "tied"], **kw)
    two = gmm_core.select_model(faithful, range(1, 4), ["full", "tied"], n_jobs=2, **kw)
    assert [(s.covariance_type, s.n_components) for s in two] == [
        (s.covariance_type, s.n_components) for s in one]
    for a, b in zip(one, two, strict=True):
        assert (a.bic, a.aic, a.cv_log_likelihood, a.seed) == (b.bic, b.aic,
                                                                b.cv_log_likelihood, b.seed)


def test_same_seed_same_folds() -> None:
    a = gmm_core.kfold_indices(100, 5, np.random.default_rng(7))
    b = gmm_core.kfold_indices(100, 5, np.random.default_rng(7))
    for fa, fb in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa, fb)


def sklearn_bic(X: np.ndarray, params: gmm_core.GMMParams) -> float:
    """scikit-learn's GaussianMixture.bic with its fitted attributes set to ``params``."""
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(n_components=params.n_components, covariance_type="full")
    gm.weights_ = params.weights.copy()
    gm.means_ = params.means.copy()
    gm.covariances_ = params.covariances.copy()
    eye = np.eye(params.n_features)
    gm.precisions_cholesky_ = np.stack(
        [solve_triangular(np.linalg.cholesky(c), eye, lower=True).T for c in params.covariances]
    )
    return float(gm.bic(X))


@pytest.fixture(scope="module")
def faithful_scores(faithful: np.ndarray) -> list:
    # The /choose-k page's settings (scikit-learn's stopping rule).
    return gmm_core.select_model(faithful, range(1, 7), ["full"], n_folds=5, n_init=3, seed=0,
                                 rule="loglik_change")


def test_bic_picks_two_components_on_old_faithful(faithful_scores: list) -> None:
    best = gmm_core.best_model(faithful_scores, "bic", "full")
    assert best is not None
    assert best.n_components == 2


def test_bic_equals_sklearn_on_the_same_parameters(
    faithful: np.ndarray, faithful_scores: list
) -> None:
    n, d = faithful.shape
    assert [s.n_components for s in faithful_scores] == [1, 2, 3, 4, 5, 6]
    for s in faithful_scores:
        assert s.params is not None
        np.testing.assert_allclose(s.bic, sklearn_bic(faithful, s.params), rtol=1e-10)
        # And the hand formula -2 log L + p log N with scipy's densities.
        ll = scipy_score(faithful, s.params).sum()
        p = (s.n_components - 1) + s.n_components * d + s.n_components * d * (d + 1) // 2
        assert s.n_parameters == p
        np.testing.assert_allclose(s.bic, -2 * ll + p * np.log(n), rtol=1e-10)
        np.testing.assert_allclose(s.aic, -2 * ll + 2 * p, rtol=1e-10)


@pytest.mark.parametrize("lean", [False, True])
def test_held_out_score_is_the_mean_test_log_density(faithful: np.ndarray, lean: bool) -> None:
    folds = gmm_core.kfold_indices(faithful.shape[0], 4, np.random.default_rng(5))
    score = gmm_core.score_model(faithful, 2, "full", folds, [0, 1], lean=lean,
                                 rule="loglik_change")
    assert len(score.cv_folds) == 4
    for test, value in zip(folds, score.cv_folds, strict=True):
        train = np.setdiff1d(np.arange(faithful.shape[0]), test)
        assert np.intersect1d(train, test).size == 0
        fit = gmm_core.best_fit(
            gmm_core.fit_starts(faithful[train], 2, "full", [0, 1], lean=lean,
                                rule="loglik_change")
        )
        np.testing.assert_allclose(value, scipy_score(faithful[test], fit.params).mean(),
                                   rtol=1e-10)
    np.testing.assert_allclose(score.cv_log_likelihood, np.mean(score.cv_folds))


def test_best_start_replays_with_its_seed(faithful: np.ndarray, faithful_scores: list) -> None:
    s = faithful_scores[2]
    params0 = gmm_core.initialize(faithful, 3, "kmeans++", np.random.default_rng(s.seed))
    history = gmm_core.run_em(faithful, params0, rule="loglik_change")
    assert history.final.params.allclose(s.params)


def test_impossible_model_has_no_score() -> None:
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    s = gmm_core.score_model(X, 3, "full", [], [0, 1])
    assert s.params is None
    assert np.isnan(s.bic)
    assert s.error


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("k", [1, 3, 6])
def test_lean_em_follows_run_em(covariance_type: str, k: int) -> None:
    from gmm_core._selection import lean_em

    X = datasets.load("anisotropic").X
    params0 = gmm_core.initialize(X, k, "kmeans++", np.random.default_rng(k),
                                  covariance_type=covariance_type)
    # A fixed number of iterations (tol=0): the same trajectory, whatever the stopping rule.
    history = gmm_core.run_em(X, params0, covariance_type=covariance_type, tol=0, max_iter=12)
    params, ll, n_iter, _ = lean_em(X, params0, covariance_type, tol=0, max_iter=12)
    assert n_iter == 12
    assert params.allclose(history.final.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ll, scipy_score(X, params).sum(), rtol=1e-10)
    # And both stopping rules stop where run_em's do.
    for rule, tol in (("aitken", 1e-3), ("loglik_change", 1e-3)):
        history = gmm_core.run_em(X, params0, covariance_type=covariance_type, tol=tol,
                                  max_iter=300, rule=rule)
        params, _, n_iter, converged = lean_em(X, params0, covariance_type, tol=tol,
                                               max_iter=300, rule=rule)
        assert (n_iter, converged) == (history.n_iter, history.converged), rule
        assert params.allclose(history.final.params, rtol=1e-7, atol=1e-9), rule


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_lean_starts_are_initialize_kmeanspp(covariance_type: str) -> None:
    from gmm_core._selection import _kmeanspp_starts

    X = datasets.load("blobs").X
    start = _kmeanspp_starts(X, 4, covariance_type, 1e-6)
    for seed in range(5):
        ref = gmm_core.initialize(X, 4, "kmeans++", np.random.default_rng(seed),
                                  covariance_type=covariance_type)
        assert start(np.random.default_rng(seed)).allclose(ref, rtol=0)
    few = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="distinct"):
        _kmeanspp_starts(few, 3, "full", 1e-6)(np.random.default_rng(0))


def test_lean_em_reports_a_collapse_as_value_error() -> None:
    from gmm_core._selection import lean_em

    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    params0 = gmm_core.GMMParams([0.5, 0.5], [[0.0, 0.0], [1.5, 0.7]],
                                 [np.eye(2) * 1e-3, np.eye(2)])
    with pytest.raises(ValueError, match="positive definite|not finite"):
        lean_em(X, params0, "full", reg_covar=0.0, tol=0, max_iter=50)


# --------------------------------------------------------------------------- restarts
def test_restarts_on_old_faithful_mostly_reach_the_global_optimum(faithful: np.ndarray) -> None:
    results = gmm_core.fit_starts(
        faithful, 2, "full", range(20), init_method="random_from_data", tol=1e-6, max_iter=1000
    )
    groups = gmm_core.group_optima(results, faithful.std(axis=0))
    top = groups[0]
    assert f"{top.log_likelihood:.2f}" == "-1130.26"
    assert top.count > 10
    assert sum(g.count for g in groups) == 20
    np.testing.assert_allclose(scipy_score(faithful, top.params).sum(), top.log_likelihood,
                               rtol=1e-10)
    # Distinct groups really are distinct optima.
    for g in groups[1:]:
        assert g.log_likelihood < top.log_likelihood - 0.05 or not gmm_core.same_optimum(
            top.params, g.params, faithful.std(axis=0)
        )


@pytest.mark.parametrize("lean", [True, False])
def test_restarts_stop_between_starts_when_asked(faithful: np.ndarray, lean: bool) -> None:
    asked = []

    def should_stop() -> bool:  # the server's visitor leaves after the second start
        asked.append(1)
        return len(asked) > 2

    results = gmm_core.fit_starts(faithful, 2, "full", range(10, 20), lean=lean,
                                  should_stop=should_stop)
    assert [r.seed for r in results] == [10, 11]
    # The starts that ran are whole: each reaches the score scipy gives its parameters.
    for r in results:
        np.testing.assert_allclose(scipy_score(faithful, r.params).sum(), r.log_likelihood,
                                   rtol=1e-8)


def test_same_optimum_ignores_the_labels() -> None:
    rng = np.random.default_rng(2)
    w = np.array([0.2, 0.3, 0.5])
    m = rng.normal(size=(3, 2)) * 5
    c = np.stack([np.eye(2) * v for v in (1.0, 2.0, 3.0)])
    a = gmm_core.GMMParams(w, m, c)
    b = a.permuted([2, 0, 1])
    assert gmm_core.same_optimum(a, b, np.ones(2))
    moved = gmm_core.GMMParams(w, m + np.array([[1.0, 0.0], [0, 0], [0, 0]]), c)
    assert not gmm_core.same_optimum(a, moved, np.ones(2))


def test_same_optimum_allows_a_wide_component_to_stop_a_little_apart() -> None:
    # Galaxies, K = 3, seeds 14 and 15 of /restarts: the same optimum (log-likelihoods
    # -212.0807 and -212.0810), the component wider than the data (variance ~66 = 3.2
    # data variances) stopped 0.5 % apart.
    a = gmm_core.GMMParams(np.array([0.370, 0.263, 0.367]),
                           np.array([[19.818], [19.370], [22.896]]),
                           np.array([[[0.4139]], [[66.2326]], [[1.2738]]]))
    b = gmm_core.GMMParams(np.array([0.265, 0.371, 0.364]),
                           np.array([[19.391], [19.821], [22.901]]),
                           np.array([[[65.9129]], [[0.4149]], [[1.2489]]]))
    assert gmm_core.same_optimum(a, b, np.array([4.536]))
    # A narrow component's variance doubled is still a different optimum.
    c = gmm_core.GMMParams(a.weights, a.means, a.covariances * np.array([2.0, 1, 1])[:, None, None])
    assert not gmm_core.same_optimum(a, c, np.array([4.536]))


# --------------------------------------------------------------------------- sampling
def test_two_stage_samples_reproduce_the_model(faithful: np.ndarray) -> None:
    fit = gmm_core.best_fit(gmm_core.fit_starts(faithful, 2, "full", [0, 1, 2]))
    params = fit.params
    n = 100_000
    X, z = gmm_core.sample_two_stage(params, n, np.random.default_rng(11))
    assert X.shape == (n, 2)
    freq = np.bincount(z, minlength=2) / n
    se_w = np.sqrt(params.weights * (1 - params.weights) / n)
    assert np.all(np.abs(freq - params.weights) < 5 * se_w)
    for k in range(2):
        xk = X[z == k]
        nk = xk.shape[0]
        cov = params.covariances[k]
        se_mean = np.sqrt(np.diag(cov) / nk)
        assert np.all(np.abs(xk.mean(axis=0) - params.means[k]) < 5 * se_mean)
        # Var of a sample covariance entry: (S_ij^2 + S_ii S_jj) / n for Gaussian data.
        se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / nk)
        assert np.all(np.abs(np.cov(xk, rowvar=False) - cov) < 5 * se_cov)


def test_same_seed_same_points_and_stages_in_order() -> None:
    params = gmm_core.GMMParams([0.3, 0.7], [[0.0, 0.0], [5.0, 5.0]],
                                [np.eye(2), [[2.0, 0.5], [0.5, 1.0]]])
    a = gmm_core.sample_two_stage(params, 500, np.random.default_rng(4))
    b = gmm_core.sample_two_stage(params, 500, np.random.default_rng(4))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = gmm_core.sample_two_stage(params, 500, np.random.default_rng(5))
    assert not np.array_equal(a[0], c[0])
    # Stage 1 alone draws the same labels as the two-stage draw.
    z = gmm_core.sample_components(params.weights, 500, np.random.default_rng(4))
    np.testing.assert_array_equal(z, a[1])
    assert not np.all(np.diff(a[1]) >= 0)  # draw order, not grouped by component


def test_sample_points_rejects_unknown_components() -> None:
    params = gmm_core.GMMParams([1.0], [[0.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="labels"):
        gmm_core.sample_points(params, np.array([0, 1]), np.random.default_rng(0))


# --------------------------------------------------------------------------- unusual points
@pytest.mark.parametrize("percentile", [1.0, 2.5, 5.0, 10.0, 25.0])
def test_flagged_fraction_is_the_percentile(faithful: np.ndarray, percentile: float) -> None:
    fit = gmm_core.best_fit(gmm_core.fit_starts(faithful, 2, "full", [0]))
    log_density, threshold, flags = gmm_core.unusual_points(faithful, fit.params, percentile)
    ref = scipy_score(faithful, fit.params)
    np.testing.assert_allclose(log_density, ref, rtol=1e-10)
    np.testing.assert_allclose(threshold, np.percentile(ref, percentile), rtol=1e-10)
    n = faithful.shape[0]
    assert abs(flags.mean() - percentile / 100) <= 1 / n
    assert np.all(log_density[flags] < log_density[~flags].min())


def test_unusual_points_rejects_a_bad_percentile(faithful: np.ndarray) -> None:
    params = gmm_core.GMMParams([1.0], [[0.0, 0.0]], [np.eye(2)])
    with pytest.raises(ValueError, match="percentile"):
        gmm_core.unusual_points(faithful, params, 101)
