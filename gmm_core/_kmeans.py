"""k-means one half-step at a time, and EM with a shared fixed variance (its soft cousin).

k-means alternates two half-steps, like EM:

* **assign** every point to its nearest centre (a hard E-step);
* **update** every centre to the mean of its points (an M-step with 0/1 weights).

EM for a mixture with equal weights :math:`1/K` and one shared spherical
covariance :math:`\\sigma^2 I`, held fixed, has responsibilities

.. math:: \\gamma_{nk} \\propto \\exp\\left(-\\lVert x_n - \\mu_k \\rVert^2 / 2\\sigma^2\\right),

which harden into k-means' nearest-centre assignment as :math:`\\sigma^2 \\to 0`
(k-means is the limit of this EM). :func:`shared_variance_params` builds that
mixture, so its E-step is :func:`gmm_core.e_step` itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from gmm_core._em import check_data, e_step
from gmm_core._params import GMMParams

KMeansPhase = Literal["init", "assign", "update"]


def kmeans_assign(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assignment half-step: the nearest centre of every point.

    Parameters
    ----------
    X : array_like, shape (N, D)
    centres : array_like, shape (K, D)

    Returns
    -------
    labels : ndarray of int, shape (N,)
        Index of the nearest centre (Euclidean); ties go to the lower index.
    sq_dist : ndarray, shape (N,)
        Squared distance of each point to its centre.
    """
    # scipy.cluster.vq.vq is the well-kept nearest-code-book search; imported here
    # because scipy.cluster pulls in scipy.spatial (~0.15 s of cold start).
    from scipy.cluster.vq import vq

    X = check_data(X)
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 2 or centres.shape[1] != X.shape[1] or centres.shape[0] < 1:
        raise ValueError(f"centres must have shape (K, {X.shape[1]}); got {centres.shape}.")
    labels, dist = vq(X, centres, check_finite=False)
    return labels.astype(np.intp), dist**2


def kmeans_update(X: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Update half-step: move every centre to the mean of its points.

    Parameters
    ----------
    X : array_like, shape (N, D)
    labels : array_like of int, shape (N,)
        Cluster of each point, in ``0 .. K-1``.
    centres : array_like, shape (K, D)
        The current centres; a centre with no points stays where it is (the
        mean of no points is undefined).

    Returns
    -------
    ndarray, shape (K, D)
    """
    X = check_data(X)
    centres = np.asarray(centres, dtype=np.float64)
    k = centres.shape[0]
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    # Sums per cluster by a scatter-add: exact, and O(N D) without an (N, K) matrix.
    sums = np.zeros_like(centres)
    np.add.at(sums, labels, X)
    out = centres.copy()
    has = counts > 0
    out[has] = sums[has] / counts[has, None]
    return out


def kmeans_inertia(X: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points (N, D) to their centres (K, D) under ``labels``."""
    X = check_data(X)
    diff = X - np.asarray(centres, dtype=np.float64)[np.asarray(labels)]
    return float(np.einsum("nd,nd->", diff, diff))


@dataclass(frozen=True)
class KMeansStep:
    """One state of a k-means run.

    Attributes
    ----------
    phase : {"init", "assign", "update"}
    iteration : int
        0 for the start.
    centres : ndarray, shape (K, D)
    labels : ndarray of int, shape (N,), or None
        The assignment shown (None before the first assignment).
    inertia : float
        Sum of squared distances to the assigned centres (nan before any assignment).
    """

    phase: KMeansPhase
    iteration: int
    centres: np.ndarray
    labels: np.ndarray | None
    inertia: float


def run_kmeans(X: np.ndarray, centres0: np.ndarray, max_iter: int = 100) -> tuple[KMeansStep, ...]:
    """Lloyd's k-means from ``centres0``, recording every half-step.

    Parameters
    ----------
    X : array_like, shape (N, D)
    centres0 : array_like, shape (K, D)
    max_iter : int, default 100
        Maximum number of assign-and-update iterations.

    Returns
    -------
    tuple of KMeansStep
        ``init, assign, update, assign, update, ...``; it ends on the assignment
        that changed no label (converged) or after ``max_iter`` iterations.
    """
    X = check_data(X)
    centres = np.asarray(centres0, dtype=np.float64).copy()
    steps = [KMeansStep("init", 0, centres, None, float("nan"))]
    labels = None
    for it in range(1, max_iter + 1):
        new_labels, sq = kmeans_assign(X, centres)
        steps.append(KMeansStep("assign", it, centres, new_labels, float(sq.sum())))
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels = new_labels
        centres = kmeans_update(X, labels, centres)
        steps.append(
            KMeansStep("update", it, centres, labels, kmeans_inertia(X, centres, labels))
        )
    return tuple(steps)


def shared_variance_params(means: np.ndarray, sigma2: float) -> GMMParams:
    """The mixture with the given means, equal weights and one shared variance.

    Parameters
    ----------
    means : array_like, shape (K, D)
    sigma2 : float
        Shared spherical variance :math:`\\sigma^2 > 0`: every covariance is
        :math:`\\sigma^2 I`.

    Returns
    -------
    GMMParams
        Weights :math:`1/K` (k-means has no weights: equal ones leave the
        nearest-centre rule unchanged).
    """
    means = np.asarray(means, dtype=np.float64)
    if not (np.isfinite(sigma2) and sigma2 > 0):
        raise ValueError(f"sigma2 must be a positive number; got {sigma2!r}.")
    k, d = means.shape
    return GMMParams(np.full(k, 1.0 / k), means, np.broadcast_to(sigma2 * np.eye(d), (k, d, d)))


def shared_variance_e_step(X: np.ndarray, means: np.ndarray, sigma2: float) -> np.ndarray:
    """Responsibilities (N, K) of :func:`shared_variance_params` for X (N, D), via e_step."""
    return e_step(X, shared_variance_params(means, sigma2))[0]


def shared_variance_m_step(X: np.ndarray, resp: np.ndarray, means: np.ndarray) -> np.ndarray:
    """M-step of the fixed-variance model: only the means move.

    .. math:: \\mu_k = \\sum_n \\gamma_{nk} x_n / \\sum_n \\gamma_{nk}

    Parameters
    ----------
    X : array_like, shape (N, D)
    resp : array_like, shape (N, K)
    means : array_like, shape (K, D)
        Current means; a component with no responsibility left keeps its mean.

    Returns
    -------
    ndarray, shape (K, D)
    """
    X = check_data(X)
    resp = np.asarray(resp, dtype=np.float64)
    out = np.asarray(means, dtype=np.float64).copy()
    nk = resp.sum(axis=0)
    # As in the full M-step, a component with (numerically) no points has no mean.
    has = nk > 1e-10
    out[has] = (resp.T @ X)[has] / nk[has, None]
    return out
