"""The "kmeans" initialisation stops where scikit-learn's KMeans stops.

Oracles: scikit-learn's ``KMeans`` (Lloyd, tol=1e-4, from the same seeds) and a plain
numpy Lloyd loop run to its fixed point, written here.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from gmm_core import initialize
from gmm_core._init import _kmeans_labels, _kmeans_plus_plus


def overlapping_blobs(seed: int, n: int = 5000, d: int = 4, k: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(k, d))
    return centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def lloyd_iterations_to_fixed_point(x: np.ndarray, centres: np.ndarray) -> int:
    """Plain Lloyd until no label changes; the number of assignments that changed labels."""
    labels = None
    for it in range(1000):
        new = np.argmin(((x[:, None, :] - centres) ** 2).sum(axis=2), axis=1)
        if labels is not None and np.array_equal(labels, new):
            return it
        labels = new
        centres = np.array([x[labels == j].mean(axis=0) for j in range(len(centres))])
    raise AssertionError("no fixed point")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_labels_are_sklearn_kmeans_labels(seed):
    x = overlapping_blobs(seed)
    seeds = x[np.random.default_rng(seed).choice(x.shape[0], 6, replace=False)]
    theirs = KMeans(6, init=seeds, n_init=1, algorithm="lloyd", tol=1e-4).fit(x)
    # The case stops by the tolerance, well before the labels stop changing: the
    # tolerance branch (and the final assignment to the final centres) is what is tested.
    assert theirs.n_iter_ < lloyd_iterations_to_fixed_point(x, seeds)
    np.testing.assert_array_equal(_kmeans_labels(x, seeds), theirs.labels_)


def test_kmeans_init_means_are_the_means_of_sklearn_clusters():
    x = overlapping_blobs(3)
    seeds = x[_kmeans_plus_plus(x, 6, np.random.default_rng(11))]
    labels = KMeans(6, init=seeds, n_init=1, algorithm="lloyd", tol=1e-4).fit(x).labels_
    params = initialize(x, 6, "kmeans", np.random.default_rng(11), reg_covar=0.0)
    for j in range(6):
        members = x[labels == j]
        np.testing.assert_allclose(params.means[j], members.mean(axis=0), rtol=1e-10)
        np.testing.assert_allclose(params.covariances[j], np.cov(members.T, bias=True),
                                   rtol=1e-9)
        assert params.weights[j] == pytest.approx(members.shape[0] / x.shape[0], rel=1e-12)


def test_kmeans_labels_at_a_fixed_point_are_returned_as_is():
    """Well-separated blobs: Lloyd reaches its fixed point before the tolerance stops it."""
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(c, 0.1, size=(50, 2)) for c in ((0, 0), (5, 0), (0, 5))])
    seeds = x[[0, 50, 100]]
    labels = _kmeans_labels(x, seeds)
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 50))
