"""The public API of gmm_core: dependencies, GMMParams, initialize, m_step, sample,
run_em's history and the GaussianMixture estimator.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import gmm_core
from gmm_core import (
    COVARIANCE_TYPES,
    INIT_METHODS,
    GaussianMixture,
    GMMParams,
    initialize,
    log_likelihood,
    m_step,
    n_parameters,
    run_em,
    sample,
    textbook,
)

PACKAGE = Path(gmm_core.__file__).parent
ROOT = PACKAGE.parent
ALLOWED = {"numpy", "scipy", "gmm_core"}
FORBIDDEN = {"streamlit", "plotly", "pandas", "sklearn", "matplotlib", "altair", "pyarrow"}

CONTRACT = [
    "GMMParams",
    "initialize",
    "e_step",
    "m_step",
    "log_likelihood",
    "score_samples",
    "predict_proba",
    "predict",
    "sample",
    "n_parameters",
    "bic",
    "aic",
    "run_em",
    "EMHistory",
    "HalfStep",
    "Collapse",
    "ComponentCollapseError",
    "GaussianMixture",
    "COVARIANCE_TYPES",
    "INIT_METHODS",
]


@pytest.fixture
def blobs(rng) -> np.ndarray:
    """Three well-separated 2-D blobs, shape (300, 2)."""
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    return np.concatenate([c + rng.normal(size=(100, 2)) for c in centres])


def is_type_shaped(covs: np.ndarray, covariance_type: str) -> bool:
    """Do the (K, D, D) matrices have the structure of ``covariance_type``?"""
    d = covs.shape[1]
    off = covs * (1 - np.eye(d))
    if covariance_type == "tied":
        return bool(np.allclose(covs, covs[0], rtol=1e-12, atol=0))
    if covariance_type == "diag":
        return bool(np.all(off == 0))
    if covariance_type == "spherical":
        diag = np.diagonal(covs, axis1=1, axis2=2)
        return bool(np.all(off == 0) and np.allclose(diag, diag[:, :1], rtol=1e-12, atol=0))
    return True


def assert_valid(params: GMMParams, k: int, d: int) -> None:
    assert params.weights.shape == (k,)
    assert params.means.shape == (k, d)
    assert params.covariances.shape == (k, d, d)
    assert params.n_components == k
    assert params.n_features == d
    assert np.all(params.weights >= 0)
    assert params.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(params.means))
    np.testing.assert_allclose(params.covariances, np.swapaxes(params.covariances, 1, 2))
    assert np.all(np.linalg.eigvalsh(params.covariances) > 0)


# --------------------------------------------------------------------------- dependencies


def imported_top_level_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import anywhere in a Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_source_imports_only_numpy_scipy_and_stdlib():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 4
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in imported_top_level_modules(path)
        if name not in sys.stdlib_module_names and name not in ALLOWED
    }
    assert not offending


def test_importing_and_using_gmm_core_loads_no_app_library():
    """In a fresh interpreter, record every import made *from a gmm_core file*."""
    script = textwrap.dedent(
        """
        import json, sys, traceback

        by_gmm_core = set()

        class Recorder:
            def find_spec(self, name, path=None, target=None):
                for frame in reversed(traceback.extract_stack()[:-1]):
                    if "importlib" in frame.filename:
                        continue
                    if "gmm_core" in frame.filename.replace("\\\\", "/").split("/"):
                        by_gmm_core.add(name.partition(".")[0])
                    break
                return None

        sys.meta_path.insert(0, Recorder())
        import gmm_core
        import gmm_core.datasets
        import numpy as np

        x = np.random.default_rng(0).normal(size=(60, 2))
        gm = gmm_core.GaussianMixture(2, random_state=0).fit(x)
        gm.bic(x); gm.sample(5)
        for name in gmm_core.datasets.list_datasets():
            gmm_core.datasets.load(name)
        print(json.dumps({"by_gmm_core": sorted(by_gmm_core),
                          "loaded": sorted({m.partition(".")[0] for m in sys.modules})}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])

    third_party = set(found["by_gmm_core"]) - set(sys.stdlib_module_names)
    assert third_party <= ALLOWED
    assert "numpy" in third_party  # the recorder works
    assert not FORBIDDEN & set(found["loaded"])


def test_contract_names_are_exported():
    for name in CONTRACT:
        assert hasattr(gmm_core, name), name
        assert name in gmm_core.__all__, name
    assert COVARIANCE_TYPES == ("full", "tied", "diag", "spherical")
    assert INIT_METHODS == ("random_from_data", "kmeans++", "kmeans", "random_resp", "manual")
    assert issubclass(gmm_core.ComponentCollapseError, ValueError)


# --------------------------------------------------------------------------- GMMParams


def test_gmmparams_is_immutable_and_copies_its_input():
    weights = np.array([0.25, 0.75])
    means = np.zeros((2, 2))
    covs = np.stack([np.eye(2), 2 * np.eye(2)])
    params = GMMParams(weights, means, covs)

    with pytest.raises(dataclasses.FrozenInstanceError):
        params.weights = np.array([0.5, 0.5])
    for array in (params.weights, params.means, params.covariances):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1.0
    weights[0] = 0.9
    means[0, 0] = 5.0
    covs[0, 0, 0] = 7.0
    np.testing.assert_array_equal(params.weights, [0.25, 0.75])
    assert params.means[0, 0] == 0.0
    assert params.covariances[0, 0, 0] == 1.0
    assert params.n_components == 2
    assert params.n_features == 2


@pytest.mark.parametrize(
    ("weights", "means", "covariances"),
    [
        ([0.5, 0.5, 0.0], np.zeros((2, 2)), np.stack([np.eye(2)] * 2)),  # weights (3,) vs K=2
        ([0.5, 0.5], np.zeros((2, 2)), np.stack([np.eye(3)] * 2)),  # covariances D=3
        ([0.5, 0.5], np.zeros((2, 2)), np.stack([np.eye(2)] * 3)),  # covariances K=3
        ([0.5, 0.5], np.zeros(2), np.stack([np.eye(2)] * 2)),  # means not 2-D
        ([0.6, 0.6], np.zeros((2, 2)), np.stack([np.eye(2)] * 2)),  # weights sum 1.2
        ([1.5, -0.5], np.zeros((2, 2)), np.stack([np.eye(2)] * 2)),  # negative weight
        ([0.5, 0.5], [[0.0, np.nan], [0.0, 0.0]], np.stack([np.eye(2)] * 2)),  # NaN
        ([0.5, 0.5], np.zeros((2, 2)), [[[1.0, 0.5], [0.0, 1.0]], np.eye(2)]),  # asymmetric
    ],
)
def test_gmmparams_validates(weights, means, covariances):
    with pytest.raises(ValueError, match=r"\w"):
        GMMParams(weights, means, covariances)


def test_gmmparams_permuted_allclose_and_dict_round_trip(rng, make_params):
    params = make_params(rng, 3, 2)
    order = [2, 0, 1]

    permuted = params.permuted(order)

    np.testing.assert_array_equal(permuted.weights, params.weights[order])
    np.testing.assert_array_equal(permuted.means, params.means[order])
    np.testing.assert_array_equal(permuted.covariances, params.covariances[order])
    assert not permuted.allclose(params)
    assert permuted.permuted([1, 2, 0]).allclose(params, rtol=0)
    back = GMMParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert back.allclose(params, rtol=0)


# --------------------------------------------------------------------------- initialize


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("method", INIT_METHODS)
def test_initialize_gives_valid_params_of_the_type(rng, blobs, method, covariance_type):
    means = blobs[[0, 100, 200]] + 0.5 if method == "manual" else None

    params = initialize(blobs, 3, method, rng, means=means, covariance_type=covariance_type)

    assert_valid(params, 3, 2)
    assert is_type_shaped(params.covariances, covariance_type)
    if method in ("random_from_data", "kmeans++", "manual"):  # only the means are chosen
        np.testing.assert_allclose(params.weights, 1 / 3, rtol=1e-12)
        data_cov = np.cov(blobs.T, bias=True)
        if covariance_type == "diag":
            data_cov = np.diag(np.diag(data_cov))
        elif covariance_type == "spherical":
            data_cov = np.trace(data_cov) / 2 * np.eye(2)
        for cov in params.covariances:  # the data's covariance (biased or not)
            np.testing.assert_allclose(cov, data_cov, rtol=1 / len(blobs) + 1e-6, atol=1e-6)
    if method == "manual":
        np.testing.assert_array_equal(params.means, means)


def test_random_from_data_picks_distinct_data_points(rng):
    x = np.repeat(rng.normal(size=(6, 2)), 20, axis=0)  # 120 rows, 6 distinct points

    for _ in range(20):
        params = initialize(x, 6, "random_from_data", rng)
        rows = [np.flatnonzero((x == m).all(axis=1)) for m in params.means]
        assert all(r.size for r in rows)  # each mean is a data point
        assert len({tuple(m) for m in params.means}) == 6  # and they are distinct


def test_kmeans_init_is_a_lloyd_fixed_point(rng, blobs):
    reg = 1e-6

    params = initialize(blobs, 3, "kmeans", rng, reg_covar=reg)

    labels = np.argmin(((blobs[:, None, :] - params.means) ** 2).sum(axis=2), axis=1)
    for k in range(3):
        members = blobs[labels == k]
        np.testing.assert_allclose(params.means[k], members.mean(axis=0), rtol=1e-10)
        assert params.weights[k] == pytest.approx(len(members) / len(blobs), rel=1e-10)
        expected = np.cov(members.T, bias=True) + reg * np.eye(2)
        np.testing.assert_allclose(params.covariances[k], expected, rtol=1e-9)
    assert sorted(np.bincount(labels)) == [100, 100, 100]  # the three blobs


@pytest.mark.parametrize("method", INIT_METHODS)
def test_initialize_is_reproducible(blobs, method):
    means = blobs[[0, 100, 200]] if method == "manual" else None
    a = initialize(blobs, 3, method, np.random.default_rng(7), means=means)
    b = initialize(blobs, 3, method, np.random.default_rng(7), means=means)
    assert a.allclose(b, rtol=0)


@pytest.mark.parametrize(
    ("k", "method", "kwargs", "pattern"),
    [
        (3, "bogus", {}, "kmeans"),
        (0, "kmeans", {}, "n_components"),
        (400, "random_from_data", {}, "400"),
        (3, "manual", {}, "means"),
        (3, "manual", {"means": np.zeros((2, 2))}, "means"),
        (3, "kmeans", {"covariance_type": "round"}, "spherical"),
    ],
)
def test_initialize_rejects_bad_input_with_a_message(rng, blobs, k, method, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        initialize(blobs, k, method, rng, **kwargs)


# --------------------------------------------------------------------------- m_step


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_closed_forms(rng, covariance_type):
    x = rng.normal(size=(80, 3)) * [1.0, 2.0, 0.5] + [10.0, -3.0, 0.0]
    resp = rng.dirichlet(np.ones(3), size=80)
    reg = 1e-4
    nk = resp.sum(axis=0)
    means = (resp.T @ x) / nk[:, None]
    full = np.stack([np.cov(x.T, aweights=resp[:, k], bias=True) for k in range(3)])
    if covariance_type == "tied":
        expected = np.broadcast_to((full * nk[:, None, None]).sum(axis=0) / 80, (3, 3, 3))
    elif covariance_type == "diag":
        expected = np.diagonal(full, axis1=1, axis2=2)[:, :, None] * np.eye(3)
    elif covariance_type == "spherical":
        expected = np.trace(full, axis1=1, axis2=2)[:, None, None] / 3 * np.eye(3)
    else:
        expected = full

    params = m_step(x, resp, covariance_type, reg_covar=reg)

    np.testing.assert_allclose(params.weights, nk / 80, rtol=1e-12)
    np.testing.assert_allclose(params.means, means, rtol=1e-11)
    np.testing.assert_allclose(
        params.covariances, expected + reg * np.eye(3), rtol=1e-10, atol=1e-14
    )
    assert is_type_shaped(params.covariances, covariance_type)


# --------------------------------------------------------------------------- sample


def test_sample_shapes_grouping_counts_and_moments(make_params):
    params = make_params(np.random.default_rng(3), 3, 2, spread=6.0)
    n = 30_000

    x, labels = sample(params, n, np.random.default_rng(11))

    assert x.shape == (n, 2)
    assert labels.shape == (n,)
    assert np.all(np.diff(labels) >= 0)  # grouped by component
    counts = np.bincount(labels, minlength=3)
    # multinomial counts: chi-square goodness of fit
    assert stats.chisquare(counts, params.weights * n).pvalue > 1e-4
    for k in range(3):
        xk = x[labels == k]
        se = np.sqrt(np.diag(params.covariances[k]) / len(xk))
        assert np.all(np.abs(xk.mean(axis=0) - params.means[k]) < 5 * se)
        np.testing.assert_allclose(np.cov(xk.T), params.covariances[k], rtol=0.1, atol=0.05)


def test_sample_is_reproducible_and_validates_n(rng, make_params):
    params = make_params(rng, 2, 1)
    a = sample(params, 50, np.random.default_rng(5))
    b = sample(params, 50, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].shape == (50, 1)
    with pytest.raises(ValueError, match="n"):
        sample(params, 0, rng)


def test_n_parameters_by_hand():
    # K=2, D=2: means 4, free weights 1, covariances: full 2*3, tied 3, diag 2*2, spherical 2
    assert n_parameters(2, 2, "full") == 11
    assert n_parameters(2, 2, "tied") == 8
    assert n_parameters(2, 2, "diag") == 9
    assert n_parameters(2, 2, "spherical") == 7
    assert n_parameters(1, 1, "full") == 2


# --------------------------------------------------------------------------- run_em history


def test_history_structure(rng, blobs):
    params0 = initialize(blobs, 3, "random_from_data", rng)

    hist = run_em(blobs, params0, tol=0.0, max_iter=6)

    assert hist.stop_reason == "max_iter"
    assert not hist.converged
    assert hist.collapse is None
    assert hist.n_iter == 6
    assert len(hist.steps) == 13
    assert [s.phase for s in hist.steps] == ["init"] + ["E", "M"] * 6
    assert [s.iteration for s in hist.steps] == [0] + [i for i in range(1, 7) for _ in "EM"]
    assert hist.steps[0].params.allclose(params0, rtol=0)
    assert hist.final is hist.steps[-1]
    np.testing.assert_array_equal(hist.log_likelihoods, [s.log_likelihood for s in hist.steps])
    for before, step in zip(hist.steps, hist.steps[1:], strict=False):
        if step.phase == "E":  # an E-step recomputes responsibilities, not parameters
            assert step.params.allclose(before.params, rtol=0)
            assert step.log_likelihood == before.log_likelihood
    for step in hist.steps:  # each entry's log-likelihood is that of its own parameters
        expected = textbook.log_likelihood(blobs, step.params)
        assert step.log_likelihood == pytest.approx(expected, rel=1e-10)


def test_m_entries_are_the_m_step_of_the_previous_e_step(rng, blobs):
    params0 = initialize(blobs, 3, "random_from_data", rng)

    hist = run_em(blobs, params0, covariance_type="diag", reg_covar=1e-4, tol=0.0, max_iter=3)

    for e, m in zip(hist.steps[1::2], hist.steps[2::2], strict=True):
        resp, ll = textbook.e_step(blobs, e.params)
        assert ll == pytest.approx(e.log_likelihood, rel=1e-11)
        expected = textbook.m_step(blobs, resp, "diag", reg_covar=1e-4)
        assert m.params.allclose(expected, rtol=1e-9, atol=1e-12)


def test_history_converges_and_stops(rng, blobs):
    params0 = initialize(blobs, 3, "kmeans++", rng)

    hist = run_em(blobs, params0, tol=1e-3, max_iter=500)

    assert hist.converged
    assert hist.stop_reason == "converged"
    assert hist.n_iter < 500
    assert hist.final.phase == "M"
    lls = hist.log_likelihoods
    assert abs(lls[-1] - lls[-3]) / len(blobs) < 1e-3


def test_history_size_does_not_depend_on_n(rng, make_params, make_data):
    truth = make_params(rng, 3, 2)
    small, _ = make_data(rng, truth, 100)
    large, _ = make_data(rng, truth, 5000)
    params0 = GMMParams(truth.weights, truth.means + 0.5, truth.covariances)

    h_small = run_em(small, params0, tol=0.0, max_iter=7)
    h_large = run_em(large, params0, tol=0.0, max_iter=7)

    assert len(h_small.steps) == len(h_large.steps) == 15

    def arrays(obj, seen):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            yield obj
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                yield from arrays(getattr(obj, f.name), seen)
        elif isinstance(obj, tuple | list):
            for item in obj:
                yield from arrays(item, seen)

    held_large = list(arrays(h_large, set()))
    held_small = list(arrays(h_small, set()))
    assert held_large  # the parameters are kept
    assert [a.shape for a in held_large] == [a.shape for a in held_small]
    assert all(a.size <= max(3 * 2 * 2, len(h_large.steps)) for a in held_large)
    assert all(len(large) not in a.shape for a in held_large)


def test_run_em_with_max_iter_zero_records_the_start(rng, blobs):
    params0 = initialize(blobs, 2, "kmeans++", rng)
    hist = run_em(blobs, params0, max_iter=0)
    assert len(hist.steps) == 1
    assert hist.steps[0].phase == "init"
    assert hist.steps[0].log_likelihood == pytest.approx(log_likelihood(blobs, params0))


@pytest.mark.parametrize(
    "kwargs",
    [{"covariance_type": "round"}, {"reg_covar": -1.0}, {"tol": -1.0}, {"max_iter": -1}],
)
def test_run_em_rejects_bad_settings(rng, blobs, kwargs):
    params0 = initialize(blobs, 2, "kmeans++", rng)
    with pytest.raises(ValueError, match=r"\w"):
        run_em(blobs, params0, **kwargs)


def test_run_em_rejects_data_of_the_wrong_dimension(rng, blobs):
    params0 = initialize(blobs, 2, "kmeans++", rng)
    with pytest.raises(ValueError, match="feature"):
        run_em(blobs[:, :1], params0)


# --------------------------------------------------------------------------- estimator


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimator_fit_and_fitted_attributes(blobs, covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0)

    assert gm.fit(blobs) is gm

    assert gm.weights_.shape == (3,)
    assert gm.means_.shape == (3, 2)
    # scikit-learn's per-type layout
    shape = {"full": (3, 2, 2), "tied": (2, 2), "diag": (3, 2), "spherical": (3,)}
    assert gm.covariances_.shape == shape[covariance_type]
    assert gm.precisions_.shape == shape[covariance_type]
    assert gm.precisions_cholesky_.shape == shape[covariance_type]
    assert gm.converged_ is True
    assert isinstance(gm.n_iter_, int)
    assert gm.n_iter_ >= 1
    assert abs(gm.lower_bound_ - gm.score(blobs)) <= gm.tol
    params = gm.params_  # gmm_core's own (K, D, D) parameters
    assert isinstance(params, GMMParams)
    assert is_type_shaped(params.covariances, covariance_type)
    # the three blobs are found
    np.testing.assert_allclose(np.sort(gm.weights_), 1 / 3, atol=0.01)


def test_estimator_methods_agree_with_the_textbook(blobs, ref):
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(blobs)
    params = GMMParams(gm.weights_, gm.means_, gm.covariances_[:, :, None] * np.eye(2))
    ll = textbook.log_likelihood(blobs, params)
    p = 3 * 2 + 3 * 2 + 2  # diagonal variances + means + free weights

    proba = gm.predict_proba(blobs)
    np.testing.assert_allclose(proba, textbook.e_step(blobs, params)[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(gm.predict(blobs), proba.argmax(axis=1))
    np.testing.assert_allclose(gm.score_samples(blobs), ref.score_samples(blobs, params))
    assert gm.score(blobs) == pytest.approx(ll / len(blobs), rel=1e-12)
    assert gm.bic(blobs) == pytest.approx(-2 * ll + p * np.log(len(blobs)), rel=1e-12)
    assert gm.aic(blobs) == pytest.approx(-2 * ll + 2 * p, rel=1e-12)
    np.testing.assert_array_equal(
        GaussianMixture(3, covariance_type="diag", random_state=0).fit_predict(blobs),
        gm.predict(blobs),
    )
    x, labels = gm.sample(40)
    assert x.shape == (40, 2)
    assert labels.shape == (40,)
    assert np.all(np.diff(labels) >= 0)


def test_estimator_keeps_its_settings():
    gm = GaussianMixture(
        4,
        covariance_type="tied",
        tol=1e-5,
        reg_covar=1e-3,
        max_iter=7,
        n_init=2,
        init_params="random",
        random_state=9,
    )
    assert (gm.n_components, gm.covariance_type, gm.tol, gm.reg_covar) == (4, "tied", 1e-5, 1e-3)
    assert (gm.max_iter, gm.n_init, gm.init_params, gm.random_state) == (7, 2, "random", 9)


def test_estimator_is_reproducible(blobs):
    a = GaussianMixture(3, init_params="random_from_data", random_state=42).fit(blobs)
    b = GaussianMixture(3, init_params="random_from_data", random_state=42).fit(blobs)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    c = GaussianMixture(3, random_state=np.random.default_rng(1)).fit(blobs)
    d = GaussianMixture(3, random_state=np.random.default_rng(1)).fit(blobs)
    np.testing.assert_array_equal(c.means_, d.means_)


def test_n_init_keeps_the_best_start():
    rng = np.random.default_rng(0)
    centres = rng.uniform(-6, 6, size=(6, 2))
    x = np.concatenate([c + rng.normal(size=(40, 2)) for c in centres])
    singles, multis = [], []
    for seed in range(6):
        kwargs = {"init_params": "random_from_data", "random_state": seed}
        singles.append(GaussianMixture(6, n_init=1, **kwargs).fit(x).lower_bound_)
        multis.append(GaussianMixture(6, n_init=8, **kwargs).fit(x).lower_bound_)

    assert np.all(np.array(multis) >= np.array(singles) - 1e-12)
    assert max(multis) - min(singles) > 1e-3  # the premise: starts do reach different optima
    assert max(multis) >= max(singles) - 1e-12


def test_estimator_warns_when_not_converged(blobs):
    with pytest.warns(gmm_core.ConvergenceWarning):
        gm = GaussianMixture(3, max_iter=1, tol=1e-12, random_state=0).fit(blobs)
    assert gm.converged_ is False
    assert gm.n_iter_ == 1


def test_estimator_on_one_dimensional_data(rng):
    x = np.concatenate([rng.normal(-3, 1, 150), rng.normal(4, 0.5, 150)])[:, None]

    gm = GaussianMixture(2, random_state=0).fit(x)

    np.testing.assert_allclose(np.sort(gm.means_[:, 0]), [-3, 4], atol=0.3)
    assert gm.covariances_[0].shape == (1, 1)


def test_unfitted_estimator_says_to_fit_first(blobs):
    with pytest.raises((ValueError, AttributeError), match="fit"):
        GaussianMixture(2).predict(blobs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_components": 0},
        {"covariance_type": "round"},
        {"init_params": "bogus"},
        {"n_init": 0},
        {"max_iter": -1},  # 0 is allowed, as in scikit-learn: the start is the fit
    ],
)
def test_estimator_rejects_bad_settings(blobs, kwargs):
    with pytest.raises(ValueError, match=r"\w"):
        GaussianMixture(**{"n_components": 2, **kwargs}).fit(blobs)


def test_one_dimensional_array_gets_a_reshape_hint(rng, make_params):
    params = make_params(rng, 2, 1)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        gmm_core.score_samples(np.arange(5.0), params)


def test_more_components_than_points_says_lower_k(rng):
    x = rng.normal(size=(4, 2))
    with pytest.raises(ValueError, match="lower K"):
        GaussianMixture(6, random_state=0).fit(x)
