"""Seeded synthetic data sets: Gaussian mixtures and two non-Gaussian shapes.

Every generator takes an explicit :class:`numpy.random.Generator` and draws all
of its randomness from it, so a seed reproduces a data set exactly. The
Gaussian-mixture generators build the generating :class:`~gmm_core.GMMParams`
first (it depends only on the knobs, never on the seed), draw the points with
:func:`gmm_core.sample` and shuffle the rows with the same generator. Each
returns ``(X, labels, params)`` where ``labels[i]`` is the generating component
of row ``i``.

Units. In 2-D, a "unit" is the standard deviation of a round cluster.
``anisotropy`` ``a`` stretches a cluster to standard deviation ``sqrt(a)``
along its long axis and ``1 / sqrt(a)`` along its short axis, so the long-to-
short ratio is ``a`` while the cluster's area stays that of a round one.
``imbalance`` ``r`` gives geometric weights whose largest-to-smallest ratio is
``r`` (component 0 is the largest).
"""

from __future__ import annotations

import numpy as np

from gmm_core._em import sample
from gmm_core._params import GMMParams

Generated = tuple[np.ndarray, np.ndarray, GMMParams | None]

CALM_MEAN = 0.05
"""Mean daily return of both components of ``calm_and_crisis_returns``, in percent."""
CALM_SD = 0.8
"""Standard deviation of the calm component of ``calm_and_crisis_returns``, in percent."""
THREE_1D_SDS = (0.8, 1.0, 1.2)
"""Standard deviations of the three components of ``three_gaussians_1d``."""
UNEQUAL_SDS = (2.0, 1.0, 0.5)
"""Standard deviations of the three round clusters of ``unequal_sizes`` (largest weight first)."""


# --------------------------------------------------------------------------- building blocks
def geometric_weights(n_components: int, imbalance: float) -> np.ndarray:
    """Mixing weights whose largest-to-smallest ratio is ``imbalance``.

    .. math:: \\pi_k \\propto r^{-k / (K - 1)}, \\qquad k = 0, \\dots, K - 1

    Parameters
    ----------
    n_components : int
        Number of components K >= 2.
    imbalance : float
        The ratio r = pi_0 / pi_{K-1} >= 1; 1 gives equal weights.

    Returns
    -------
    weights : ndarray, shape (K,)
        Decreasing weights summing to 1.
    """
    exponents = np.arange(n_components) / (n_components - 1)
    weights = float(imbalance) ** -exponents
    return weights / weights.sum()


def rotation(theta: float) -> np.ndarray:
    """The 2-D rotation matrix by ``theta`` radians, shape (2, 2)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def stretched_covariance(anisotropy: float, theta: float) -> np.ndarray:
    """Covariance of a cluster stretched by ``anisotropy`` along the direction ``theta``.

    .. math:: \\Sigma = R(\\theta)\\, \\mathrm{diag}(a, 1/a)\\, R(\\theta)^\\top

    so the standard deviations are ``sqrt(a)`` along the long axis and ``1/sqrt(a)``
    along the short one, and ``det(Sigma) = 1`` whatever ``a``.

    Parameters
    ----------
    anisotropy : float
        Long-to-short standard-deviation ratio a >= 1.
    theta : float
        Angle of the long axis from the x-axis, in radians.

    Returns
    -------
    covariance : ndarray, shape (2, 2)
        A symmetric positive-definite matrix.
    """
    rot = rotation(theta)
    cov = rot @ np.diag([anisotropy, 1.0 / anisotropy]) @ rot.T
    return (cov + cov.T) / 2.0


def polygon_means(n_components: int, side: float) -> np.ndarray:
    """Vertices of a regular polygon with neighbouring vertices ``side`` apart, centred at 0.

    For K = 2 this is two points on the x-axis ``side`` apart. The polygon has a
    flat top edge.

    Parameters
    ----------
    n_components : int
        Number of vertices K >= 2.
    side : float
        Distance between neighbouring vertices.

    Returns
    -------
    means : ndarray, shape (K, 2)
    """
    radius = side / (2.0 * np.sin(np.pi / n_components))
    angles = np.pi / 2 + np.pi / n_components + 2 * np.pi * np.arange(n_components) / n_components
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def sample_shuffled(
    params: GMMParams, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` points from ``params`` and shuffle the rows.

    :func:`gmm_core.sample` returns the points grouped by component; the rows are
    permuted with the same generator so that any prefix of the data is a fair sample.

    Returns
    -------
    X : ndarray, shape (n_samples, D)
    labels : ndarray, shape (n_samples,)
        Generating component of each row (int64).
    """
    X, labels = sample(params, n_samples, rng)
    order = rng.permutation(n_samples)
    return np.asarray(X, dtype=np.float64)[order], np.asarray(labels, dtype=np.int64)[order]


def _mixture_1d(means: list[float], sds: list[float], weights: np.ndarray) -> GMMParams:
    return GMMParams(
        weights=weights,
        means=np.asarray(means, dtype=float).reshape(-1, 1),
        covariances=(np.asarray(sds, dtype=float) ** 2).reshape(-1, 1, 1),
    )


# --------------------------------------------------------------------------- 1-D mixtures
def two_gaussians_1d(
    rng: np.random.Generator, n_samples: int, separation: float, imbalance: float
) -> Generated:
    """Two unit-variance Gaussians ``separation`` apart, at -separation/2 and +separation/2.

    With equal weights the density has two modes only when ``separation > 2``.

    Returns
    -------
    X : ndarray, shape (n_samples, 1)
    labels : ndarray, shape (n_samples,)
    params : GMMParams
        K = 2, D = 1.
    """
    params = _mixture_1d(
        [-separation / 2, separation / 2], [1.0, 1.0], geometric_weights(2, imbalance)
    )
    return (*sample_shuffled(params, n_samples, rng), params)


def three_gaussians_1d(
    rng: np.random.Generator, n_samples: int, separation: float, imbalance: float
) -> Generated:
    """Three Gaussians at -separation, 0 and +separation with sds 0.8, 1 and 1.2.

    Returns
    -------
    X : ndarray, shape (n_samples, 1)
    labels : ndarray, shape (n_samples,)
    params : GMMParams
        K = 3, D = 1.
    """
    params = _mixture_1d(
        [-separation, 0.0, separation], list(THREE_1D_SDS), geometric_weights(3, imbalance)
    )
    return (*sample_shuffled(params, n_samples, rng), params)


def calm_and_crisis_returns(
    rng: np.random.Generator, n_samples: int, crisis_weight: float, crisis_sd: float
) -> Generated:
    """Daily returns in percent: a calm and a crisis regime with the same mean.

    Component 0 (calm) is N(0.05, 0.8^2) with weight ``1 - crisis_weight``;
    component 1 (crisis) is N(0.05, crisis_sd^2) with weight ``crisis_weight``.

    Returns
    -------
    X : ndarray, shape (n_samples, 1)
    labels : ndarray, shape (n_samples,)
        0 = calm day, 1 = crisis day.
    params : GMMParams
        K = 2, D = 1.
    """
    params = _mixture_1d(
        [CALM_MEAN, CALM_MEAN],
        [CALM_SD, crisis_sd],
        np.array([1.0 - crisis_weight, crisis_weight]),
    )
    return (*sample_shuffled(params, n_samples, rng), params)


# --------------------------------------------------------------------------- 2-D mixtures
def blobs(
    rng: np.random.Generator,
    n_samples: int,
    n_clusters: int,
    separation: float,
    anisotropy: float,
    imbalance: float,
) -> Generated:
    """``n_clusters`` clusters on a regular polygon with neighbouring means ``separation`` apart.

    Cluster k is stretched by ``anisotropy`` along the direction ``pi * k / K``.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    labels : ndarray, shape (n_samples,)
    params : GMMParams
        K = n_clusters, D = 2.
    """
    covariances = np.stack(
        [stretched_covariance(anisotropy, np.pi * k / n_clusters) for k in range(n_clusters)]
    )
    params = GMMParams(
        weights=geometric_weights(n_clusters, imbalance),
        means=polygon_means(n_clusters, separation),
        covariances=covariances,
    )
    return (*sample_shuffled(params, n_samples, rng), params)


def anisotropic(
    rng: np.random.Generator,
    n_samples: int,
    separation: float,
    anisotropy: float,
    imbalance: float,
) -> Generated:
    """Three parallel elongated clusters, tilted by 45 degrees, in a staircase.

    All three share the covariance ``stretched_covariance(anisotropy, pi / 4)``.
    Neighbouring means are ``separation`` apart across the clusters (along the
    short axis) and staggered by one long-axis standard deviation, ``sqrt(anisotropy)``,
    along them. When the clusters are long compared with the gaps, k-means cuts
    across them; a full-covariance GMM does not.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    labels : ndarray, shape (n_samples,)
    params : GMMParams
        K = 3, D = 2.
    """
    theta = np.pi / 4
    long_axis = np.array([np.cos(theta), np.sin(theta)])
    short_axis = np.array([-np.sin(theta), np.cos(theta)])
    step = separation * short_axis + np.sqrt(anisotropy) * long_axis
    means = np.outer([-1.0, 0.0, 1.0], step)
    cov = stretched_covariance(anisotropy, theta)
    params = GMMParams(
        weights=geometric_weights(3, imbalance),
        means=means,
        covariances=np.stack([cov, cov, cov]),
    )
    return (*sample_shuffled(params, n_samples, rng), params)


def unequal_sizes(
    rng: np.random.Generator, n_samples: int, separation: float, imbalance: float
) -> Generated:
    """Three round clusters with sds 2, 1 and 0.5, the widest also the most frequent.

    Means on an equilateral triangle of side ``separation``; weights from ``imbalance``.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    labels : ndarray, shape (n_samples,)
    params : GMMParams
        K = 3, D = 2.
    """
    variances = np.asarray(UNEQUAL_SDS) ** 2
    params = GMMParams(
        weights=geometric_weights(3, imbalance),
        means=polygon_means(3, separation),
        covariances=variances[:, None, None] * np.eye(2),
    )
    return (*sample_shuffled(params, n_samples, rng), params)


# --------------------------------------------------------------------------- non-Gaussian shapes
def _shuffle_with_noise(
    rng: np.random.Generator, points: np.ndarray, labels: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    points = points + rng.normal(scale=noise, size=points.shape)
    order = rng.permutation(points.shape[0])
    return points[order], labels[order]


def two_moons(rng: np.random.Generator, n_samples: int, noise: float) -> Generated:
    """Two interleaving half circles (like scikit-learn's ``make_moons``), with Gaussian noise.

    Moon 0 is ``(cos t, sin t)``, moon 1 is ``(1 - cos t, 0.5 - sin t)`` with
    ``t ~ Uniform(0, pi)``; moon 0 has ``n_samples // 2`` points.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    labels : ndarray, shape (n_samples,)
        The moon of each point.
    params : None
        The data are not a Gaussian mixture.
    """
    n_first = n_samples // 2
    t = rng.uniform(0.0, np.pi, size=n_samples)
    first = np.column_stack([np.cos(t[:n_first]), np.sin(t[:n_first])])
    second = np.column_stack([1.0 - np.cos(t[n_first:]), 0.5 - np.sin(t[n_first:])])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_first, n_samples - n_first])
    return (*_shuffle_with_noise(rng, np.vstack([first, second]), labels, noise), None)


def rings(rng: np.random.Generator, n_samples: int, noise: float, inner_radius: float) -> Generated:
    """Two concentric circles of radius 1 and ``inner_radius``, with Gaussian noise.

    The outer ring (label 0) has ``n_samples // 2`` points at uniform angles.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
    labels : ndarray, shape (n_samples,)
        0 = outer ring, 1 = inner ring.
    params : None
        The data are not a Gaussian mixture.
    """
    n_outer = n_samples // 2
    angles = rng.uniform(0.0, 2 * np.pi, size=n_samples)
    radii = np.where(np.arange(n_samples) < n_outer, 1.0, inner_radius)
    points = radii[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    labels = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_samples - n_outer])
    return (*_shuffle_with_noise(rng, points, labels, noise), None)
