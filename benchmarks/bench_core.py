"""Seconds per EM iteration and peak memory: gmm_core against scikit-learn, side by side.

Run: ``python benchmarks/bench_core.py`` (add ``--quick`` for a smaller run).

Both libraries start from the same parameters on the same 2-D data with full
covariances. One "iteration" is one E-step plus one M-step:

* gmm_core: the fused pass that :func:`gmm_core.run_em` performs per iteration;
* scikit-learn: ``_e_step`` followed by ``_m_step`` on a ``GaussianMixture``
  (the body of its ``fit`` loop, without the initialisation).

Time is the median over repeats (wall clock, single process; the two libraries
alternate, so that load from other processes falls on both alike); peak memory is
the peak of Python/NumPy allocations traced by ``tracemalloc`` during one
iteration, the data themselves excluded. The log-likelihoods of both after the
same number of iterations are compared.

Targets (issue 2): gmm_core >= 4x faster per iteration, <= 1/2 the peak memory,
log-likelihood equal to 1e-8 relative.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.mixture import GaussianMixture as SkGaussianMixture  # noqa: E402

from gmm_core import GMMParams  # noqa: E402
from gmm_core._em import _centre_and_extent, _em_pass  # noqa: E402


def make_data(n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, GMMParams]:
    """N points from K well-separated 2-D Gaussians, and a perturbed start."""
    centres = rng.uniform(-20, 20, size=(k, 2))
    labels = rng.integers(k, size=n)
    a = rng.normal(size=(k, 2, 2)) * 0.7
    X = centres[labels] + np.einsum("nij,nj->ni", a[labels], rng.normal(size=(n, 2)))
    cov0 = np.broadcast_to(np.cov(X.T, bias=True), (k, 2, 2))
    means0 = centres + rng.normal(scale=1.0, size=(k, 2))
    return X, GMMParams(np.full(k, 1.0 / k), means0, cov0)


def sklearn_model(X: np.ndarray, p0: GMMParams) -> SkGaussianMixture:
    gm = SkGaussianMixture(
        p0.n_components,
        covariance_type="full",
        weights_init=p0.weights,
        means_init=p0.means,
        precisions_init=np.linalg.inv(p0.covariances),
        max_iter=1,
        tol=0.0,
        init_params="random",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X[: max(p0.n_components * 10, 100)])  # allocate attributes cheaply
    # Restart from exactly p0 on the full data.
    gm._initialize(X, np.full((X.shape[0], p0.n_components), 1.0 / p0.n_components))
    gm.weights_ = p0.weights.copy()
    gm.means_ = p0.means.copy()
    gm.covariances_ = p0.covariances.copy()
    gm.precisions_cholesky_ = np.linalg.cholesky(np.linalg.inv(p0.covariances))
    return gm


def sk_iteration(gm: SkGaussianMixture, X: np.ndarray) -> float:
    log_prob_norm, log_resp = gm._e_step(X)
    gm._m_step(X, log_resp)
    return float(log_prob_norm) * X.shape[0]


def ours_iteration(state: dict, X: np.ndarray) -> float:
    ll, new, _ = _em_pass(X, state["params"], state["centre"], state["extent"], "full", 1e-6)
    state["params"] = new
    return ll


def timed_pair(fn_a, fn_b, repeats: int) -> tuple[float, float]:
    """Median seconds of ``fn_a`` and ``fn_b``, run alternately so that load from other
    processes on a shared machine falls on both alike."""
    times_a, times_b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, times_a), (fn_b, times_b)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times_a), statistics.median(times_b)


def peak_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def bench(n: int, k: int, repeats: int, n_iter_check: int) -> dict:
    rng = np.random.default_rng(12345)
    X, p0 = make_data(n, k, rng)

    centre, extent = _centre_and_extent(X)
    state = {"params": p0, "centre": centre, "extent": extent}
    gm = sklearn_model(X, p0)

    # Log-likelihoods along the same iterations from the same start.
    ll_ours = [ours_iteration(state, X) for _ in range(n_iter_check)]
    ll_sk = [sk_iteration(gm, X) for _ in range(n_iter_check)]
    rel = max(abs(a - b) / abs(b) for a, b in zip(ll_ours, ll_sk, strict=True))

    # Time and memory (state keeps moving along EM; every iteration costs the same).
    t_ours, t_sk = timed_pair(
        lambda: ours_iteration(state, X), lambda: sk_iteration(gm, X), repeats
    )
    m_ours = peak_bytes(lambda: ours_iteration(state, X))
    m_sk = peak_bytes(lambda: sk_iteration(gm, X))
    return {
        "n": n, "k": k, "t_ours": t_ours, "t_sk": t_sk, "m_ours": m_ours, "m_sk": m_sk,
        "rel": rel, "iters": n_iter_check,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    cases = [(100_000, 5), (1_000_000, 10)] if not args.quick else [(20_000, 5), (100_000, 10)]
    repeats = 5 if args.quick else 11

    import sklearn

    print(f"numpy {np.__version__}, scikit-learn {sklearn.__version__}; 2-D data, full "
          f"covariance; median of {repeats} iterations")
    header = (
        f"{'N':>9} {'K':>3} | {'gmm_core s/it':>13} {'sklearn s/it':>12} {'speed-up':>8} | "
        f"{'gmm_core MiB':>12} {'sklearn MiB':>11} {'mem ratio':>9} | {'max rel LL diff':>15}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for n, k in cases:
        r = bench(n, k, repeats, n_iter_check=5)
        speed = r["t_sk"] / r["t_ours"]
        mem = r["m_ours"] / r["m_sk"]
        ok &= speed >= 4 and mem <= 0.5 and r["rel"] <= 1e-8
        print(f"{n:>9,} {k:>3} | {r['t_ours']:>13.4f} {r['t_sk']:>12.4f} {speed:>7.1f}x | "
              f"{r['m_ours'] / 2**20:>12.1f} {r['m_sk'] / 2**20:>11.1f} {mem:>9.3f} | "
              f"{r['rel']:>15.2e}")
    print(f"(log-likelihoods compared over the first {r['iters']} iterations from the same start)")
    print("targets: speed-up >= 4x, memory ratio <= 0.5, rel LL diff <= 1e-8 ->",
          "MET" if ok else "NOT MET")


if __name__ == "__main__":
    main()
