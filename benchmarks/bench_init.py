"""The "kmeans" initialisation against scikit-learn's KMeans, side by side.

Run: ``python benchmarks/bench_init.py`` on a quiet machine. Both start from the same
k-means++ seeds: ``gmm_core.initialize(X, K, "kmeans", rng)`` (seeding, Lloyd's k-means,
the M-step of its labels) against ``sklearn.cluster.KMeans(init=seeds, n_init=1)`` (Lloyd
only, its default tol=1e-4). The labels must agree: gmm_core follows scikit-learn's
stopping rule. Also shown: the Lloyd iterations a run to the labels' fixed point takes
(the rule gmm_core used before), counted with scipy's ``kmeans2`` one iteration at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.cluster.vq import kmeans2  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

import gmm_core  # noqa: E402
from gmm_core._init import _kmeans_plus_plus  # noqa: E402


def make_data(n: int, d: int, k: int, separation: float, seed: int) -> np.ndarray:
    """N points from K unit Gaussians whose centres are N(0, separation^2) in D dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=separation, size=(k, d))
    return centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def to_fixed_point(x: np.ndarray, seeds: np.ndarray) -> int:
    """Lloyd iterations until no label changes (scipy's kmeans2, one iteration per call)."""
    centroids, labels = seeds, None
    for it in range(1, 1001):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            centroids, new = kmeans2(x, centroids, iter=1, minit="matrix")
        if labels is not None and np.array_equal(labels, new):
            return it
        labels = new
    return 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n, d, k = 200_000, 10, 10
    print(f"{n:,} points, D = {d}, K = {k}; median of {args.repeats} runs, alternately; "
          f"{os.cpu_count()} cores")
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    print(f"{'centres spread':>14} | {'gmm_core s':>10} {'sklearn s':>10} {'ratio':>6} | "
          f"{'sklearn its':>11} {'fixed point its':>15} | labels agree")
    for separation in (3.0, 1.0):
        x = make_data(n, d, k, separation, seed=1)
        seeds = x[_kmeans_plus_plus(x, k, np.random.default_rng(0))]
        ours_t, sk_t = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            params = gmm_core.initialize(x, k, "kmeans", np.random.default_rng(0))
            ours_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            km = KMeans(k, init=seeds, n_init=1, algorithm="lloyd").fit(x)
            sk_t.append(time.perf_counter() - t0)
        # gmm_core's means are the means of its k-means clusters: compare with sklearn's.
        sk_means = np.array([x[km.labels_ == j].mean(axis=0) for j in range(k)])
        agree = np.allclose(params.means, sk_means, rtol=1e-10, atol=1e-12)
        a, b = statistics.median(ours_t), statistics.median(sk_t)
        print(f"{separation:>14.1f} | {a:>10.3f} {b:>10.3f} {a / b:>6.2f} | {km.n_iter_:>11} "
              f"{to_fixed_point(x, seeds):>15} | {agree}")
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
