"""Skipping negligible components in the fused pass, against gmm_core.textbook.

For large runs the fused pass orders the points in space once, and in each cell of
points skips the components whose responsibilities there are provably below e^-60
(see ``gmm_core._em._negligible``). These tests check, against the textbook's plain
formulas (which never skip), that the log-likelihoods and parameters agree to
rounding where skipping happens (asserted through ``_em._SKIP_COUNTS``), on
overlapping data, with a nearly empty component, for all four covariance types and
in one dimension; that the bound behind the skipping is sound (hypothesis); and that
public functions still answer in the caller's order of points.

Most tests lower the size from which skipping starts, so that it runs on data small
enough for float64 exponentials (agreement to ~1e-12); one runs at the real size.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gmm_core
from gmm_core import GMMParams, _em, textbook

TYPES = ["full", "tied", "diag", "spherical"]


@pytest.fixture
def skip_small(monkeypatch):
    """Skip components from any size on (the default starts at N * K = 2^18)."""
    monkeypatch.setattr(_em, "_SKIP_MIN_ELEMENTS", 0)
    _em._SKIP_COUNTS.update(pairs=0, skipped=0, redone=0)
    return _em._SKIP_COUNTS


def separated(n: int, k: int, seed: int, d: int = 2) -> tuple[np.ndarray, GMMParams]:
    """K tilted clusters far apart (centres on a grid 25 apart), and a start near them."""
    rng = np.random.default_rng(seed)
    centres = 25.0 * np.array(
        [[(i // 3 ** j) % 3 for j in range(d)] for i in range(k)], dtype=float
    )
    labels = rng.integers(k, size=n)
    a = rng.normal(size=(k, d, d)) * 0.6 + np.eye(d) * 0.4
    x = centres[labels] + np.einsum("nij,nj->ni", a[labels], rng.normal(size=(n, d)))
    start = GMMParams(
        np.full(k, 1.0 / k),
        centres + rng.normal(scale=0.5, size=(k, d)),
        np.broadcast_to(np.eye(d) * 2.0, (k, d, d)),
    )
    return x, start


def m_lls(hist: gmm_core.EMHistory) -> list[float]:
    return [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]


def assert_params_close(params: GMMParams, ref: GMMParams, rtol: float) -> None:
    np.testing.assert_allclose(params.weights, ref.weights, rtol=rtol)
    np.testing.assert_allclose(params.means, ref.means, rtol=rtol, atol=rtol)
    # covariances relative to their own size
    scale = np.linalg.norm(ref.covariances, axis=(1, 2))[:, None, None]
    np.testing.assert_array_less(np.abs(params.covariances - ref.covariances) / scale, rtol)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_skipping_run_follows_the_textbook_for_every_type(skip_small, covariance_type):
    x, start = separated(20_000, 6, seed=1)

    hist = gmm_core.run_em(x, start, covariance_type=covariance_type, tol=0.0, max_iter=6)
    ref, lls_ref = textbook.em(x, start, covariance_type, reg_covar=1e-6, n_iter=6)

    assert skip_small["skipped"] > skip_small["pairs"] // 2  # most pairs were skipped
    np.testing.assert_allclose(m_lls(hist), lls_ref, rtol=1e-12)
    assert_params_close(hist.final.params, ref, 1e-10)


def test_skipping_run_in_one_dimension_follows_the_textbook(skip_small):
    x, start = separated(20_000, 3, seed=2, d=1)

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=6)
    ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=6)

    assert skip_small["skipped"] > 0
    # (gmm_core without skipping differs from the textbook by the same 1.7e-12 here)
    np.testing.assert_allclose(m_lls(hist), lls_ref, rtol=1e-11)
    assert_params_close(hist.final.params, ref, 1e-10)


def test_overlapping_data_follows_the_textbook(skip_small):
    # Three overlapping blobs: few components are negligible anywhere.
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [rng.normal(size=(6_000, 2)) * s + m for s, m in [(1.0, 0.0), (2.0, 2.0), (0.5, -1.0)]]
    )
    covariances = [np.eye(2) * v for v in (1.0, 2.0, 3.0)]
    start = GMMParams(np.full(3, 1 / 3), [[0.5, 0.0], [2.0, 1.0], [-1.0, -1.0]], covariances)

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=8)
    ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=8)

    np.testing.assert_allclose(m_lls(hist), lls_ref, rtol=1e-12)
    assert_params_close(hist.final.params, ref, 1e-10)


def four_clusters(far: float) -> tuple[np.ndarray, GMMParams]:
    """Four unit clusters at (+-15, +-15) and a fifth component centred at (far, 15)."""
    rng = np.random.default_rng(3)
    centres = np.array([[15, 15], [15, -15], [-15, 15], [-15, -15.0]])
    x = np.concatenate([c + rng.normal(size=(5_000, 2)) for c in centres])
    params = GMMParams(
        np.full(5, 0.2), np.vstack([centres, [[far, 15.0]]]), np.broadcast_to(np.eye(2), (5, 2, 2))
    )
    return x, params


def one_pass(x: np.ndarray, params: GMMParams, check_collapse: bool = True):
    centre, extent = _em._centre_and_extent(x)
    blocks = _em._blocks(x, centre, params.n_components)
    return _em._em_pass(
        x, params, centre, extent, "full", 1e-6, check_collapse=check_collapse, blocks=blocks
    )


def test_a_tiny_component_keeps_its_own_moments(skip_small):
    # The fifth component owns ~1e-7 of a point, from the edges of two clusters; where
    # it is skipped, its responsibilities are below e^-60, and its mean and covariance
    # follow the textbook.
    x, params = four_clusters(far=26.0)
    gamma, ll_ref = textbook.e_step(x, params)
    assert 1e-9 < gamma[:, 4].sum() < 1e-3  # the case is what it claims to be
    ref = textbook.m_step(x, gamma, "full", reg_covar=1e-6)

    ll, new, collapse = one_pass(x, params)

    assert collapse is None
    assert skip_small["skipped"] > 0
    assert ll == pytest.approx(ll_ref, rel=1e-13)
    np.testing.assert_allclose(new.weights[:4], ref.weights[:4], rtol=1e-12)
    np.testing.assert_allclose(new.means[:4], ref.means[:4], rtol=1e-12)
    np.testing.assert_allclose(new.covariances[:4], ref.covariances[:4], rtol=1e-10)
    # The tiny one by the textbook's formulas with N_k + 10 eps, as gmm_core (and
    # scikit-learn) divide by (a relative 2e-8 here).
    g = gamma[:, 4]
    nk = g.sum() + 10 * _em._EPS
    mean = g @ x / nk
    cov = (g[:, None] * (x - mean)).T @ (x - mean) / nk + 1e-6 * np.eye(2)
    assert new.weights[4] * len(x) == pytest.approx(nk, rel=1e-9)
    np.testing.assert_allclose(new.means[4], mean, rtol=1e-9)
    np.testing.assert_allclose(new.covariances[4], cov, rtol=1e-8, atol=1e-12)


def test_the_mass_test_keeps_a_cell_that_matters_to_a_small_component():
    # One cell: a single point at 0, where component 0 (at 0) dominates and component 1
    # (at 12, both of unit variance) lies 72 nats below. Skipped while its N_k is large;
    # kept when e^-72 times what the point could add is not negligible beside its N_k.
    params = GMMParams([0.5, 0.5], [[0.0], [12.0]], [[[1.0]], [[1.0]]])
    cells = _em._ChunkGeometry(
        np.zeros((1, 1)), np.full((1, 1), 1e-300), np.zeros(1), np.ones(1), np.ones(1)
    )
    dens = _em._LogDensity.build(params, np.zeros(1), 12.0)
    row = int(np.flatnonzero(dens.order == 1)[0])

    skip, mass = _em._negligible(dens, cells, np.array([1e3, 1e3]))
    assert skip[0, row]
    assert not skip[0, 1 - row]
    # the bound: e^-72 for the point, times 1 + its squared distance 144
    assert mass[row] == pytest.approx(np.exp(-72) * 145, rel=1e-9)

    skip, mass = _em._negligible(dens, cells, np.array([1e3, 1e-15]))
    assert not skip.any()
    assert mass[row] == 0.0


@pytest.mark.parametrize("far", [28.0, 33.0])
def test_a_component_that_empties_redoes_the_pass_in_full(skip_small, far):
    # A component the weights say owns a fifth of the data sits beyond every cluster:
    # the cells near it were skipped against the N_k its weight predicted, but its N_k
    # comes out ~1e-14 (far = 28) or ~1e-39: the pass is redone without skipping.
    x, params = four_clusters(far)
    gamma, ll_ref = textbook.e_step(x, params)
    assert gamma[:, 4].sum() < 1e-13
    ref = textbook.m_step(x, gamma, "full", reg_covar=1e-6)

    ll, new, _ = one_pass(x, params, check_collapse=False)

    assert skip_small["redone"] == 1
    assert ll == pytest.approx(ll_ref, rel=1e-13)
    assert_params_close(
        GMMParams._trusted(new.weights[:4], new.means[:4], new.covariances[:4]),
        GMMParams._trusted(ref.weights[:4], ref.means[:4], ref.covariances[:4]),
        1e-11,
    )
    # its own N_k: the textbook's, plus the 10 eps both gmm_core and scikit-learn add
    assert new.weights[4] * len(x) == pytest.approx(gamma[:, 4].sum() + 10 * _em._EPS, rel=1e-6)


def test_collapse_is_reported_as_without_skipping(skip_small):
    # The emptied component above, through run_em: an empty-component collapse.
    x, params = four_clusters(33.0)
    hist = gmm_core.run_em(x, params, tol=0.0, max_iter=5)
    assert hist.stop_reason == "collapse"
    assert hist.collapse.component == 4
    assert hist.collapse.reason == "empty_component"


@pytest.mark.parametrize("seed", range(4))
def test_cell_radius_bounds_every_point_of_a_cell_of_duplicates(seed):
    # Cells of one repeated point and a few others, far from the centre: the cell's
    # covariance is nearly singular, np.linalg.inv returns an inverse asymmetric by ~1e-8
    # of its size, and the expanded quadratic form (which assumed B = B^T) came out several
    # units too small, so the radius missed points and a component was wrongly skipped.
    rng = np.random.default_rng(seed)
    cells = []
    for _ in range(100):
        d = int(rng.integers(2, 4))
        p = rng.normal(size=d) * 20
        xc = np.repeat(p[None], 512, axis=0)
        few = int(rng.integers(1, 4))
        xc[:few] = p + rng.normal(size=(few, d)) * rng.uniform(0.1, 30)
        cells.append(xc.round(1))
    for xc in cells:
        d = xc.shape[1]
        geo = _em._cell_geometry((_em._features(np.ascontiguousarray(xc.T)),), 512, d)
        diff = xc - geo.mid[0]
        # the oracle: the squared distances in the cell's own metric, by a direct solve
        q = np.einsum("ni,ni->n", diff, np.linalg.solve(geo.spread[0].reshape(d, d), diff.T).T)
        assert np.sqrt(q.max()) <= geo.radius[0]


def test_duplicated_offset_data_follows_the_textbook(skip_small):
    # Found by fuzzing skipping against no skipping: a third of the points on one point,
    # rounded, offset by 1e6, tied covariances, a nearly empty component. The first M-step's
    # log-likelihood came out -7.6e7 instead of -5.0e4 (a cell's radius was too small).
    rng = np.random.default_rng(902302159)
    d, k, n = int(rng.integers(1, 4)), int(rng.integers(2, 9)), int(rng.integers(600, 9000))
    scale, off = 10 ** rng.uniform(-4, 4), rng.choice([0, 1e3, 1e6])
    means = rng.uniform(-50, 50, size=(k, d))
    sds = 10 ** rng.uniform(-3, 1, size=k)
    labels = rng.integers(k, size=n)
    rng.random(n)
    a = rng.normal(size=(k, d, d)) * rng.uniform(1e-3, 1, size=(k, 1, d))
    noise = np.einsum("nij,nj->ni", a[labels], rng.normal(size=(n, d)))
    x = means[labels] + noise * sds[labels, None]
    rng.random()
    x[: n // 3] = x[0]
    rng.random()
    x = np.round(x, 1) * scale + off
    w = rng.dirichlet(np.ones(k))
    w[0] *= rng.choice([1, 1e-3, 1e-8])
    w /= w.sum()
    picked = x[rng.choice(n, k, replace=False)]
    shift = rng.normal(size=(k, d)) * scale * rng.choice([0.01, 1, 100])
    sd = scale * rng.choice([0.1, 1, 10])
    start = GMMParams(w, picked + shift, np.broadcast_to(np.eye(d) * sd**2, (k, d, d)))
    reg = 1e-6 * scale**2

    hist = gmm_core.run_em(x, start, covariance_type="tied", tol=0.0, max_iter=2, reg_covar=reg)
    ref, lls_ref = textbook.em(x, start, "tied", reg_covar=reg, n_iter=2)

    assert skip_small["skipped"] > 0
    np.testing.assert_allclose(m_lls(hist), lls_ref, rtol=1e-9)


def test_one_dimensional_points_are_ordered_along_the_line():
    # One dimension: 16-bit grid coordinates, and the largest point sits on the grid's edge
    # (2^16 before clipping; the cast had wrapped it to key 0, the first cell's start).
    x = np.random.default_rng(12).normal(size=(70_000, 1))

    order = _em._spatial_order(x)

    # sorted up to the grid's resolution (points in one grid cell keep their own order)
    step = np.ptp(x) / 2**16
    np.testing.assert_array_less(-np.diff(x[order, 0]), step)
    np.testing.assert_array_equal(np.sort(order), np.arange(x.shape[0]))


def test_the_order_of_the_points_changes_only_rounding(skip_small):
    x, start = separated(20_000, 6, seed=4)
    perm = np.random.default_rng(0).permutation(len(x))

    a = gmm_core.run_em(x, start, tol=0.0, max_iter=5)
    b = gmm_core.run_em(x[perm], start, tol=0.0, max_iter=5)

    np.testing.assert_allclose(m_lls(a), m_lls(b), rtol=1e-13)
    assert_params_close(a.final.params, b.final.params, 1e-11)


def test_estimator_answers_in_the_callers_order(skip_small):
    # float32 in, skipping inside the fit; labels and responsibilities per point in
    # the caller's order (the textbook's responsibilities at the fitted parameters).
    x, start = separated(20_000, 4, seed=5)
    x32 = x.astype(np.float32)
    gm = gmm_core.GaussianMixture(
        4, means_init=start.means, tol=0.0, max_iter=5, random_state=0
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: tol = 0
        labels = gm.fit_predict(x32)
    assert skip_small["skipped"] > 0
    assert gm.means_.dtype == np.float32
    fitted = GMMParams(gm.weights_, gm.means_, gm.covariances_)
    gamma_ref, _ = textbook.e_step(x32.astype(np.float64), fitted)
    np.testing.assert_array_equal(labels, gamma_ref.argmax(axis=1))
    np.testing.assert_allclose(gm.predict_proba(x32), gamma_ref, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_large_run_skips_and_follows_the_textbook(threads, monkeypatch):
    # The real size: float32 exponentials, the default thresholds; chunks split across
    # two threads (forced at this size) or not.
    monkeypatch.setattr(_em, "_THREADS", threads)
    monkeypatch.setattr(_em, "_THREAD_MIN_ELEMENTS", 0)
    x, start = separated(100_000, 6, seed=6)
    _em._SKIP_COUNTS.update(pairs=0, skipped=0, redone=0)

    hist = gmm_core.run_em(x, start, tol=0.0, max_iter=5)
    ref, lls_ref = textbook.em(x, start, "full", reg_covar=1e-6, n_iter=5)

    assert _em._SKIP_COUNTS["skipped"] > _em._SKIP_COUNTS["pairs"] // 2
    # float32 exponentials: ~1e-9 of the log-likelihood (see _em._normalise)
    np.testing.assert_allclose(m_lls(hist), lls_ref, rtol=1e-8)
    assert_params_close(hist.final.params, ref, 1e-6)


@st.composite
def mixtures(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    d = draw(st.integers(1, 3))
    k = draw(st.integers(2, 5))
    spread = draw(st.floats(1.0, 60.0))
    thin = draw(st.floats(1e-3, 1.0))
    rng = np.random.default_rng(seed)
    means = rng.uniform(-spread, spread, size=(k, d))
    a = rng.normal(size=(k, d, d)) * rng.uniform(thin, 1.0, size=(k, 1, d))
    cov = a @ np.swapaxes(a, 1, 2) + 1e-6 * np.eye(d)
    weights = rng.dirichlet(np.ones(k))
    labels = rng.integers(k, size=2_000)
    x = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(cov)[labels],
                                  rng.normal(size=(2_000, d)))
    return x, GMMParams(weights, means + rng.normal(size=(k, d)), cov)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixtures())
def test_every_skipped_component_is_negligible_at_every_point_of_its_cell(case):
    # The bound itself: wherever a component is skipped, its log density is more than
    # _SKIP_MARGIN below the largest one at every point of the cell (textbook densities).
    x, params = case
    centre, extent = _em._centre_and_extent(x)
    order = _em._spatial_order(x)
    xs = x[order]
    cell = 64
    features = _em._features(np.ascontiguousarray((xs - centre).T))
    cells = _em._cell_geometry((features[:, :1024], features[:, 1024:]), cell, x.shape[1])
    dens = _em._LogDensity.build(params, centre, extent)
    skip, _ = _em._negligible(dens, cells, np.full(params.n_components, 1e6))
    with np.errstate(divide="ignore"):
        log_num = np.stack(
            [np.log(params.weights[k]) + textbook.log_gaussian(xs, params.means[k],
                                                               params.covariances[k])
             for k in dens.order], axis=1,
        )
    gap = log_num - log_num.max(axis=1, keepdims=True)  # (N, K), rows in dens.order
    for i in range(skip.shape[0]):
        rows = np.flatnonzero(skip[i])
        assert not skip[i].all()
        if rows.size:
            assert gap[i * cell : (i + 1) * cell, rows].max() < -_em._SKIP_MARGIN
