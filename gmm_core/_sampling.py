"""A mixture as a generative model, and its low-density ("unusual") points.

Drawing from a mixture takes two stages, which is what makes the latent
variable :math:`z` concrete:

1. pick a component :math:`z_n \\sim \\mathrm{Categorical}(\\pi)`
   (:func:`sample_components`);
2. draw :math:`x_n \\sim \\mathcal{N}(\\mu_{z_n}, \\Sigma_{z_n})`
   (:func:`sample_points`).

:func:`gmm_core.sample` does both at once, grouped by component;
:func:`sample_two_stage` keeps the draw order, so that the first points drawn
are the same whatever N, and returns both stages.
"""

from __future__ import annotations

import numpy as np

from gmm_core._em import check_data, score_samples
from gmm_core._params import GMMParams


def sample_components(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Stage 1: draw ``n`` component labels :math:`z_n` with probabilities ``weights``.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing proportions :math:`\\pi`, non-negative and summing to 1.
    n : int
        Number of draws, at least 1.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)
    """
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    weights = np.asarray(weights, dtype=np.float64)
    # Inverse-CDF draws (Generator.choice): one uniform number per point, in order.
    return rng.choice(weights.size, size=int(n), p=weights)


def sample_points(params: GMMParams, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stage 2: draw :math:`x_n \\sim \\mathcal{N}(\\mu_{z_n}, \\Sigma_{z_n})` for each label.

    Parameters
    ----------
    params : GMMParams
        K components in D dimensions.
    z : array_like of int, shape (n,)
        Component of each draw, in ``0 .. K-1``.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, D)
        :math:`\\mu_{z_n} + L_{z_n} \\varepsilon_n` with the Cholesky factor
        :math:`L_k L_k^\\top = \\Sigma_k` and :math:`\\varepsilon_n \\sim \\mathcal{N}(0, I)`.
    """
    z = np.asarray(z, dtype=np.intp)
    if z.size and (z.min() < 0 or z.max() >= params.n_components):
        raise ValueError(f"labels must lie in 0 .. {params.n_components - 1}.")
    chol = np.linalg.cholesky(params.covariances)
    eps = rng.standard_normal((z.size, params.n_features))
    return params.means[z] + np.einsum("nij,nj->ni", chol[z], eps)


def sample_two_stage(
    params: GMMParams, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points in the two stages: labels first, then points.

    Returns
    -------
    X : ndarray, shape (n, D)
        In draw order (not grouped by component).
    z : ndarray of int, shape (n,)
    """
    z = sample_components(params.weights, n, rng)
    return sample_points(params, z, rng), z


def unusual_points(
    X: np.ndarray, params: GMMParams, percentile: float
) -> tuple[np.ndarray, float, np.ndarray]:
    """Flag the points of lowest mixture density.

    Parameters
    ----------
    X : array_like, shape (N, D)
    params : GMMParams
    percentile : float
        In [0, 100]: the share of the data (in percent) to flag.

    Returns
    -------
    log_density : ndarray, shape (N,)
        :math:`\\log p(x_n)` (:func:`gmm_core.score_samples`).
    threshold : float
        The ``percentile``-th percentile of ``log_density`` (numpy's linear
        interpolation between order statistics).
    flags : ndarray of bool, shape (N,)
        ``log_density < threshold``: about ``percentile`` % of the points
        (exactly, up to one point and ties).
    """
    if not (np.isfinite(percentile) and 0 <= percentile <= 100):
        raise ValueError(f"percentile must be from 0 to 100; got {percentile!r}.")
    X = check_data(X, params.n_features)
    log_density = score_samples(X, params)
    threshold = float(np.percentile(log_density, percentile))
    return log_density, threshold, log_density < threshold
