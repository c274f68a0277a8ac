"""Shared fixtures for the gmm_core engine tests (``tests/test_core_*.py``).

Only engine fixtures live here. The factories are session-scoped so that
hypothesis tests can use them too. ``gmm_core`` is imported lazily, inside the
factories, so that a broken engine cannot break the collection of other tests.

Everything here is an *independent* reference: random parameters and data are
drawn with numpy directly and densities come from scipy, never from gmm_core.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def random_spd(rng: np.random.Generator, d: int, lo: float = 0.5, hi: float = 2.0) -> np.ndarray:
    """A random symmetric positive definite matrix, shape (d, d), eigenvalues in [lo, hi]."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    out = (q * rng.uniform(lo, hi, size=d)) @ q.T
    return (out + out.T) / 2


def random_params(
    rng: np.random.Generator,
    n_components: int,
    n_features: int,
    covariance_type: str = "full",
    *,
    spread: float = 3.0,
    scale: float = 1.0,
    offset: float = 0.0,
) -> Any:
    """Random well-conditioned ``GMMParams`` whose covariances have the type's structure.

    Means are ``offset + scale * spread * N(0, 1)``, shape (K, D); covariances are
    ``scale**2`` times matrices with eigenvalues in [0.5, 2], shape (K, D, D): all equal
    for "tied", diagonal for "diag", multiples of the identity for "spherical".
    Weights, shape (K,), are Dirichlet(5) so that no component is negligible.
    """
    from gmm_core import GMMParams

    k, d = n_components, n_features
    weights = rng.dirichlet(np.full(k, 5.0))
    means = offset + scale * spread * rng.normal(size=(k, d))
    if covariance_type == "full":
        covs = np.stack([random_spd(rng, d) for _ in range(k)])
    elif covariance_type == "tied":
        covs = np.broadcast_to(random_spd(rng, d), (k, d, d)).copy()
    elif covariance_type == "diag":
        covs = rng.uniform(0.5, 2.0, size=(k, d))[:, :, None] * np.eye(d)
    elif covariance_type == "spherical":
        covs = rng.uniform(0.5, 2.0, size=k)[:, None, None] * np.eye(d)
    else:
        raise ValueError(covariance_type)
    return GMMParams(weights, means, covs * scale**2)


def mixture_data(rng: np.random.Generator, params: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points from ``params`` with numpy only: X (n, D), labels (n,)."""
    labels = rng.choice(params.n_components, size=n, p=params.weights)
    d = params.n_features
    chol = np.linalg.cholesky(params.covariances)
    z = rng.normal(size=(n, d))
    x = params.means[labels] + np.einsum("nij,nj->ni", chol[labels], z)
    return x, labels


def scipy_log_joint(x: np.ndarray, params: Any) -> np.ndarray:
    """log pi_k + log N(x_n | mu_k, Sigma_k) from scipy, shape (N, K)."""
    n = x.shape[0]
    cols = [
        np.log(w) + np.reshape(multivariate_normal(mean=m, cov=c).logpdf(x), n)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ]
    return np.stack(cols, axis=1)


def scipy_score_samples(x: np.ndarray, params: Any) -> np.ndarray:
    """Per-point mixture log density from scipy, shape (N,)."""
    return logsumexp(scipy_log_joint(x, params), axis=1)


def scipy_resp(x: np.ndarray, params: Any) -> np.ndarray:
    """Responsibilities from scipy in log space, shape (N, K)."""
    lj = scipy_log_joint(x, params)
    return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))


def full_covariances(cov: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """Expand scikit-learn-shaped covariances to full matrices, shape (K, D, D).

    Input shapes: full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
    """
    cov = np.asarray(cov, dtype=float)
    if covariance_type == "full":
        return cov.reshape(k, d, d)
    if covariance_type == "tied":
        return np.broadcast_to(cov.reshape(d, d), (k, d, d)).copy()
    if covariance_type == "diag":
        return cov.reshape(k, d)[:, :, None] * np.eye(d)
    if covariance_type == "spherical":
        return cov.reshape(k)[:, None, None] * np.eye(d)
    raise ValueError(covariance_type)


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator for each test."""
    return np.random.default_rng(20_240_611)


@pytest.fixture(scope="session")
def make_params() -> Callable[..., Any]:
    """Factory: ``make_params(rng, K, D, covariance_type="full", *, spread, scale, offset)``."""
    return random_params


@pytest.fixture(scope="session")
def make_data() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """Factory: ``make_data(rng, params, n) -> (X (n, D), labels (n,))``, numpy only."""
    return mixture_data


@pytest.fixture(scope="session")
def ref() -> Any:
    """Independent scipy references: ``log_joint``, ``score_samples``, ``resp``, ``full_cov``."""

    class _Ref:
        log_joint = staticmethod(scipy_log_joint)
        score_samples = staticmethod(scipy_score_samples)
        resp = staticmethod(scipy_resp)
        full_cov = staticmethod(full_covariances)
        spd = staticmethod(random_spd)

    return _Ref()


# --- CI guard: under CI=true a skipped test is a failure -------------------------------
# Browser tests skip where Chromium is missing (a developer's laptop); CI installs it
# (.ci/run), so any skip there means a test did not run and the run must fail.
def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        if reporter:
            reporter.write_line(
                f"CI=true: {len(skipped)} test(s) were skipped; under CI every test must run.",
                red=True,
            )
        session.exitstatus = 1
