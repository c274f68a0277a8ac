"""Starting parameters for EM.

EM only climbs to the nearest local maximum of the likelihood, so where it
starts decides where it ends. Each method here returns a full
:class:`GMMParams`; those that only choose means start with equal weights
:math:`1/K` and the data's own covariance (shaped for the covariance type),
which is wide enough that the first E-step gives every component some points.
"""

from __future__ import annotations

import warnings
from typing import Literal, get_args

import numpy as np

from gmm_core._em import check_data, m_step
from gmm_core._params import CovarianceType, GMMParams, check_covariance_type

InitMethod = Literal["random_from_data", "kmeans++", "kmeans", "random_resp", "manual"]
INIT_METHODS: tuple[str, ...] = get_args(InitMethod)

# Lloyd iterations of k-means before giving up on convergence, and its tolerance: the
# squared distances the centres moved in one iteration, summed, relative to the data's mean
# variance (scikit-learn's KMeans defaults, max_iter=300 and tol=1e-4, so that
# GaussianMixture's init_params="kmeans" starts where scikit-learn's does). Waiting for
# the labels to stop changing instead took 150 iterations on 200,000 x 10 points in ten
# well-separated blobs (3.5 s), where the centres had stopped moving after 10 (0.27 s):
# the last iterations only trade a few points between overlapping clusters.
_KMEANS_MAX_ITER = 300
_KMEANS_TOL = 1e-4


def data_covariances(
    X: np.ndarray, n_components: int, covariance_type: CovarianceType, reg_covar: float
) -> np.ndarray:
    """The data's covariance shaped for ``covariance_type``, one copy per component.

    Parameters
    ----------
    X : ndarray, shape (N, D)

    Returns
    -------
    ndarray, shape (K, D, D)
        Biased covariance :math:`\\frac1N \\sum_n (x_n - \\bar x)(x_n - \\bar x)^\\top`
        (its diagonal for "diag", its mean variance times I for "spherical")
        plus ``reg_covar`` on the diagonal.
    """
    d = X.shape[1]
    diff = X - X.mean(axis=0)
    cov = diff.T @ diff / X.shape[0]
    if covariance_type == "diag":
        cov = np.diag(np.diag(cov))
    elif covariance_type == "spherical":
        cov = np.trace(cov) / d * np.eye(d)
    cov = cov + reg_covar * np.eye(d)
    return np.broadcast_to(cov, (n_components, d, d)).copy()


def _starting_covariances(
    X: np.ndarray, n_components: int, covariance_type: CovarianceType, reg_covar: float
) -> np.ndarray:
    """:func:`data_covariances`, refusing a singular start with a message saying what to do."""
    cov = data_covariances(X, n_components, covariance_type, reg_covar)
    if np.linalg.eigvalsh(cov[0])[0] <= 0:
        raise ValueError(
            "The data have no spread in at least one direction (a constant column, or a "
            "single distinct point), so with reg_covar = 0 every component would start "
            "singular. Set reg_covar above 0, or drop that column."
        )
    return cov


def _distinct_count(X: np.ndarray, enough: int) -> int:
    """The number of distinct points (rows) of X, or a number >= ``enough`` if there are
    at least that many.

    Counting them all sorts every row (0.4 s at 200,000 x 10); the first rows nearly
    always hold ``enough`` distinct ones, so those are counted first.
    """
    head = np.unique(X[: 4 * enough], axis=0).shape[0]
    if head >= enough or 4 * enough >= X.shape[0]:
        return int(head)
    return int(np.unique(X, axis=0).shape[0])


def _kmeans_plus_plus(X: np.ndarray, n_components: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii, 2007): indices of K data points.

    The first seed is uniform; each next one is drawn with probability
    proportional to the squared distance to the nearest seed so far, so seeds
    spread out over the data. Duplicated points have distance 0 and are never
    drawn twice.
    """
    n = X.shape[0]
    chosen = [int(rng.integers(n))]
    d2 = np.einsum("ij,ij->i", X - X[chosen[0]], X - X[chosen[0]])
    for _ in range(1, n_components):
        total = d2.sum()
        idx = int(rng.choice(n, p=d2 / total))
        chosen.append(idx)
        diff = X - X[idx]
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return np.array(chosen)


def _kmeans_labels(X: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Lloyd's k-means from ``seeds`` (K, D); returns the labels (N,) of the final centres.

    Stops when no label changes (a fixed point), when the centres' squared moves in one
    iteration sum to at most ``_KMEANS_TOL`` times the data's mean variance, or after
    ``_KMEANS_MAX_ITER`` iterations (scikit-learn's KMeans rule); in the last two cases
    the points are assigned once more, to the final centres. The labels are scikit-learn's
    (Lloyd, same seeds) as long as no cluster empties: scipy's ``kmeans2`` keeps an empty
    cluster's centre where scikit-learn moves it to far points, and the caller refuses an
    empty cluster with a message (k-means++ seeds never start one empty).
    """
    # Imported here: scipy.cluster pulls in scipy.spatial (~0.15 s), which only this
    # initialisation needs; the app's cold start pays it only if k-means is chosen.
    from scipy.cluster.vq import kmeans2, vq

    tol = _KMEANS_TOL * float(np.mean(np.var(X, axis=0)))
    centroids, labels = seeds, None
    for _ in range(_KMEANS_MAX_ITER):
        with warnings.catch_warnings():
            # kmeans2 warns when a cluster empties (it keeps its centre); emptiness is
            # checked by the caller.
            warnings.simplefilter("ignore", UserWarning)
            # One Lloyd iteration: labels of the old centres, new centres their means.
            new_centroids, new_labels = kmeans2(X, centroids, iter=1, minit="matrix")
        if labels is not None and np.array_equal(labels, new_labels):
            return new_labels  # a fixed point: the centres are the means of these labels
        shift = float(((new_centroids - centroids) ** 2).sum())
        centroids, labels = new_centroids, new_labels
        if shift <= tol:
            break
    return vq(X, centroids, check_finite=False)[0].astype(np.intp)


def _hard_resp(labels: np.ndarray, n_components: int) -> np.ndarray:
    resp = np.zeros((labels.size, n_components))
    resp[np.arange(labels.size), labels] = 1.0
    return resp


def initialize(
    X: np.ndarray,
    n_components: int,
    method: InitMethod,
    rng: np.random.Generator,
    *,
    means: np.ndarray | None = None,
    covariance_type: CovarianceType = "full",
    reg_covar: float = 1e-6,
) -> GMMParams:
    """Starting parameters for EM.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
        K >= 1.
    method : {"random_from_data", "kmeans++", "kmeans", "random_resp", "manual"}
        ``"random_from_data"``: K distinct data points, uniformly, as means.
        ``"kmeans++"``: k-means++ seeding (spread-out data points) as means.
        ``"kmeans"``: k-means (scipy's ``kmeans2``) from k-means++ seeds until
        its labels stop changing or its centres stop moving (scikit-learn's rule,
        see ``_KMEANS_TOL``), then the M-step of its hard labels (weights, means
        and covariances of the clusters).
        ``"random_resp"``: uniform random responsibilities, then an M-step.
        ``"manual"``: the given ``means``.
    rng : numpy.random.Generator
        The only source of randomness.
    means : array_like, shape (K, D), optional
        Required for ``"manual"``.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float, default 1e-6

    Returns
    -------
    GMMParams

    Raises
    ------
    ValueError
        With a message saying what to change (e.g. fewer distinct points than K).
    """
    X = check_data(X)
    covariance_type = check_covariance_type(covariance_type)
    if method not in INIT_METHODS:
        raise ValueError(f"method must be one of {', '.join(INIT_METHODS)}; got {method!r}.")
    n, d = X.shape
    k = int(n_components)
    if k < 1:
        raise ValueError(f"n_components must be at least 1; got {n_components}.")
    if method != "manual" and k > n:
        raise ValueError(f"n_components = {k} is more than the {n} data points; lower K.")
    weights = np.full(k, 1.0 / k)

    if method == "manual":
        if means is None:
            raise ValueError('method="manual" needs means of shape (K, D).')
        means = np.asarray(means, dtype=np.float64)
        if means.shape != (k, d):
            raise ValueError(f"means must have shape ({k}, {d}); got {means.shape}.")
        return GMMParams(weights, means, _starting_covariances(X, k, covariance_type, reg_covar))

    if method in ("random_from_data", "kmeans++", "kmeans"):
        distinct = _distinct_count(X, k) if k > 1 else 1
        if distinct < k:
            raise ValueError(
                f"The data have only {distinct} distinct point(s), fewer than K = {k} "
                "components: lower K, or use random_resp / manual initialisation."
            )

    if method == "random_from_data":
        unique = np.unique(X, axis=0)
        chosen = unique[rng.choice(unique.shape[0], size=k, replace=False)]
        return GMMParams(weights, chosen, _starting_covariances(X, k, covariance_type, reg_covar))

    if method == "kmeans++":
        seeds = X[_kmeans_plus_plus(X, k, rng)]
        return GMMParams(weights, seeds, _starting_covariances(X, k, covariance_type, reg_covar))

    if method == "kmeans":
        labels = _kmeans_labels(X, X[_kmeans_plus_plus(X, k, rng)])
        counts = np.bincount(labels, minlength=k)
        if np.any(counts == 0):
            raise ValueError(
                f"k-means left component {int(np.argmin(counts)) + 1} without points; "
                "try another seed or fewer components."
            )
        resp = _hard_resp(labels, k)
    else:  # random_resp
        resp = rng.random((n, k))
        resp /= resp.sum(axis=1, keepdims=True)
    return m_step(X, resp, covariance_type, reg_covar)
