"""The pool of scratch memory reused between EM runs (gmm_core._memory).

Reused memory holds the last run's numbers; nothing of them may reach a result.
The oracle is a run made with the pool empty (fresh memory), and the textbook.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gmm_core
from gmm_core import _em, _memory, textbook
from gmm_core._params import GMMParams


def _data(n: int, seed: int) -> tuple[np.ndarray, GMMParams]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(5, 2))
    X = centres[rng.integers(5, size=n)] + rng.normal(size=(n, 2))
    cov = np.broadcast_to(np.cov(X.T, bias=True), (5, 2, 2))
    return X, GMMParams(np.full(5, 0.2), centres + rng.normal(size=(5, 2)), cov)


def _poison_pool() -> None:
    # Fill every idle buffer with NaN, as a run that left garbage behind would.
    with _memory._lock:
        for buf in _memory._free:
            buf.view(np.uint8)[:] = 0xFF  # all bits set: NaN in every float dtype


def test_reused_memory_never_reaches_a_result() -> None:
    X, p0 = _data(60_000, 0)  # large enough for spatial order, cells and float32 exps
    _memory.clear()
    fresh = gmm_core.run_em(X, p0, tol=0.0, max_iter=6)
    assert _memory.idle_bytes() > 0  # the run gave its buffers back
    _poison_pool()
    again = gmm_core.run_em(X, p0, tol=0.0, max_iter=6)
    assert _memory.idle_bytes() > 0
    np.testing.assert_array_equal(again.log_likelihoods, fresh.log_likelihoods)
    np.testing.assert_array_equal(again.final.params.covariances, fresh.final.params.covariances)
    # ... and both are EM: the first M-step matches the textbook's
    resp, _ = textbook.e_step(X, p0)
    expected = textbook.m_step(X, resp, "full", 1e-6)
    np.testing.assert_allclose(fresh.steps[2].params.means, expected.means, rtol=1e-7)


def test_concurrent_runs_do_not_share_buffers() -> None:
    X, p0 = _data(40_000, 1)
    Y, q0 = _data(50_000, 2)
    alone = [gmm_core.run_em(A, a0, tol=0.0, max_iter=4) for A, a0 in ((X, p0), (Y, q0))]
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda i: gmm_core.run_em(*((X, p0), (Y, q0))[i % 2], tol=0.0,
                                                       max_iter=4), range(8)))
    for i, run in enumerate(runs):
        np.testing.assert_array_equal(run.log_likelihoods, alone[i % 2].log_likelihoods)


def test_the_pool_keeps_at_most_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memory, "MAX_BYTES", 1 << 20)
    _memory.clear()
    lease = _memory.Lease()
    arrays = [lease.empty((64, 1024)) for _ in range(4)]  # 4 x 512 KiB
    assert all(a.shape == (64, 1024) and a.dtype == np.float64 for a in arrays)
    # distinct memory while leased
    for a in arrays:
        a[:] = 1.0
    arrays[0][:] = 2.0
    assert all(np.all(a == 1.0) for a in arrays[1:])
    lease.release()
    assert _memory.idle_bytes() <= 1 << 20
    small = _memory.Lease().empty(10, np.float32)  # small arrays bypass the pool
    assert small.shape == (10,)
    assert small.dtype == np.float32
    _memory.clear()
    assert _memory.idle_bytes() == 0


def test_no_thread_of_a_pass_outlives_a_failed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # A run that ends by an exception (one thread's error, or KeyboardInterrupt in the
    # waiting one) gives its buffers back to the pool: a thread of its pass still running
    # would go on writing into memory that the next run has taken. (Found by a SIGINT
    # during a pass: the next run's log-likelihoods were wrong in 9 runs out of 20.)
    X, p0 = _data(80_000, 3)
    Y, q0 = _data(80_000, 4)
    _memory.clear()
    monkeypatch.setattr(_em, "_THREADS", 2)  # two threads even on a one-core machine
    monkeypatch.setattr(_em, "_THREAD_MIN_ELEMENTS", 0)  # and at this size
    reference = gmm_core.run_em(Y, q0, tol=0.0, max_iter=30)  # (same split, same sums)
    executor = ThreadPoolExecutor(2, thread_name_prefix="gmm_core_test")
    monkeypatch.setattr(_em, "_executor", lambda: executor)
    real_sums, real_features = _em._pass_sums, _em._piece_features
    state = {"armed": True, "slow_done": False, "slept": False}
    started = threading.Event()

    def sums(*args, slot=0, **kwargs):  # type: ignore[no-untyped-def]
        if state["armed"] and slot == 0:
            started.wait(10)  # fails once the other thread is under way
            raise RuntimeError("a thread of the pass failed")
        if state["armed"]:
            started.set()
        out = real_sums(*args, slot=slot, **kwargs)
        state["slow_done"] = state["slow_done"] or state["armed"]
        return out

    def features(*args):  # type: ignore[no-untyped-def]
        # The other thread, slow: it holds its scratch buffers when the first one fails.
        if state["armed"] and not state["slept"] and threading.current_thread().name.startswith(
            "gmm_core_test"
        ):
            state["slept"] = True
            time.sleep(0.2)
        return real_features(*args)

    monkeypatch.setattr(_em, "_pass_sums", sums)
    monkeypatch.setattr(_em, "_piece_features", features)
    try:
        with pytest.raises(RuntimeError, match="a thread of the pass failed"):
            gmm_core.run_em(X, p0, tol=0.0, max_iter=4)
        assert state["slow_done"]  # the pass waited for its other thread
        state["armed"] = False
        again = gmm_core.run_em(Y, q0, tol=0.0, max_iter=30)  # takes the pool's buffers
    finally:
        executor.shutdown(wait=True)
    np.testing.assert_array_equal(again.log_likelihoods, reference.log_likelihoods)


def test_factors_kept_from_an_m_step_never_outlive_their_numbers() -> None:
    """The next pass reuses the Cholesky factors the M-step's check computed, for the same
    array; numpy lets an array's owner make it writable again, and then changed numbers
    must be factored anew (the oracle: the textbook on a fresh copy of the numbers)."""
    X, p0 = _data(2_000, 3)
    resp, _ = textbook.e_step(X, p0)
    params = gmm_core.m_step(X, resp, "full", 1e-6)  # its factors are kept for the next pass
    expected = textbook.log_likelihood(X, params)
    assert gmm_core.log_likelihood(X, params) == pytest.approx(expected, rel=1e-12)

    params.covariances.setflags(write=True)
    params.covariances[:] *= 4.0
    params.covariances.setflags(write=False)
    changed = GMMParams(params.weights, params.means, params.covariances.copy())
    assert gmm_core.log_likelihood(X, params) == pytest.approx(
        textbook.log_likelihood(X, changed), rel=1e-12)
    assert textbook.log_likelihood(X, changed) != pytest.approx(expected, rel=1e-3)
