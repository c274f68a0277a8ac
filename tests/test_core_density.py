"""Log densities, responsibilities and log-likelihoods against scipy.

The reference is ``scipy.stats.multivariate_normal.logpdf`` (and ``norm.logpdf`` in
1-D) combined with ``scipy.special.logsumexp``; nothing is computed with gmm_core.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

import gmm_core
from gmm_core import e_step, log_likelihood, predict, predict_proba, score_samples

TYPES = ("full", "tied", "diag", "spherical")


@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("n_components", [1, 2, 4])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_score_samples_equals_scipy_mixture(
    rng, make_params, ref, n_features, n_components, covariance_type
):
    params = make_params(rng, n_components, n_features, covariance_type)
    x = 4.0 * rng.normal(size=(150, n_features))
    expected = logsumexp(ref.log_joint(x, params), axis=1)

    got = score_samples(x, params)

    assert got.shape == (150,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_single_component_is_multivariate_normal_logpdf(rng, ref):
    cov = ref.spd(rng, 3)
    mean = rng.normal(size=3)
    params = gmm_core.GMMParams(np.ones(1), mean[None, :], cov[None])
    x = rng.normal(size=(40, 3))

    np.testing.assert_allclose(
        score_samples(x, params), multivariate_normal(mean, cov).logpdf(x), rtol=1e-11
    )


def test_one_dimensional_equals_norm_logpdf(rng):
    weights = np.array([0.2, 0.5, 0.3])
    means = np.array([-3.0, 0.5, 4.0])
    sds = np.array([0.7, 1.3, 2.1])
    params = gmm_core.GMMParams(weights, means[:, None], (sds**2)[:, None, None])
    x = rng.uniform(-10, 10, size=(300, 1))
    log_joint = np.log(weights) + norm.logpdf(x, loc=means, scale=sds)  # (300, 3)

    np.testing.assert_allclose(
        score_samples(x, params), logsumexp(log_joint, axis=1), rtol=1e-11, atol=1e-12
    )
    resp, total = e_step(x, params)
    np.testing.assert_allclose(
        resp, np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True)), atol=1e-12
    )
    assert total == pytest.approx(logsumexp(log_joint, axis=1).sum(), rel=1e-12)


@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_e_step_equals_scipy(rng, make_params, ref, n_features, covariance_type):
    params = make_params(rng, 3, n_features, covariance_type)
    x = 3.0 * rng.normal(size=(200, n_features))

    resp, total = e_step(x, params)

    assert resp.shape == (200, 3)
    np.testing.assert_allclose(resp, ref.resp(x, params), rtol=1e-9, atol=1e-12)
    assert total == pytest.approx(ref.score_samples(x, params).sum(), rel=1e-11)
    assert isinstance(total, float)


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_log_likelihood_is_sum_of_score_samples(rng, make_params, ref, n_features):
    params = make_params(rng, 4, n_features)
    x = 2.0 * rng.normal(size=(120, n_features))
    expected = ref.score_samples(x, params).sum()

    assert log_likelihood(x, params) == pytest.approx(expected, rel=1e-11)
    assert log_likelihood(x, params) == pytest.approx(score_samples(x, params).sum(), rel=1e-12)


def test_predict_proba_and_predict_match_scipy(rng, make_params, ref):
    params = make_params(rng, 3, 2)
    x = 3.0 * rng.normal(size=(250, 2))
    expected = ref.resp(x, params)

    np.testing.assert_allclose(predict_proba(x, params), expected, rtol=1e-9, atol=1e-12)
    labels = predict(x, params)
    assert labels.shape == (250,)
    assert np.issubdtype(labels.dtype, np.integer)
    # ties are measure-zero for continuous data; compare only clear decisions
    top2 = np.sort(expected, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-6
    np.testing.assert_array_equal(labels[clear], expected.argmax(axis=1)[clear])


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_data_far_from_origin_matches_scipy(rng, make_params, ref, n_features):
    """Offset 1e8 with unit scale: a density that expands (x - mu)' P (x - mu) loses it."""
    params = make_params(rng, 3, n_features, offset=1e8)
    x = params.means[rng.integers(0, 3, size=200)] + rng.normal(size=(200, n_features))
    expected = ref.score_samples(x, params)

    np.testing.assert_allclose(score_samples(x, params), expected, rtol=1e-8, atol=1e-8)
    resp, total = e_step(x, params)
    np.testing.assert_allclose(resp, ref.resp(x, params), atol=1e-7)
    assert total == pytest.approx(expected.sum(), rel=1e-8)


@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_tiny_and_huge_scales_match_scipy(rng, make_params, ref, scale, n_features):
    params = make_params(rng, 3, n_features, scale=scale)
    x = scale * 3.0 * rng.normal(size=(200, n_features))
    expected = ref.score_samples(x, params)

    np.testing.assert_allclose(score_samples(x, params), expected, rtol=1e-9, atol=1e-9)
    resp, total = e_step(x, params)
    np.testing.assert_allclose(resp, ref.resp(x, params), rtol=1e-8, atol=1e-10)
    assert total == pytest.approx(expected.sum(), rel=1e-9)


def test_points_where_every_density_underflows(rng, make_params, ref):
    """exp(log density) is 0 for all components; log space must still be exact."""
    params = make_params(rng, 3, 2)
    x = np.array([[1e4, -2e4], [-5e3, 7e3], [3e4, 3e4], [0.0, 1e5]])
    assert np.all(np.exp(ref.log_joint(x, params)) == 0.0)  # the premise of this test

    got = score_samples(x, params)
    np.testing.assert_allclose(got, ref.score_samples(x, params), rtol=1e-10)
    resp, total = e_step(x, params)
    assert np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(resp, ref.resp(x, params), atol=1e-6)
    assert np.isfinite(total)


def test_x_with_wrong_number_of_features_is_rejected(rng, make_params):
    params = make_params(rng, 2, 2)
    with pytest.raises(ValueError, match=r"(?i)feature|dimension|column|shape"):
        score_samples(rng.normal(size=(10, 3)), params)
    with pytest.raises(ValueError, match=r"(?i)feature|dimension|column|shape"):
        e_step(rng.normal(size=(10, 3)), params)


def test_many_points_spanning_several_chunks_match_scipy(rng, make_params, ref):
    params = make_params(rng, 5, 2)
    x = 4.0 * rng.normal(size=(70_000, 2))

    np.testing.assert_allclose(
        score_samples(x, params), ref.score_samples(x, params), rtol=1e-10, atol=1e-10
    )
    resp, total = e_step(x, params)
    np.testing.assert_allclose(resp, ref.resp(x, params), rtol=1e-9, atol=1e-12)
    assert total == pytest.approx(ref.score_samples(x, params).sum(), rel=1e-11)


def test_components_far_apart_and_of_very_different_widths_match_scipy(rng, ref):
    """A wide, a narrow and a unit component far from each other and from the origin.

    The narrow one is 1e-10 as wide (in variance) as the data: narrow, but not collapsed.
    """
    means = np.array([[0.0, 0.0], [500.0, 500.0], [-3e4, 2e4]])
    covs = np.stack([1e4 * np.eye(2), 1e-2 * np.eye(2), np.eye(2)])
    params = gmm_core.GMMParams([0.4, 0.3, 0.3], means, covs)
    labels = rng.integers(0, 3, size=600)
    x = means[labels] + rng.normal(size=(600, 2)) * np.sqrt(covs[labels, 0, 0])[:, None]

    np.testing.assert_allclose(
        score_samples(x, params), ref.score_samples(x, params), rtol=1e-10, atol=1e-9
    )
    np.testing.assert_allclose(e_step(x, params)[0], ref.resp(x, params), atol=1e-9)


def test_weighted_log_prob_matches_scipy_per_component(rng: np.random.Generator) -> None:
    from gmm_core import GMMParams, weighted_log_prob

    X = rng.normal(size=(50, 2)) * 3
    params = GMMParams(
        [0.2, 0.8], [[0.0, 1.0], [2.0, -1.0]], [[[1.0, 0.3], [0.3, 2.0]], [[0.5, 0.0], [0.0, 0.7]]]
    )
    expected = np.column_stack(
        [
            np.log(w) + multivariate_normal(m, c).logpdf(X)
            for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
        ]
    )
    np.testing.assert_allclose(weighted_log_prob(X, params), expected, rtol=1e-12)
