"""The fast path on thin clusters, against gmm_core.textbook (the oracle).

Components much narrower than the data's extent are evaluated and summed in their own
whitened coordinates in the fused pass (see ``gmm_core._em._LogDensity``); a component
that shrinks by orders of magnitude within one step takes a second pass. Both are
checked here against the textbook's plain formulas on adversarial data: thin, tilted
clusters (some nearly flat) far from the data's centre, also offset by 1e6, at sizes
where the fused pass uses float32 exponentials and threads, and through the public
e_step / m_step.
"""

from __future__ import annotations

import numpy as np
import pytest

import gmm_core
from gmm_core import GMMParams, _em, textbook


def thin_clusters(n: int, k: int, seed: int, offset: float) -> tuple[np.ndarray, GMMParams]:
    """N points from K tilted 2-D Gaussians (random linear maps, some nearly singular),
    centres in [-20, 20]^2 + offset, and a start near the centres with the data's covariance.
    """
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(k, 2)) + offset
    labels = rng.integers(k, size=n)
    a = rng.normal(size=(k, 2, 2)) * 0.7
    x = centres[labels] + np.einsum("nij,nj->ni", a[labels], rng.normal(size=(n, 2)))
    start = GMMParams(
        np.full(k, 1.0 / k),
        centres + rng.normal(size=(k, 2)),
        np.broadcast_to(np.cov(x.T, bias=True), (k, 2, 2)),
    )
    return x, start


def smallest_over_largest_variance(params: GMMParams) -> float:
    eig = np.linalg.eigvalsh(params.covariances)
    return float((eig[:, 0] / eig[:, -1]).min())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_large_run_on_thin_clusters_follows_the_textbook(offset, threads, monkeypatch):
    # Chunks split across two threads (forced at this size) or not.
    monkeypatch.setattr(_em, "_THREADS", threads)
    monkeypatch.setattr(_em, "_THREAD_MIN_ELEMENTS", 0)
    # N * K = 500,000: float32 exponentials; seed 12345 makes one component
    # shrink from a variance of 0.24 to 1.6e-5 within one iteration (the second pass),
    # and two stay narrow afterwards (the whitened path).
    x, start = thin_clusters(100_000, 5, 12345, offset)

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=8)
    params_ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=8)

    assert smallest_over_largest_variance(params_ref) < 1e-4  # the case is adversarial
    m_lls = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    # float32 exponentials: an offset of ~1e-9 relative (see _normalise), up to 5e-9 at
    # the iteration where the thin component forms; the bound is 1e-8.
    np.testing.assert_allclose(m_lls, lls_ref, rtol=1e-8)
    np.testing.assert_allclose(np.diff(m_lls), np.diff(lls_ref), atol=1e-3)
    final = hist.final.params
    np.testing.assert_allclose(final.weights, params_ref.weights, rtol=1e-7)
    np.testing.assert_allclose(final.means, params_ref.means, rtol=1e-12, atol=1e-7)
    # Covariances relative to their own size (the thin ones are ~1e-5).
    scale = np.linalg.norm(params_ref.covariances, axis=(1, 2))[:, None, None]
    np.testing.assert_array_less(
        np.abs(final.covariances - params_ref.covariances) / scale, 1e-6
    )


@pytest.mark.parametrize(("offset", "rtol"), [(0.0, 1e-11), (1e6, 1e-8)])
def test_small_run_on_thin_clusters_follows_the_textbook_closely(offset, rtol):
    # float64 throughout: agreement to rounding, thin components included. At offset
    # 1e6 the textbook's own x - mu carries errors of 1e6 * eps = 2e-10, which twelve
    # iterations on thin clusters amplify to ~2e-9 of the log-likelihood.
    x, start = thin_clusters(20_000, 5, 12345, offset)

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=12)
    params_ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=12)

    m_lls = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    np.testing.assert_allclose(m_lls, lls_ref, rtol=rtol)
    final = hist.final.params
    np.testing.assert_allclose(final.means, params_ref.means, rtol=1e-12, atol=1e3 * rtol)
    scale = np.linalg.norm(params_ref.covariances, axis=(1, 2))[:, None, None]
    np.testing.assert_array_less(
        np.abs(final.covariances - params_ref.covariances) / scale, 1e3 * rtol
    )


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_public_steps_on_thin_components_equal_the_textbook(offset):
    x, start = thin_clusters(100_000, 5, 12345, offset)
    params, _ = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=6)
    assert smallest_over_largest_variance(params) < 1e-4

    gamma, ll = gmm_core.e_step(x, params)
    gamma_ref, ll_ref = textbook.e_step(x, params)
    np.testing.assert_allclose(gamma, gamma_ref, rtol=1e-9, atol=1e-13)
    assert ll == pytest.approx(ll_ref, rel=1e-12)

    new = gmm_core.m_step(x, gamma_ref, "full", reg_covar=1e-6)
    new_ref = textbook.m_step(x, gamma_ref, "full", reg_covar=1e-6)
    np.testing.assert_allclose(new.weights, new_ref.weights, rtol=1e-12)
    np.testing.assert_allclose(new.means, new_ref.means, rtol=1e-12, atol=1e-8)
    scale = np.linalg.norm(new_ref.covariances, axis=(1, 2))[:, None, None]
    np.testing.assert_array_less(np.abs(new.covariances - new_ref.covariances) / scale, 1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_a_needle_component_follows_the_textbook_for_every_type(covariance_type):
    # One component 1e-4 wide along one axis, 30 units from the rest of the data:
    # narrow for the expanded quadratic form and for the one-pass moments alike.
    rng = np.random.default_rng(7)
    wide = rng.normal(size=(30_000, 2)) * 3.0
    needle = np.column_stack([rng.normal(size=3_000) * 2.0, rng.normal(size=3_000) * 1e-4])
    x = np.concatenate([wide, needle + [30.0, 30.0]])
    start = GMMParams(
        [0.9, 0.1], [[0.0, 0.0], [30.0, 30.0]],
        [np.eye(2) * 9.0, np.diag([4.0, 1e-8])] if covariance_type != "tied" else [np.eye(2)] * 2,
    )
    if covariance_type == "spherical":
        start = GMMParams(start.weights, start.means, [np.eye(2) * 9.0, np.eye(2) * 1e-2])

    hist = gmm_core.run_em(
        x, start, covariance_type=covariance_type, reg_covar=1e-12, tol=0.0, max_iter=5
    )
    params_ref, lls_ref = textbook.em(x, start, covariance_type, reg_covar=1e-12, n_iter=5)

    m_lls = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    np.testing.assert_allclose(m_lls, lls_ref, rtol=1e-11)
    final = hist.final.params
    np.testing.assert_allclose(final.means, params_ref.means, rtol=1e-12, atol=1e-9)
    scale = np.linalg.norm(params_ref.covariances, axis=(1, 2))[:, None, None]
    np.testing.assert_array_less(
        np.abs(final.covariances - params_ref.covariances) / scale, 1e-8
    )
