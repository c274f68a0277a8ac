"""Degenerate inputs: each gives a sensible finite result or a clear error, never a silent NaN.

Expected values are closed forms (K = 1: the data's mean and biased covariance),
invariances (duplicating, shifting or scaling the data) or scipy.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

import gmm_core
from gmm_core import (
    ComponentCollapseError,
    GaussianMixture,
    GMMParams,
    e_step,
    initialize,
    m_step,
    run_em,
    score_samples,
    textbook,
)

TYPES = ("full", "tied", "diag", "spherical")


def grid(x: np.ndarray) -> np.ndarray:
    """Round to multiples of 2**-20 so that adding 1e8 (ulp 2**-26) is exact."""
    return np.round(x * 2.0**20) / 2.0**20


def assert_finite_history(hist) -> None:
    """Every recorded state is finite unless the run announces a collapse."""
    for step in hist.steps:
        p = step.params
        assert np.all(np.isfinite(p.weights))
        assert np.all(np.isfinite(p.means))
        assert np.all(np.isfinite(p.covariances))
    if hist.stop_reason != "collapse":
        assert np.all(np.isfinite(hist.log_likelihoods))


def two_blobs(rng, n: int = 200) -> np.ndarray:
    return np.concatenate(
        [rng.normal(size=(n // 2, 2)), rng.normal(size=(n - n // 2, 2)) * 0.7 + [5.0, 2.0]]
    )


def start(x: np.ndarray, idx: list[int], covariance_type: str = "full") -> GMMParams:
    """Means at the data points ``idx``, equal weights, the data's covariance shaped per type."""
    k, d = len(idx), x.shape[1]
    cov = np.atleast_2d(np.cov(x.T, bias=True))
    if covariance_type == "diag":
        cov = np.diag(np.diag(cov))
    elif covariance_type == "spherical":
        cov = np.trace(cov) / d * np.eye(d)
    return GMMParams(np.full(k, 1.0 / k), x[idx], np.broadcast_to(cov, (k, d, d)))


def sklearn_shaped(cov: np.ndarray, covariance_type: str) -> np.ndarray:
    """Closed-form single-component covariance for each type, shape (D, D)."""
    if covariance_type == "diag":
        return np.diag(np.diag(cov))
    if covariance_type == "spherical":
        return np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    return cov


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("covariance_type", TYPES)
def test_duplicating_every_point_changes_only_the_likelihood_scale(rng, covariance_type):
    x = two_blobs(rng, 80)
    params0 = start(x, [0, 50, 79], covariance_type)
    kwargs = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 10}

    once = run_em(x, params0, **kwargs)
    thrice = run_em(np.repeat(x, 3, axis=0), params0, **kwargs)

    assert thrice.stop_reason == once.stop_reason == "max_iter"
    np.testing.assert_allclose(thrice.log_likelihoods, 3 * once.log_likelihoods, rtol=1e-10)
    assert thrice.final.params.allclose(once.final.params, rtol=1e-9, atol=1e-12)


def test_estimator_on_data_with_many_duplicates(rng):
    x = np.repeat(two_blobs(rng, 60), 5, axis=0)

    gm = GaussianMixture(2, random_state=0).fit(x)

    assert np.isfinite(gm.lower_bound_)
    assert np.all(np.isfinite(gm.covariances_))
    assert np.all(np.isfinite(gm.predict_proba(x)))


# --------------------------------------------------------------------------- few distinct points


@pytest.fixture
def four_points() -> np.ndarray:
    """40 rows holding only 4 distinct points, shape (40, 2)."""
    return np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]]), 10, axis=0)


@pytest.mark.parametrize("method", ["random_from_data", "kmeans++", "kmeans"])
def test_fewer_distinct_points_than_k_is_a_clear_error(rng, four_points, method):
    with pytest.raises(ValueError, match="distinct") as info:
        initialize(four_points, 6, method, rng)
    assert "4" in str(info.value)  # says how many distinct points there are


@pytest.mark.parametrize("method", ["random_from_data", "kmeans++", "kmeans"])
def test_distinct_points_are_counted_beyond_the_first_rows(rng, method):
    """The check looks at the first rows first: points that differ only further down count."""
    x = np.zeros((1000, 2))
    x[-1] = [5.0, 5.0]
    with pytest.raises(ValueError, match="only 2 distinct"):
        initialize(x, 3, method, rng)
    x[-3:-1] = [[1.0, 0.0], [0.0, 1.0]]  # four distinct points, three of them in the last rows
    params = initialize(x, 4, method, rng)
    assert np.all(np.isfinite(params.means))


def test_fewer_distinct_points_than_k_em_stays_finite(rng, four_points):
    params0 = initialize(four_points, 6, "random_resp", rng)
    assert np.all(np.isfinite(params0.covariances))

    hist = run_em(four_points, params0, reg_covar=1e-6, tol=0.0, max_iter=50)

    # Components pile onto the 4 points; a surplus one may lose all its points (weight -> 0),
    # which must be announced as a collapse, with the states before it finite.
    assert hist.stop_reason in ("max_iter", "collapse")
    if hist.stop_reason == "collapse":
        assert hist.collapse.reason == "empty_component"
        assert "fewer components" in hist.collapse.message
    assert_finite_history(hist)
    assert np.all(np.isfinite(hist.log_likelihoods))
    resp, ll = e_step(four_points, hist.final.params)
    assert np.all(np.isfinite(resp))
    assert np.isfinite(ll)


def test_all_points_identical(rng):
    x = np.full((10, 2), 7.5)

    gm = GaussianMixture(1, reg_covar=1e-6, random_state=0).fit(x)

    np.testing.assert_allclose(gm.means_, [[7.5, 7.5]])
    np.testing.assert_allclose(gm.covariances_[0], 1e-6 * np.eye(2), rtol=1e-6)
    # K above the number of distinct points fits, as in scikit-learn, and says so.
    with pytest.warns(gmm_core.DegenerateFitWarning, match="empty"):
        gm2 = GaussianMixture(2, random_state=0).fit(x)
    np.testing.assert_allclose(gm2.means_, [[7.5, 7.5]] * 2)


# --------------------------------------------------------------------------- constant column


@pytest.fixture
def constant_column(rng) -> np.ndarray:
    """Shape (200, 2): a bimodal first column and a constant 3.0 second column."""
    x = two_blobs(rng)
    x[:, 1] = 3.0
    return x


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_constant_column_variance_is_reg_covar(constant_column, covariance_type):
    x = constant_column
    params0 = GMMParams([0.5, 0.5], x[[0, 150]], np.stack([np.eye(2)] * 2))

    hist = run_em(x, params0, covariance_type=covariance_type, reg_covar=1e-6, max_iter=50)

    assert hist.stop_reason == "converged"
    assert_finite_history(hist)
    cov = hist.final.params.covariances
    np.testing.assert_allclose(cov[:, 1, 1], 1e-6, rtol=1e-6)
    np.testing.assert_allclose(cov[:, 0, 1], 0.0, atol=1e-12)
    np.testing.assert_allclose(hist.final.params.means[:, 1], 3.0, rtol=1e-12)


def test_constant_column_estimator(constant_column):
    for covariance_type in TYPES:
        gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
            constant_column
        )
        assert np.all(np.isfinite(gm.covariances_))
        assert np.isfinite(gm.score(constant_column))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_constant_column_without_regularisation_reports_collapse(constant_column, covariance_type):
    x = constant_column
    params0 = GMMParams([0.5, 0.5], x[[0, 150]], np.stack([np.eye(2)] * 2))

    hist = run_em(x, params0, covariance_type=covariance_type, reg_covar=0.0, max_iter=50)

    assert hist.stop_reason == "collapse"
    assert not hist.converged
    assert hist.collapse is not None
    assert hist.collapse.reason == "singular_covariance"
    assert hist.collapse.component in (0, 1)
    assert_finite_history(hist)
    assert np.all(np.isfinite(hist.log_likelihoods))  # the states recorded before it
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0, random_state=0).fit(x)


def test_singular_starting_parameters_report_collapse_not_nan(constant_column):
    """Starting from the data's own (singular) covariance with reg_covar=0 is announced."""
    x = constant_column
    cov = np.cov(x.T, bias=True)
    assert np.linalg.eigvalsh(cov)[0] < 1e-12  # the premise: singular
    params0 = GMMParams([0.5, 0.5], x[[0, 150]], np.stack([cov, cov]))

    hist = run_em(x, params0, reg_covar=0.0)

    assert hist.stop_reason == "collapse"
    assert not hist.converged
    assert hist.collapse is not None
    assert hist.collapse.reason in ("singular_covariance", "non_finite")
    assert "reg_covar" in hist.collapse.message


# --------------------------------------------------------------------------- N = 1


@pytest.mark.parametrize("covariance_type", TYPES)
def test_single_point_m_step_is_the_point_plus_reg_covar(covariance_type):
    x = np.array([[2.0, -1.0]])

    params = m_step(x, np.ones((1, 1)), covariance_type, reg_covar=1e-6)

    np.testing.assert_array_equal(params.weights, [1.0])
    np.testing.assert_allclose(params.means, x, rtol=1e-15)
    np.testing.assert_allclose(params.covariances[0], 1e-6 * np.eye(2), rtol=1e-9, atol=1e-20)


def test_single_point_without_regularisation_is_a_collapse():
    with pytest.raises(ComponentCollapseError) as info:
        m_step(np.array([[2.0, -1.0]]), np.ones((1, 1)), "full", reg_covar=0.0)
    assert isinstance(info.value, ValueError)
    assert info.value.collapse.component == 0


def test_single_point_density_and_responsibilities(rng, ref, make_params):
    params = make_params(rng, 2, 3)
    x = rng.normal(size=(1, 3))

    resp, ll = e_step(x, params)

    assert resp.shape == (1, 2)
    np.testing.assert_allclose(resp.sum(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(resp, ref.resp(x, params), rtol=1e-10)
    np.testing.assert_allclose(score_samples(x, params), ref.score_samples(x, params), rtol=1e-11)
    assert ll == pytest.approx(ref.score_samples(x, params)[0], rel=1e-11)


def test_single_point_em_converges_to_the_point():
    x = np.array([[2.0, -1.0]])
    params0 = GMMParams([1.0], [[0.0, 0.0]], [np.eye(2)])

    hist = run_em(x, params0, reg_covar=1e-6, max_iter=10)

    assert hist.stop_reason == "converged"
    assert_finite_history(hist)
    np.testing.assert_allclose(hist.final.params.means, x)
    expected = multivariate_normal(x[0], 1e-6 * np.eye(2)).logpdf(x[0])
    assert hist.final.log_likelihood == pytest.approx(expected, rel=1e-9)


def test_single_point_estimator_is_a_clear_error():
    with pytest.raises(ValueError, match="point"):
        GaussianMixture(1).fit(np.array([[2.0, -1.0]]))


@pytest.mark.parametrize("method", ["random_from_data", "kmeans++", "kmeans", "random_resp"])
def test_single_point_initialize_is_the_point_plus_reg_covar(rng, method):
    x = np.array([[2.0, -1.0]])

    params = initialize(x, 1, method, rng, reg_covar=1e-6)

    np.testing.assert_allclose(params.means, x)
    np.testing.assert_allclose(params.covariances[0], 1e-6 * np.eye(2), rtol=1e-9)


# --------------------------------------------------------------------------- offset by 1e8


@pytest.mark.parametrize("covariance_type", TYPES)
def test_offset_by_1e8_gives_the_shifted_run(rng, covariance_type):
    """Catches a one-pass moment formula E[xx'] - mu mu' that was not centred first."""
    x0 = grid(two_blobs(rng, 300))
    x1 = x0 + 1e8  # exact: x1 - 1e8 == x0
    assert np.array_equal(x1 - 1e8, x0)
    p0 = start(x0, [0, 299], covariance_type)
    p1 = GMMParams(p0.weights, p0.means + 1e8, p0.covariances)
    kwargs = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 15}

    h0 = run_em(x0, p0, **kwargs)
    h1 = run_em(x1, p1, **kwargs)

    assert h1.stop_reason == h0.stop_reason == "max_iter"
    np.testing.assert_allclose(h1.log_likelihoods, h0.log_likelihoods, rtol=1e-8)
    f0, f1 = h0.final.params, h1.final.params
    np.testing.assert_allclose(f1.weights, f0.weights, rtol=1e-7)
    np.testing.assert_allclose(f1.means - 1e8, f0.means, atol=1e-6)
    np.testing.assert_allclose(f1.covariances, f0.covariances, rtol=1e-6, atol=1e-9)


def test_offset_by_1e8_single_component_is_the_data_covariance(rng):
    x0 = grid(rng.normal(size=(500, 2)) @ [[1.0, 0.3], [0.0, 0.5]])
    x1 = x0 + 1e8
    params0 = GMMParams([1.0], [[1e8, 1e8]], [np.eye(2)])

    hist = run_em(x1, params0, reg_covar=0.0, tol=0.0, max_iter=1)

    expected = np.cov(x0.T, bias=True)
    np.testing.assert_allclose(hist.final.params.covariances[0], expected, rtol=1e-6)
    np.testing.assert_allclose(hist.final.params.means[0] - 1e8, x0.mean(axis=0), atol=1e-7)


def test_offset_by_1e8_estimator(rng):
    x0 = grid(two_blobs(rng, 300))

    g0 = GaussianMixture(2, random_state=3).fit(x0)
    g1 = GaussianMixture(2, random_state=3).fit(x0 + 1e8)

    order0, order1 = np.argsort(g0.means_[:, 0]), np.argsort(g1.means_[:, 0])
    np.testing.assert_allclose(g1.means_[order1] - 1e8, g0.means_[order0], atol=1e-5)
    np.testing.assert_allclose(g1.covariances_[order1], g0.covariances_[order0], rtol=1e-5)


# --------------------------------------------------------------------------- scaled data


@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_scaled_data_with_scaled_reg_covar_gives_the_scaled_run(rng, scale, covariance_type):
    x0 = two_blobs(rng, 300)
    p0 = start(x0, [0, 299], covariance_type)
    p1 = GMMParams(p0.weights, p0.means * scale, p0.covariances * scale**2)
    kwargs = {"covariance_type": covariance_type, "tol": 0.0, "max_iter": 15}

    h0 = run_em(x0, p0, reg_covar=1e-6, **kwargs)
    h1 = run_em(x0 * scale, p1, reg_covar=1e-6 * scale**2, **kwargs)

    assert h1.stop_reason == h0.stop_reason == "max_iter"
    shift = -x0.size * np.log(scale)  # log-likelihood of scaled data: - N D log(scale)
    np.testing.assert_allclose(h1.log_likelihoods, h0.log_likelihoods + shift, rtol=1e-9)
    resp0, _ = e_step(x0, h0.final.params)
    resp1, _ = e_step(x0 * scale, h1.final.params)
    np.testing.assert_allclose(resp1, resp0, atol=1e-9)
    f0, f1 = h0.final.params, h1.final.params
    np.testing.assert_allclose(f1.means / scale, f0.means, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(f1.covariances / scale**2, f0.covariances, rtol=1e-8, atol=1e-12)


def test_tiny_data_with_default_reg_covar_stays_finite(rng):
    """reg_covar = 1e-6 swamps data of scale 1e-8: a wide but valid answer, not NaN."""
    x = two_blobs(rng, 200) * 1e-8

    gm = GaussianMixture(2, random_state=0).fit(x)

    assert np.all(np.isfinite(gm.covariances_))
    assert np.all(np.isfinite(gm.predict_proba(x)))
    assert np.isfinite(gm.score(x))


# --------------------------------------------------------------------------- K = 1


@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_single_component_is_the_closed_form(rng, n_features, covariance_type):
    a = rng.normal(size=(n_features, n_features))
    x = rng.normal(size=(250, n_features)) @ a + rng.normal(size=n_features)
    params0 = GMMParams([1.0], np.zeros((1, n_features)), [np.eye(n_features)])
    reg = 1e-3
    cov = sklearn_shaped(np.atleast_2d(np.cov(x.T, bias=True)), covariance_type)
    cov = cov + reg * np.eye(n_features)

    hist = run_em(x, params0, covariance_type=covariance_type, reg_covar=reg, max_iter=10)

    assert hist.stop_reason == "converged"
    assert hist.n_iter <= 2
    final = hist.final.params
    np.testing.assert_array_equal(final.weights, [1.0])
    np.testing.assert_allclose(final.means[0], x.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(final.covariances[0], cov, rtol=1e-10, atol=1e-12)
    expected_ll = multivariate_normal(x.mean(axis=0), cov).logpdf(x).sum()
    assert hist.final.log_likelihood == pytest.approx(expected_ll, rel=1e-10)

    gm = GaussianMixture(1, covariance_type=covariance_type, reg_covar=reg).fit(x)
    assert gm.converged_
    np.testing.assert_allclose(gm.means_[0], x.mean(axis=0), rtol=1e-10, atol=1e-12)
    assert gm.score(x) * len(x) == pytest.approx(expected_ll, rel=1e-10)


# --------------------------------------------------------------------------- collapse


@pytest.fixture
def outlier_1d(rng) -> np.ndarray:
    """100 standard normal points and one isolated point at 50, shape (101, 1)."""
    return np.concatenate([rng.normal(size=(100, 1)), [[50.0]]])


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_component_on_an_isolated_point_collapses_and_is_named(outlier_1d, order):
    params0 = GMMParams([0.5, 0.5], [[0.0], [50.0]], [[[1.0]], [[1.0]]]).permuted(order)
    culprit = order.index(1)  # where the component started at 50 now sits

    hist = run_em(outlier_1d, params0, reg_covar=0.0, tol=0.0, max_iter=20)

    assert hist.stop_reason == "collapse"
    assert not hist.converged
    collapse = hist.collapse
    assert collapse.component == culprit
    assert collapse.reason == "singular_covariance"
    assert_finite_history(hist)
    assert np.all(np.isfinite(hist.log_likelihoods))
    message = collapse.message
    assert f"omponent {culprit + 1}" in message  # the message counts from 1
    assert "reg_covar" in message
    assert "fewer components" in message or "lower K" in message
    assert "scal" in message


def test_the_same_isolated_point_with_reg_covar_does_not_collapse(outlier_1d):
    params0 = GMMParams([0.5, 0.5], [[0.0], [50.0]], [[[1.0]], [[1.0]]])

    hist = run_em(outlier_1d, params0, reg_covar=1e-6, max_iter=50)

    assert hist.stop_reason == "converged"
    assert_finite_history(hist)
    np.testing.assert_allclose(hist.final.params.means[1], [50.0], atol=1e-12)
    np.testing.assert_allclose(hist.final.params.covariances[1], [[1e-6]], rtol=1e-6)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_isolated_point_in_2d_collapses_except_when_tied(rng, covariance_type):
    x = np.concatenate([two_blobs(rng, 200), [[40.0, -30.0]]])
    params0 = start(x, [0, 150, 200], covariance_type)

    hist = run_em(x, params0, covariance_type=covariance_type, reg_covar=0.0, max_iter=50)

    assert_finite_history(hist)
    if covariance_type == "tied":  # a shared covariance cannot shrink onto one point
        assert hist.stop_reason != "collapse"
    else:
        assert hist.stop_reason == "collapse"
        assert hist.collapse.component == 2


def test_estimator_on_a_collapsing_case_says_what_to_do(outlier_1d):
    # scikit-learn returns this fit (a variance ~1e-26 on the outlier); so does the
    # drop-in estimator, with a warning saying what happened and what to do.
    with pytest.warns(gmm_core.DegenerateFitWarning, match="reg_covar") as info:
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(outlier_1d)
    assert "scal" in str(info[0].message)


@pytest.mark.parametrize("bad", [0, 2])
def test_evaluating_a_singular_component_names_it(rng, bad):
    covs = np.stack([np.eye(2)] * 3)
    covs[bad] = [[1.0, 1.0], [1.0, 1.0]]  # rank 1: not positive definite
    params = GMMParams(np.full(3, 1 / 3), rng.normal(size=(3, 2)), covs)
    x = rng.normal(size=(10, 2))

    for call in (e_step, score_samples, gmm_core.predict_proba):
        with pytest.raises(ComponentCollapseError) as info:
            call(x, params)
        assert info.value.collapse.component == bad
        assert info.value.collapse.reason == "singular_covariance"
        assert f"omponent {bad + 1}" in str(info.value)
    hist = run_em(x, params)
    assert hist.stop_reason == "collapse"
    assert hist.collapse.component == bad


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_m_step_with_one_point_in_a_component_raises_typed_error(rng, covariance_type):
    x = rng.normal(size=(20, 2))
    labels = np.zeros(20, dtype=int)
    labels[10:] = 1
    labels[7] = 2  # component 2 owns exactly one point
    resp = np.eye(3)[labels]

    with pytest.raises(ComponentCollapseError) as info:
        m_step(x, resp, covariance_type, reg_covar=0.0)

    assert isinstance(info.value, ValueError)
    assert info.value.collapse.component == 2
    assert info.value.collapse.reason == "singular_covariance"
    assert "reg_covar" in str(info.value)
    # with regularisation the same M-step is fine and the lone point's variance is reg_covar
    params = m_step(x, resp, covariance_type, reg_covar=1e-6)
    np.testing.assert_allclose(params.means[2], x[7])
    np.testing.assert_allclose(params.covariances[2], 1e-6 * np.eye(2), rtol=1e-6, atol=1e-18)


def test_m_step_with_an_empty_component_raises_typed_error(rng):
    x = rng.normal(size=(20, 2))
    resp = np.zeros((20, 3))
    resp[:10, 0] = 1.0
    resp[10:, 2] = 1.0  # component 1 has no point at all

    with pytest.raises(ComponentCollapseError) as info:
        m_step(x, resp, "full", reg_covar=1e-6)

    assert info.value.collapse.component == 1
    assert info.value.collapse.reason == "empty_component"


# --------------------------------------------------------------------------- NaN / inf


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_is_rejected_everywhere(rng, make_params, bad):
    x = rng.normal(size=(30, 2))
    x[4, 1] = bad
    params = make_params(rng, 2, 2)
    resp = np.full((30, 2), 0.5)
    calls = {
        "e_step": lambda: e_step(x, params),
        "score_samples": lambda: score_samples(x, params),
        "log_likelihood": lambda: gmm_core.log_likelihood(x, params),
        "predict": lambda: gmm_core.predict(x, params),
        "predict_proba": lambda: gmm_core.predict_proba(x, params),
        "m_step": lambda: m_step(x, resp),
        "run_em": lambda: run_em(x, params),
        "initialize": lambda: initialize(x, 2, "kmeans", rng),
        "bic": lambda: gmm_core.bic(x, params, "full"),
        "fit": lambda: GaussianMixture(2).fit(x),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=r"NaN|nan|infinite|finite") as info:
            call()
        assert not isinstance(info.value, ComponentCollapseError), name


# --- regressions found in review ----------------------------------------------------------


def test_features_of_very_different_scales_are_not_a_collapse() -> None:
    # Dollars and fractions: the smaller column's variance is ~1e-14 of the larger one's.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(0, 1e6, 2000), rng.normal(0, 0.1, 2000)])
    X[:1000, 0] += 5e6
    gm = gmm_core.GaussianMixture(2, random_state=0).fit(X)
    assert gm.converged_
    assert sorted(np.round(gm.means_[:, 0] / 1e6)) == [0.0, 5.0]


def test_narrow_cluster_far_away_keeps_its_covariance_digits() -> None:
    # The one-pass moment formula loses ~eps * (1e4 / 0.1)^2 = 2e-6 relative here;
    # the two-pass fallback must take over.
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20_000, 2))
    b = rng.normal(size=(20_000, 2)) * 0.1 + [1e4, 0.0]
    X = np.vstack([a, b])
    resp = np.zeros((X.shape[0], 2))
    resp[:20_000, 0] = 1.0
    resp[20_000:, 1] = 1.0
    params = gmm_core.m_step(X, resp, "full", reg_covar=0.0)
    expected = np.cov(b - b.mean(axis=0), rowvar=False, bias=True)
    np.testing.assert_allclose(params.covariances[1], expected, rtol=1e-9)


def test_reg_covar_zero_on_a_constant_column_refuses_to_start() -> None:
    X = np.column_stack([np.arange(10.0), np.full(10, 3.0)])
    with pytest.raises(ValueError, match="no spread"):
        gmm_core.initialize(X, 2, "kmeans++", np.random.default_rng(0), reg_covar=0.0)


def test_values_whose_squares_overflow_are_refused() -> None:
    X = np.array([[1e160, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="overflow"):
        gmm_core.e_step(X, gmm_core.GMMParams([1.0], [[0.0, 0.0]], [np.eye(2)]))


def test_weights_within_tolerance_are_renormalised_and_sample() -> None:
    params = gmm_core.GMMParams([1 + 5e-7, 0.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]])
    assert params.weights.sum() == 1.0
    X, labels = gmm_core.sample(params, 5, np.random.default_rng(0))
    assert X.shape == (5, 1)
    assert np.all(labels == 0)


def test_n_parameters_rejects_empty_models() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        gmm_core.n_parameters(0, 2, "full")


def test_fused_em_keeps_digits_for_a_thin_cluster_far_from_the_centre() -> None:
    # run_em's fused pass accumulates a narrow component's moments about its previous
    # mean; each of its M-steps must equal the textbook M-step (gmm_core.textbook).
    rng = np.random.default_rng(3)
    a = rng.normal(size=(30_000, 2))
    b = rng.normal(size=(30_000, 2)) * [0.05, 0.002] + [3e3, 10.0]
    X = np.vstack([a, b])
    params0 = gmm_core.GMMParams(
        [0.5, 0.5], [[0.1, 0.0], [3e3 + 0.01, 10.0]], [np.eye(2), np.diag([0.01, 1e-5])]
    )
    history = gmm_core.run_em(X, params0, reg_covar=0.0, tol=0.0, max_iter=3)
    for before, after in zip(history.steps[1::2], history.steps[2::2], strict=True):
        resp, _ = textbook.e_step(X, before.params)
        reference = textbook.m_step(X, resp, "full", reg_covar=0.0)
        np.testing.assert_allclose(after.params.covariances, reference.covariances, rtol=1e-9)
        np.testing.assert_allclose(after.params.means, reference.means, rtol=1e-12, atol=1e-9)
