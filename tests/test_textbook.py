"""gmm_core.textbook against scipy and numpy, then the fast path against gmm_core.textbook.

Two layers of oracles:

1. The textbook module itself is checked against independent references: scipy's
   ``multivariate_normal`` for densities and responsibilities, ``np.cov`` with
   ``aweights`` for the weighted covariances, hand-derived numbers for a tiny case.
2. The fast path (``gmm_core.e_step``, ``m_step``, ``run_em``: quadratic features,
   chunks, fused log-sum-exp, whitened narrow components) is checked against the textbook
   module for all four covariance types, on data far from the origin (offset 1e6)
   and for a single point.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gmm_core
from gmm_core import GMMParams, textbook

TYPES = ["full", "tied", "diag", "spherical"]


def cov_type_of(weighted_cov: np.ndarray, nk: np.ndarray, covariance_type: str) -> np.ndarray:
    """Constrain full per-component covariances (K, D, D) to a covariance type, by hand."""
    k, d, _ = weighted_cov.shape
    if covariance_type == "full":
        return weighted_cov
    if covariance_type == "tied":
        shared = np.einsum("k,kij->ij", nk, weighted_cov) / nk.sum()
        return np.broadcast_to(shared, (k, d, d))
    if covariance_type == "diag":
        return np.diagonal(weighted_cov, axis1=1, axis2=2)[:, :, None] * np.eye(d)
    return (np.trace(weighted_cov, axis1=1, axis2=2) / d)[:, None, None] * np.eye(d)


# --------------------------------------------------------------------------- layer 1


def test_textbook_e_step_equals_scipy(rng, make_params, make_data, ref):
    params = make_params(rng, 3, 2)
    x, _ = make_data(rng, params, 400)

    gamma, ll = textbook.e_step(x, params)

    np.testing.assert_allclose(gamma, ref.resp(x, params), rtol=1e-10, atol=1e-14)
    assert ll == pytest.approx(ref.score_samples(x, params).sum(), rel=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_textbook_m_step_equals_weighted_np_cov(rng, covariance_type):
    x = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 3))
    gamma = rng.dirichlet(np.ones(4), size=300)

    params = textbook.m_step(x, gamma, covariance_type, reg_covar=0.0)

    nk = gamma.sum(axis=0)
    np.testing.assert_allclose(params.weights, nk / 300, rtol=1e-13)
    means = np.stack([np.average(x, axis=0, weights=g) for g in gamma.T])
    np.testing.assert_allclose(params.means, means, rtol=1e-12)
    full = np.stack([np.cov(x, rowvar=False, aweights=g, bias=True) for g in gamma.T])
    np.testing.assert_allclose(
        params.covariances, cov_type_of(full, nk, covariance_type), rtol=1e-10, atol=1e-13
    )


def test_textbook_by_hand_on_two_points():
    # Two points, one component: mean 1, variance ((0-1)^2 + (2-1)^2) / 2 = 1.
    x = np.array([[0.0], [2.0]])
    params = textbook.m_step(x, np.ones((2, 1)), "full", reg_covar=0.0)
    assert params.means[0, 0] == 1.0
    assert params.covariances[0, 0, 0] == 1.0
    # log N(0 | 1, 1) = log N(2 | 1, 1) = -1/2 log(2 pi) - 1/2.
    assert textbook.log_likelihood(x, params) == pytest.approx(-np.log(2 * np.pi) - 1.0)


def test_textbook_em_never_lowers_the_likelihood(rng, make_params, make_data):
    true = make_params(rng, 3, 2)
    x, _ = make_data(rng, true, 300)
    start = GMMParams(np.full(3, 1 / 3), x[:3], np.broadcast_to(np.cov(x.T), (3, 2, 2)))

    _, lls = textbook.em(x, start, "full", reg_covar=0.0, n_iter=15)

    assert len(lls) == 16
    assert np.all(np.diff(lls) >= -1e-9 * abs(lls[-1]))


# --------------------------------------------------------------------------- layer 2


@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_fast_e_step_and_m_step_equal_the_textbook(
    rng, make_params, make_data, covariance_type, offset
):
    params = make_params(rng, 3, 2, covariance_type, offset=offset)
    x, _ = make_data(rng, params, 2_000)

    gamma, ll = gmm_core.e_step(x, params)
    gamma_ref, ll_ref = textbook.e_step(x, params)
    np.testing.assert_allclose(gamma, gamma_ref, rtol=1e-7, atol=1e-10)
    assert ll == pytest.approx(ll_ref, rel=1e-10)

    new = gmm_core.m_step(x, gamma_ref, covariance_type, reg_covar=1e-6)
    new_ref = textbook.m_step(x, gamma_ref, covariance_type, reg_covar=1e-6)
    np.testing.assert_allclose(new.weights, new_ref.weights, rtol=1e-12)
    np.testing.assert_allclose(new.means, new_ref.means, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(new.covariances, new_ref.covariances, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_run_em_follows_the_textbook_loop(rng, make_params, make_data, covariance_type, offset):
    true = make_params(rng, 3, 2, covariance_type, offset=offset)
    x, _ = make_data(rng, true, 1_500)
    start = make_params(rng, 3, 2, covariance_type, offset=offset)

    hist = gmm_core.run_em(x, start, covariance_type=covariance_type, tol=0.0, max_iter=8)
    params_ref, lls_ref = textbook.em(x, start, covariance_type, reg_covar=1e-6, n_iter=8)

    m_lls = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    np.testing.assert_allclose(m_lls, lls_ref, rtol=1e-9)
    final = hist.final.params
    np.testing.assert_allclose(final.weights, params_ref.weights, rtol=1e-8)
    np.testing.assert_allclose(final.means, params_ref.means, rtol=1e-10, atol=1e-7)
    np.testing.assert_allclose(final.covariances, params_ref.covariances, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_a_single_point_matches_the_textbook(covariance_type):
    x = np.array([[3.0, -2.0]])
    params = GMMParams([1.0], [[0.0, 0.0]], [np.eye(2)])

    gamma, ll = gmm_core.e_step(x, params)
    gamma_ref, ll_ref = textbook.e_step(x, params)
    assert gamma == gamma_ref == 1.0
    assert ll == pytest.approx(ll_ref, rel=1e-13)

    new = gmm_core.m_step(x, gamma, covariance_type, reg_covar=1e-6)
    new_ref = textbook.m_step(x, gamma_ref, covariance_type, reg_covar=1e-6)
    np.testing.assert_allclose(new.means, new_ref.means)
    np.testing.assert_allclose(new.covariances, new_ref.covariances, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 4),
    d=st.integers(1, 3),
    covariance_type=st.sampled_from(TYPES),
    log_scale=st.floats(-3, 3),
    log_offset=st.floats(0, 6),
)
def test_fast_path_equals_the_textbook_property(seed, k, d, covariance_type, log_scale, log_offset):
    from tests.conftest import mixture_data, random_params

    rng = np.random.default_rng(seed)
    scale, offset = 10.0**log_scale, 10.0**log_offset
    params = random_params(rng, k, d, covariance_type, scale=scale, offset=offset)
    x, _ = mixture_data(rng, params, 200)
    reg = 1e-6 * scale**2

    gamma_ref, ll_ref = textbook.e_step(x, params)
    gamma, ll = gmm_core.e_step(x, params)
    np.testing.assert_allclose(gamma, gamma_ref, atol=1e-7)
    assert ll == pytest.approx(ll_ref, rel=1e-9, abs=1e-6)

    new = gmm_core.m_step(x, gamma_ref, covariance_type, reg_covar=reg)
    new_ref = textbook.m_step(x, gamma_ref, covariance_type, reg_covar=reg)
    np.testing.assert_allclose(new.means, new_ref.means, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(
        new.covariances, new_ref.covariances, rtol=1e-6, atol=1e-9 * scale**2
    )


@pytest.mark.parametrize("offset", [0.0, 1e6])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_large_runs_with_single_precision_exponentials_follow_the_textbook(
    rng, make_params, make_data, covariance_type, offset
):
    # N * K = 300,000 >= 2**18: run_em's fused pass evaluates its exponentials in
    # float32 (see gmm_core._em._normalise).
    true = make_params(rng, 3, 2, covariance_type, spread=1.0, offset=offset)
    x, _ = make_data(rng, true, 100_000)
    start = make_params(rng, 3, 2, covariance_type, spread=1.0, offset=offset)

    hist = gmm_core.run_em(x, start, covariance_type=covariance_type, tol=0.0, max_iter=4)
    params_ref, lls_ref = textbook.em(x, start, covariance_type, reg_covar=1e-6, n_iter=4)

    m_lls = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    # float32 exponentials are biased by ~5e-9 relative: the log-likelihood carries a
    # nearly constant offset (~1e-9 relative), which cancels in its changes, the numbers
    # the stopping rule reads.
    np.testing.assert_allclose(m_lls, lls_ref, rtol=2e-9)
    np.testing.assert_allclose(np.diff(m_lls), np.diff(lls_ref), atol=1e-4)
    final = hist.final.params
    np.testing.assert_allclose(final.weights, params_ref.weights, rtol=1e-7)
    np.testing.assert_allclose(final.means, params_ref.means, rtol=1e-10, atol=1e-7)
    np.testing.assert_allclose(final.covariances, params_ref.covariances, rtol=1e-7, atol=1e-8)


def test_thin_clusters_far_from_the_centre_follow_the_textbook():
    # Thin, tilted clusters 20 units from the data's centre: the one-pass moments of
    # some components lose digits after an M-step and run_em recomputes their scatter
    # in a second pass over the data; the result is still the textbook's.
    rng = np.random.default_rng(12345)
    centres = rng.uniform(-20, 20, size=(5, 2))
    labels = rng.integers(5, size=20_000)
    a = rng.normal(size=(5, 2, 2)) * 0.7
    x = centres[labels] + np.einsum("nij,nj->ni", a[labels], rng.normal(size=(20_000, 2)))
    start = GMMParams(
        np.full(5, 0.2), centres + rng.normal(size=(5, 2)),
        np.broadcast_to(np.cov(x.T, bias=True), (5, 2, 2)),
    )

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=20)
    params_ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=20)

    np.testing.assert_allclose(hist.final.log_likelihood, lls_ref[-1], rtol=1e-12)
    np.testing.assert_allclose(hist.final.params.covariances, params_ref.covariances, rtol=1e-9)
