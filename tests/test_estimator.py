"""gmm_core.GaussianMixture as a drop-in for sklearn.mixture.GaussianMixture.

scikit-learn is the oracle (test-only): from the same start (``weights_init``,
``means_init``, ``precisions_init``) both estimators must give the same fitted
attributes at every iteration, the same lower bounds, the same stopping; the same
parameter names and defaults; the same kinds of errors and warnings; and
scikit-learn's meta-estimators (clone, Pipeline, GridSearchCV) must accept ours.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.exceptions import NotFittedError as SkNotFittedError
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

import gmm_core
from gmm_core import (
    ConvergenceWarning,
    DegenerateFitWarning,
    GaussianMixture,
    GMMParams,
    NotFittedError,
    _estimator,
)

TYPES = ("full", "tied", "diag", "spherical")
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
SHAPES = {
    "full": lambda k, d: (k, d, d),
    "tied": lambda k, d: (d, d),
    "diag": lambda k, d: (k, d),
    "spherical": lambda k, d: (k,),
}


@pytest.fixture
def data(rng, make_params, make_data):
    def _data(n_features: int, n: int = 300, k: int = 3) -> np.ndarray:
        truth = make_params(rng, k, n_features, spread=1.5)
        return make_data(rng, truth, n)[0]

    return _data


def precisions_for(params: GMMParams, covariance_type: str) -> np.ndarray:
    """``precisions_init`` in scikit-learn's layout, computed with numpy from ``params``."""
    covs = np.array(params.covariances)
    if covariance_type == "full":
        return np.linalg.inv(covs)
    if covariance_type == "tied":
        return np.linalg.inv(covs[0])
    if covariance_type == "diag":
        return 1.0 / np.diagonal(covs, axis1=1, axis2=2)
    return 1.0 / covs[:, 0, 0]


def start_kwargs(rng, x, k, covariance_type, make_params) -> dict:
    """A random in-family start, as the three *_init parameters."""
    shaped = make_params(rng, k, x.shape[1], covariance_type)
    return {
        "n_components": k,
        "covariance_type": covariance_type,
        "weights_init": np.array(shaped.weights),
        "means_init": x[rng.choice(len(x), size=k, replace=False)],
        "precisions_init": precisions_for(shaped, covariance_type),
    }


def fit_both(x, **kwargs):
    """Fit gmm_core's and scikit-learn's estimators with the same settings (warnings kept)."""
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = GaussianMixture(**kwargs).fit(x)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = SkGaussianMixture(**kwargs).fit(x)
    ours_kinds = {w.category for w in ours_w}
    theirs_kinds = {w.category for w in theirs_w}
    assert (ConvergenceWarning in ours_kinds) == (SkConvergenceWarning in theirs_kinds)
    return ours, theirs


def assert_same_fit(ours, theirs, rtol=1e-8):
    for name in ATTRIBUTES:
        got, expected = getattr(ours, name), getattr(theirs, name)
        assert got.shape == expected.shape, name
        assert got.dtype == expected.dtype, name
        scale = np.max(np.abs(expected))
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=name)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=rtol)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=rtol)
    assert ours.n_features_in_ == theirs.n_features_in_


# --------------------------------------------------------------------------- same EM path


@pytest.mark.parametrize("n_features", [1, 2, 3])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_parameters_as_sklearn_at_every_iteration(
    rng, make_params, data, n_features, covariance_type
):
    x = data(n_features)
    start = start_kwargs(rng, x, 3, covariance_type, make_params)
    for max_iter in range(1, 7):
        ours, theirs = fit_both(x, **start, max_iter=max_iter, tol=0.0)
        assert not ours.converged_
        assert_same_fit(ours, theirs)
        # the labels of the final E-step, and the scores of the fitted parameters
        np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))
        np.testing.assert_allclose(ours.score_samples(x), theirs.score_samples(x), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_same_stopping_as_sklearn(rng, make_params, data, covariance_type):
    x = data(2)
    start = start_kwargs(rng, x, 3, covariance_type, make_params)
    for tol in (1e-1, 1e-3, 1e-4):
        ours, theirs = fit_both(x, **start, tol=tol, max_iter=500)
        assert ours.converged_
        assert_same_fit(ours, theirs, rtol=1e-7)


def test_history_records_sklearns_iterations(rng, make_params, data):
    """history_'s M-steps are scikit-learn's parameters after 1, 2, ... M-steps."""
    x = data(2)
    start = start_kwargs(rng, x, 3, "full", make_params)
    ours = GaussianMixture(**start, max_iter=5, tol=0.0)
    with pytest.warns(ConvergenceWarning):
        ours.fit(x)
    m_steps = [s for s in ours.history_.steps if s.phase == "M"]
    assert len(m_steps) == 5
    for i, step in enumerate(m_steps, start=1):
        with pytest.warns(SkConvergenceWarning):
            theirs = SkGaussianMixture(**start, max_iter=i, tol=0.0).fit(x)
        np.testing.assert_allclose(step.params.means, theirs.means_, rtol=1e-8)
        np.testing.assert_allclose(step.params.covariances, theirs.covariances_, rtol=1e-8)
        assert step.log_likelihood == pytest.approx(theirs.score(x) * len(x), rel=1e-9)
    e_lls = [s.log_likelihood / len(x) for s in ours.history_.steps if s.phase == "E"]
    np.testing.assert_allclose(e_lls, ours.lower_bounds_, rtol=1e-12)


def test_same_fit_as_sklearn_without_regularisation(rng, make_params, data):
    x = data(2)
    start = start_kwargs(rng, x, 2, "full", make_params)
    ours, theirs = fit_both(x, **start, reg_covar=0.0, tol=1e-4, max_iter=300)
    assert_same_fit(ours, theirs, rtol=1e-7)


def test_max_iter_zero_returns_the_start_like_sklearn(rng, make_params, data):
    x = data(2)
    start = start_kwargs(rng, x, 3, "diag", make_params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning for max_iter=0
        ours = GaussianMixture(**start, max_iter=0).fit(x)
    theirs = SkGaussianMixture(**{k: v for k, v in start.items() if k != "precisions_init"},
                               max_iter=0).fit(x)
    np.testing.assert_array_equal(ours.means_, start["means_init"])
    np.testing.assert_allclose(ours.precisions_, start["precisions_init"], rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 0
    assert ours.converged_ is theirs.converged_ is False
    assert ours.lower_bound_ == theirs.lower_bound_ == -np.inf
    assert ours.lower_bounds_ == list(theirs.lower_bounds_) == []


@pytest.mark.filterwarnings("ignore::gmm_core.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_continues_like_sklearn(rng, make_params, data):
    x = data(2)
    start = start_kwargs(rng, x, 3, "full", make_params)
    ours = GaussianMixture(**start, max_iter=2, warm_start=True, n_init=5)
    theirs = SkGaussianMixture(**start, max_iter=2, warm_start=True, n_init=5)
    for _ in range(4):
        ours.fit(x)
        theirs.fit(x)
        assert_same_fit(ours, theirs)
    once = GaussianMixture(**start, max_iter=8).fit(x)
    np.testing.assert_allclose(ours.means_, once.means_, rtol=1e-10)


def test_n_init_keeps_the_highest_lower_bound(data):
    x = data(2, k=5)
    runs = [GaussianMixture(5, init_params="random_from_data", random_state=s) for s in range(4)]
    bounds = [g.fit(x).lower_bound_ for g in runs]
    # One Generator serves all starts, so n_init=4 sees four other starts, and keeps
    # the best of its own: check that through the history of each start's bound.
    best = GaussianMixture(5, init_params="random_from_data", n_init=4, random_state=0).fit(x)
    first = GaussianMixture(5, init_params="random_from_data", n_init=1, random_state=0).fit(x)
    assert best.lower_bound_ >= first.lower_bound_
    assert bounds[0] == first.lower_bound_


# --------------------------------------------------------------------------- attributes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_attributes_shapes_and_dtypes_are_sklearns(rng, data, covariance_type, dtype):
    x = data(3).astype(dtype)
    ours = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(x)
    theirs = SkGaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(x)
    assert ours.covariances_.shape == SHAPES[covariance_type](2, 3)
    for name in ATTRIBUTES:
        assert getattr(ours, name).shape == getattr(theirs, name).shape, name
        assert getattr(ours, name).dtype == getattr(theirs, name).dtype == dtype, name
    for method in ("predict_proba", "score_samples"):
        got, expected = getattr(ours, method)(x), getattr(theirs, method)(x)
        assert got.dtype == expected.dtype == dtype
        assert got.shape == expected.shape
    assert ours.predict(x).dtype == theirs.predict(x).dtype
    assert isinstance(ours.score(x), float)
    xs, ys = ours.sample(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on float32 covariances
        assert xs.dtype == theirs.sample(7)[0].dtype == np.float64
    assert ys.shape == (7,)
    assert isinstance(ours.converged_, bool)
    assert isinstance(ours.n_iter_, int)
    assert isinstance(ours.params_, GMMParams)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_precisions_are_inverse_covariances(data, covariance_type):
    """precisions_ from np.linalg.inv; precisions_cholesky_ U upper triangular, U U^T = P."""
    x = data(3)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(x)
    cov, prec, chol = gm.covariances_, gm.precisions_, gm.precisions_cholesky_
    if covariance_type in ("full", "tied"):
        np.testing.assert_allclose(prec, np.linalg.inv(cov), rtol=1e-10)
        np.testing.assert_array_equal(chol, np.triu(chol))
        np.testing.assert_allclose(chol @ np.swapaxes(chol, -1, -2), prec, rtol=1e-10)
    else:
        np.testing.assert_allclose(prec, 1.0 / cov, rtol=1e-12)
        np.testing.assert_allclose(chol**2, prec, rtol=1e-12)


def test_float32_fit_agrees_with_float64(data):
    x = data(2)
    g64 = GaussianMixture(3, random_state=0).fit(x)
    g32 = GaussianMixture(3, random_state=0).fit(x.astype(np.float32))
    assert g32.means_.dtype == np.float32
    np.testing.assert_allclose(g32.means_, g64.means_, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- parameters


def test_parameter_names_and_defaults_are_sklearns():
    assert GaussianMixture().get_params() == SkGaussianMixture().get_params()
    assert repr(GaussianMixture(3, covariance_type="diag")) == repr(
        SkGaussianMixture(3, covariance_type="diag")
    )


def test_set_params_returns_self_and_rejects_unknown_names():
    gm = GaussianMixture()
    assert gm.set_params(n_components=4, tol=1e-5) is gm
    assert (gm.n_components, gm.tol) == (4, 1e-5)
    with pytest.raises(ValueError, match="Invalid parameter 'n_component'"):
        gm.set_params(n_component=3)


@pytest.mark.parametrize(
    "bad",
    [
        {"n_components": 0},
        {"n_components": 1.5},
        {"covariance_type": "round"},
        {"tol": -1.0},
        {"reg_covar": -1e-6},
        {"max_iter": -1},
        {"n_init": 0},
        {"init_params": "random_resp"},
        {"init_params": "kmeans++"},
        {"random_state": "seed"},
        {"random_state": -1},
        {"warm_start": "yes"},
        {"verbose": -1},
        {"verbose_interval": 0},
    ],
)
def test_bad_parameters_fail_like_sklearn(data, bad):
    x = data(2)
    kwargs = {"n_components": 2, **bad}
    with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter") as theirs:
        SkGaussianMixture(**kwargs).fit(x)
    with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter") as ours:
        GaussianMixture(**kwargs).fit(x)
    assert isinstance(ours.value, TypeError) == isinstance(theirs.value, TypeError)


@pytest.mark.parametrize(
    "good",
    [
        {"n_components": np.int64(2)},
        {"max_iter": 0},
        {"tol": 0},
        {"reg_covar": 0.5},
        {"random_state": np.random.RandomState(0)},
        {"random_state": 2**32 - 1},
        {"warm_start": np.bool_(True)},
        {"verbose": True},
        {"init_params": "k-means++"},
    ],
)
def test_parameters_sklearn_accepts_are_accepted(data, good):
    x = data(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        GaussianMixture(**{"n_components": 2, **good}).fit(x)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("predict", "x"),
        ("predict_proba", "x"),
        ("score_samples", "x"),
        ("score", "x"),
        ("bic", "x"),
        ("aic", "x"),
        ("sample", None),
    ],
)
def test_unfitted_model_raises_a_not_fitted_error(data, method, args):
    x = data(2)
    call_args = (x,) if args else ()
    with pytest.raises(SkNotFittedError) as theirs:
        getattr(SkGaussianMixture(2), method)(*call_args)
    with pytest.raises(NotFittedError, match="not fitted yet") as ours:
        getattr(GaussianMixture(2), method)(*call_args)
    assert isinstance(ours.value, ValueError)
    assert isinstance(ours.value, AttributeError)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(SkNotFittedError):
        check_is_fitted(GaussianMixture(2))


def test_convergence_warning_says_what_to_try(data):
    x = data(2)
    with pytest.warns(ConvergenceWarning, match="increase max_iter") as record:
        GaussianMixture(3, max_iter=3, tol=0.0, random_state=0).fit(x)
    assert "max_iter=3" in str(record[0].message)
    assert not issubclass(ConvergenceWarning, SkConvergenceWarning)  # gmm_core's own class


@pytest.mark.parametrize(
    ("x", "k", "match"),
    [
        (np.zeros((1, 2)), 1, "at least 2"),
        (np.arange(6.0).reshape(3, 2), 4, "lower K"),
        (np.arange(5.0), 1, r"reshape\(-1, 1\)"),
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), 1, "NaN"),
    ],
)
def test_bad_data_raises_value_error_like_sklearn(x, k, match):
    with pytest.raises(ValueError, match=r"\w"):
        SkGaussianMixture(k).fit(x)
    with pytest.raises(ValueError, match=match):
        GaussianMixture(k).fit(x)


def test_wrong_number_of_features_at_predict(data):
    gm = GaussianMixture(2, random_state=0).fit(data(2))
    with pytest.raises(ValueError, match="3 features"):
        gm.predict(data(3))


# --------------------------------------------------------------------------- degenerate data


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_more_components_than_distinct_points_fits_like_sklearn(init_params, covariance_type):
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]]), 4, axis=0)
    kwargs = {"n_components": 5, "covariance_type": covariance_type,
              "init_params": init_params, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's KMeans warns about the duplicates
        theirs = SkGaussianMixture(**kwargs).fit(x)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ours = GaussianMixture(**kwargs).fit(x)
    # the only warning is ours about an empty or collapsed component, naming it
    assert {w.category for w in record} <= {DegenerateFitWarning}
    assert all("omponent" in str(w.message) for w in record)
    for name in ATTRIBUTES:
        assert np.all(np.isfinite(getattr(ours, name))), name
        assert getattr(ours, name).shape == getattr(theirs, name).shape
    assert np.all(np.isfinite(ours.predict_proba(x)))
    assert np.isfinite(ours.score(x))
    if init_params == "kmeans":
        # k-means finds the three distinct points (and empty clusters): then EM puts a
        # component with a reg_covar-sized spread on each point, in both libraries.
        assert ours.score(x) == pytest.approx(theirs.score(x), rel=1e-6)


def test_emptied_component_fits_like_sklearn(rng, make_params, data):
    """A component far from every point empties; scikit-learn carries on, and so do we."""
    x = data(2)
    start = start_kwargs(rng, x, 3, "full", make_params)
    start["means_init"] = np.vstack([start["means_init"][:2], [[1e3, 1e3]]])
    with pytest.warns(SkConvergenceWarning):
        theirs = SkGaussianMixture(**start, max_iter=20, tol=0.0).fit(x)
    with pytest.warns(ConvergenceWarning), pytest.warns(
        DegenerateFitWarning, match="Component 3 is empty"
    ):
        ours = GaussianMixture(**start, max_iter=20, tol=0.0).fit(x)
    assert ours.weights_[2] < 1e-10
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.means_[:2], theirs.means_[:2], rtol=1e-8)
    np.testing.assert_allclose(ours.covariances_[:2], theirs.covariances_[:2], rtol=1e-8)
    assert ours.score(x) == pytest.approx(theirs.score(x), rel=1e-10)


def test_component_collapsed_on_an_isolated_point_fits_like_sklearn_and_warns(rng):
    """reg_covar=0: scikit-learn returns a variance ~1e-26 on the outlier; so do we, and say so."""
    x = np.concatenate([rng.normal(size=100), [50.0]])[:, None]
    kwargs = {"n_components": 2, "reg_covar": 0.0, "random_state": 0}
    theirs = SkGaussianMixture(**kwargs).fit(x)
    with pytest.warns(DegenerateFitWarning, match=r"collapsed.*reg_covar"):
        ours = GaussianMixture(**kwargs).fit(x)
    order = np.argsort(ours.means_[:, 0])
    np.testing.assert_allclose(ours.means_[order], np.sort(theirs.means_, axis=0), rtol=1e-10)
    assert ours.covariances_.min() < 1e-20
    assert theirs.covariances_.min() < 1e-20


@pytest.mark.parametrize("covariance_type", TYPES)
def test_singular_fit_without_regularisation_fails_like_sklearn(covariance_type):
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 5, axis=0)
    kwargs = {"n_components": 4, "covariance_type": covariance_type, "reg_covar": 0.0,
              "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            SkGaussianMixture(**kwargs).fit(x)
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixture(**kwargs).fit(x)


# --------------------------------------------------------------------------- meta-estimators


def test_clone_pipeline_and_grid_search_work(data):
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [8.0, 400.0], [-8.0, 300.0]])
    x = np.concatenate([c + rng.normal(size=(80, 2)) * [1.0, 50.0] for c in centres])
    x = rng.permutation(x)  # so that no cross-validation fold holds out a whole cluster
    gm = GaussianMixture(2, covariance_type="diag", random_state=0)
    copy = clone(gm)
    assert copy is not gm
    assert copy.get_params() == gm.get_params()
    assert get_tags(gm).estimator_type == "density_estimator"

    pipe = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0)).fit(x)
    assert pipe.predict(x).shape == (len(x),)
    assert np.isfinite(pipe.score(x))

    search = GridSearchCV(
        GaussianMixture(random_state=0),
        {"n_components": [1, 2, 3, 4], "covariance_type": ["full", "spherical"]},
        cv=3,
    ).fit(x)
    assert search.best_params_["n_components"] >= 3
    assert isinstance(search.best_estimator_, GaussianMixture)
    check_is_fitted(search.best_estimator_)


def test_fitted_model_pickles(data):
    x = data(2)
    gm = GaussianMixture(3, random_state=0).fit(x)
    again = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(again.predict_proba(x), gm.predict_proba(x))


# --------------------------------------------------------------------------- behaviour


def test_fit_predict_equals_fit_then_predict(data):
    x = data(2)
    for max_iter in (1, 2, 100):
        kwargs = {"n_components": 3, "max_iter": max_iter, "random_state": 1, "n_init": 2}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            labels = GaussianMixture(**kwargs).fit_predict(x)
            gm = GaussianMixture(**kwargs).fit(x)
        np.testing.assert_array_equal(labels, gm.predict(x))


def test_random_state_kinds(data):
    x = data(2)

    def means(state):
        return GaussianMixture(3, init_params="random", max_iter=2, random_state=state).fit(
            x
        ).means_

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(means(7), means(7))
        np.testing.assert_array_equal(
            means(np.random.default_rng(7)), means(np.random.default_rng(7))
        )
        shared = np.random.RandomState(0)
        assert not np.array_equal(means(shared), means(shared))  # advanced, as in sklearn
        np.testing.assert_array_equal(
            means(np.random.RandomState(3)), means(np.random.RandomState(3))
        )


def test_verbose_prints_starts_and_iterations(data, capsys):
    x = data(2)
    GaussianMixture(2, n_init=2, verbose=1, verbose_interval=2, random_state=0).fit(x)
    out = capsys.readouterr().out
    assert "start 1 of 2" in out
    assert "start 2 of 2" in out
    assert "iteration 2" in out
    assert "iteration 1\n" not in out
    GaussianMixture(2, verbose=2, verbose_interval=1, random_state=0).fit(x)
    assert "lower bound" in capsys.readouterr().out
    GaussianMixture(2, random_state=0).fit(x)
    assert capsys.readouterr().out == ""


def test_one_fused_pass_per_iteration_plus_the_final_e_step(data, monkeypatch):
    """No extra pass over the data per iteration: max_iter passes, then one final E-step."""
    x = data(2)
    calls = []
    real = _estimator._em_pass

    def counting(*args, **kwargs):
        calls.append(kwargs.get("m_step", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(_estimator, "_em_pass", counting)
    with pytest.warns(ConvergenceWarning):
        gm = GaussianMixture(3, max_iter=7, tol=0.0, n_init=2, random_state=0).fit(x)
    assert gm.n_iter_ == 7
    assert calls == [True] * 14 + [False]


def test_gmm_core_keeps_its_own_classes():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(gmm_core.InvalidParameterError, ValueError)
    assert issubclass(gmm_core.InvalidParameterError, TypeError)
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::gmm_core.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::gmm_core.DegenerateFitWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.filterwarnings("ignore:Estimator GaussianMixture does not inherit:UserWarning")
def test_sklearn_common_estimator_checks():
    """scikit-learn's API checks for any estimator (check_estimator), all but one.

    ``check_estimators_unfitted`` expects scikit-learn's own NotFittedError class,
    which gmm_core cannot raise without importing scikit-learn; its NotFittedError
    is of the same kinds (ValueError and AttributeError) and has the same message
    (tested above).
    """
    from sklearn.utils.estimator_checks import check_estimator

    reason = "needs sklearn's NotFittedError class itself (gmm_core does not import sklearn)"
    results = check_estimator(
        GaussianMixture(),
        expected_failed_checks={"check_estimators_unfitted": reason},
        on_fail=None,
    )
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 35
    xfailed = [r["check_name"] for r in results if r["status"] == "xfail"]
    assert xfailed == ["check_estimators_unfitted"]
