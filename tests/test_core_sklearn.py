"""gmm_core against scikit-learn's GaussianMixture (a test-only oracle).

From identical starting parameters (``weights_init``, ``means_init``,
``precisions_init``) both libraries must follow the same EM path: the same total
log-likelihood at every iteration to 1e-8 relative and the same parameters, for
all four covariance types in 1-D and 2-D.

scikit-learn's ``lower_bound_`` after ``fit(max_iter=i)`` is the mean
log-likelihood of the parameters *before* the i-th M-step, and its fitted
parameters are those *after* it; ``score`` gives the mean log-likelihood of the
fitted parameters. With ``tol=0`` it never stops early and warns
``ConvergenceWarning``, which the tests expect.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

from gmm_core import GaussianMixture, GMMParams, aic, bic, n_parameters, run_em

TYPES = ("full", "tied", "diag", "spherical")
N_ITER = 8


def per_type_covariances(params: GMMParams, covariance_type: str) -> np.ndarray:
    """scikit-learn's covariance layout: (K, D, D), (D, D), (K, D) or (K,)."""
    covs = np.array(params.covariances)
    if covariance_type == "full":
        return covs
    if covariance_type == "tied":
        return covs[0]
    if covariance_type == "diag":
        return np.diagonal(covs, axis1=1, axis2=2).copy()
    return covs[:, 0, 0].copy()


def per_type_precisions(params: GMMParams, covariance_type: str) -> np.ndarray:
    """``precisions_init`` for scikit-learn: inverse covariances in its layout."""
    cov = per_type_covariances(params, covariance_type)
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(cov)
    return 1.0 / cov


def start_params(rng, x, k, covariance_type, make_params) -> GMMParams:
    """Random in-family starting parameters whose means are k distinct data points."""
    shaped = make_params(rng, k, x.shape[1], covariance_type)
    means = x[rng.choice(len(x), size=k, replace=False)]
    return GMMParams(shaped.weights, means, shaped.covariances)


def sk_fit(x, params0, covariance_type, *, max_iter, tol=0.0, reg_covar=1e-6):
    """Fit scikit-learn from ``params0``; with tol=0 it must warn ConvergenceWarning."""
    gm = SkGaussianMixture(
        n_components=params0.n_components,
        covariance_type=covariance_type,
        tol=tol,
        reg_covar=reg_covar,
        max_iter=max_iter,
        n_init=1,
        init_params="random",
        weights_init=np.array(params0.weights),
        means_init=np.array(params0.means),
        precisions_init=per_type_precisions(params0, covariance_type),
        random_state=0,
    )
    if tol == 0:
        with pytest.warns(SkConvergenceWarning):
            gm.fit(x)
    else:
        gm.fit(x)
    return gm


def sk_model_with(params: GMMParams, covariance_type: str) -> SkGaussianMixture:
    """A scikit-learn model whose fitted attributes are set to ``params``."""
    gm = SkGaussianMixture(n_components=params.n_components, covariance_type=covariance_type)
    gm.weights_ = np.array(params.weights)
    gm.means_ = np.array(params.means)
    gm.covariances_ = per_type_covariances(params, covariance_type)
    gm.precisions_cholesky_ = _compute_precision_cholesky(gm.covariances_, covariance_type)
    gm.n_features_in_ = params.n_features
    return gm


def fitted_params(gm, covariance_type: str, ref) -> GMMParams:
    """GMMParams from gmm_core's fitted estimator (covariances_ in either layout)."""
    k, d = gm.means_.shape
    cov = np.asarray(gm.covariances_)
    full = cov if cov.shape == (k, d, d) else ref.full_cov(cov, covariance_type, k, d)
    return GMMParams(gm.weights_, gm.means_, full)


@pytest.fixture
def data(rng, make_params, make_data):
    def _data(n_features: int, n: int = 300) -> np.ndarray:
        truth = make_params(rng, 3, n_features, spread=1.5)
        return make_data(rng, truth, n)[0]

    return _data


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_path_as_sklearn_at_every_iteration(
    rng, make_params, ref, data, n_features, covariance_type
):
    x = data(n_features)
    n = len(x)
    params0 = start_params(rng, x, 3, covariance_type, make_params)

    hist = run_em(
        x, params0, covariance_type=covariance_type, reg_covar=1e-6, tol=0.0, max_iter=N_ITER
    )

    assert hist.stop_reason == "max_iter"
    assert hist.n_iter == N_ITER
    m_steps = [s for s in hist.steps if s.phase == "M"]
    assert len(m_steps) == N_ITER
    ours = [hist.steps[0].log_likelihood] + [s.log_likelihood for s in m_steps]

    theirs = []
    for i in range(1, N_ITER + 1):
        gm = sk_fit(x, params0, covariance_type, max_iter=i)
        theirs.append(gm.lower_bound_ * n)  # LL of the parameters after i - 1 M-steps
        got = m_steps[i - 1].params  # parameters after i M-steps
        np.testing.assert_allclose(got.weights, gm.weights_, rtol=1e-8)
        np.testing.assert_allclose(got.means, gm.means_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(
            got.covariances,
            ref.full_cov(gm.covariances_, covariance_type, 3, n_features),
            rtol=1e-8,
            atol=1e-12,
        )
    theirs.append(gm.score(x) * n)  # LL of the parameters after N_ITER M-steps

    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_path_as_sklearn_without_regularisation(rng, make_params, ref, data, covariance_type):
    x = data(2)
    params0 = start_params(rng, x, 2, covariance_type, make_params)

    hist = run_em(x, params0, covariance_type=covariance_type, reg_covar=0.0, tol=0.0, max_iter=5)
    gm = sk_fit(x, params0, covariance_type, max_iter=5, reg_covar=0.0)

    assert hist.final.log_likelihood == pytest.approx(gm.score(x) * len(x), rel=1e-8)
    np.testing.assert_allclose(
        hist.final.params.covariances,
        ref.full_cov(gm.covariances_, covariance_type, 2, 2),
        rtol=1e-8,
    )


@pytest.mark.parametrize("covariance_type", TYPES)
def test_convergence_rule_is_sklearns(rng, make_params, data, covariance_type):
    """Stop at the first change of the mean log-likelihood below tol, as scikit-learn.

    scikit-learn tests the change of the log-likelihood of the parameters before each
    M-step, so it may run one M-step more than a run that tests after the M-step.
    """
    x = data(2)
    n = len(x)
    params0 = start_params(rng, x, 3, covariance_type, make_params)
    tol = 1e-3

    hist = run_em(
        x, params0, covariance_type=covariance_type, reg_covar=1e-6, tol=tol, max_iter=500,
        rule="loglik_change",
    )
    gm = sk_fit(x, params0, covariance_type, max_iter=500, tol=tol)

    assert gm.converged_
    assert hist.converged
    assert hist.stop_reason == "converged"
    assert hist.n_iter in (gm.n_iter_ - 1, gm.n_iter_)
    m_lls = [s.log_likelihood for s in hist.steps if s.phase == "M"]
    lls = np.array([hist.steps[0].log_likelihood, *m_lls])
    changes = np.diff(lls) / n
    assert len(changes) == hist.n_iter
    assert np.all(np.abs(changes[:-2]) >= tol)
    assert min(abs(changes[-1]), abs(changes[-2]) if len(changes) > 1 else np.inf) < tol


@pytest.mark.parametrize("covariance_type", TYPES)
def test_estimator_reaches_sklearns_optimum_on_separated_blobs(rng, covariance_type):
    centres = np.array([[0.0, 0.0], [8.0, 1.0], [2.0, 9.0]])
    x = np.concatenate([c + rng.normal(size=(200, 2)) * [1.0, 0.6] for c in centres])

    ours = GaussianMixture(
        3, covariance_type=covariance_type, tol=1e-8, max_iter=500, n_init=3, random_state=0
    ).fit(x)
    theirs = SkGaussianMixture(
        3, covariance_type=covariance_type, tol=1e-8, max_iter=500, n_init=3, random_state=0
    ).fit(x)

    assert ours.score(x) == pytest.approx(theirs.score(x), rel=1e-6)
    order_ours = np.argsort(ours.means_[:, 0])
    order_theirs = np.argsort(theirs.means_[:, 0])
    np.testing.assert_allclose(ours.means_[order_ours], theirs.means_[order_theirs], atol=1e-4)
    np.testing.assert_allclose(ours.weights_[order_ours], theirs.weights_[order_theirs], atol=1e-5)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("n_components", [1, 2, 4])
def test_n_parameters_equals_sklearn(n_components, n_features, covariance_type):
    gm = SkGaussianMixture(n_components, covariance_type=covariance_type)
    gm.means_ = np.zeros((n_components, n_features))

    got = n_parameters(n_components, n_features, covariance_type)

    assert got == gm._n_parameters()
    assert isinstance(got, int)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_bic_and_aic_equal_sklearns_for_the_same_parameters(
    rng, ref, data, n_features, covariance_type
):
    x = data(n_features)
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=1).fit(x)
    params = fitted_params(ours, covariance_type, ref)
    theirs = sk_model_with(params, covariance_type)

    assert theirs.score(x) == pytest.approx(ours.score(x), rel=1e-10)
    assert ours.bic(x) == pytest.approx(theirs.bic(x), rel=1e-10)
    assert ours.aic(x) == pytest.approx(theirs.aic(x), rel=1e-10)
    assert bic(x, params, covariance_type) == pytest.approx(theirs.bic(x), rel=1e-10)
    assert aic(x, params, covariance_type) == pytest.approx(theirs.aic(x), rel=1e-10)


def test_bic_hand_computed(rng, make_params, ref):
    params = make_params(rng, 2, 2, "diag")
    x = rng.normal(size=(50, 2))
    ll = ref.score_samples(x, params).sum()
    p = 2 * 2 + 2 * 2 + 1  # diag variances + means + free weights

    assert bic(x, params, "diag") == pytest.approx(-2 * ll + p * np.log(50), rel=1e-11)
    assert aic(x, params, "diag") == pytest.approx(-2 * ll + 2 * p, rel=1e-11)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_same_path_as_sklearn_on_data_spanning_several_chunks(
    rng, make_params, make_data, covariance_type
):
    """40,000 points: any chunked evaluation must add up exactly like one pass."""
    truth = make_params(rng, 4, 2, spread=1.5)
    x, _ = make_data(rng, truth, 40_000)
    params0 = start_params(rng, x, 4, covariance_type, make_params)
    n_iter = 3

    hist = run_em(
        x, params0, covariance_type=covariance_type, reg_covar=1e-6, tol=0.0, max_iter=n_iter
    )

    ours = [s.log_likelihood for s in hist.steps if s.phase in ("init", "M")]
    theirs = [
        sk_fit(x, params0, covariance_type, max_iter=i).lower_bound_ * len(x) for i in (1, 2, 3)
    ]
    gm = sk_fit(x, params0, covariance_type, max_iter=n_iter)
    theirs.append(gm.score(x) * len(x))
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    np.testing.assert_allclose(hist.final.params.means, gm.means_, rtol=1e-8, atol=1e-10)
