"""run_em's stop hook and resume (issue 10, a fair share): a run stopped by ``should_stop``
and continued with ``resume=`` in any number of segments gives exactly the history of one
uninterrupted run, whatever the stopping rule decides from the log-likelihood sequence.

Oracle: the uninterrupted ``run_em`` (the segmented run must equal it bit for bit), and
counting: the hook is asked once before each iteration.
"""

from __future__ import annotations

import numpy as np
import pytest

from gmm_core import EMHistory, GMMParams, datasets, initialize, run_em


def _stop_after(n_calls: int):
    """A should_stop that lets ``n_calls`` iterations run, then says stop (and counts)."""
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > n_calls

    should_stop.calls = calls  # type: ignore[attr-defined]
    return should_stop


def _assert_same(a: EMHistory, b: EMHistory) -> None:
    assert len(a.steps) == len(b.steps)
    for sa, sb in zip(a.steps, b.steps, strict=True):
        assert (sa.phase, sa.iteration) == (sb.phase, sb.iteration)
        assert sa.log_likelihood == sb.log_likelihood or (
            np.isnan(sa.log_likelihood) and np.isnan(sb.log_likelihood))
        for x, y in ((sa.params.weights, sb.params.weights), (sa.params.means, sb.params.means),
                     (sa.params.covariances, sb.params.covariances)):
            np.testing.assert_array_equal(x, y)
    assert (a.stop_reason, a.converged, a.n_iter, a.twins) == (
        b.stop_reason, b.converged, b.n_iter, b.twins)
    np.testing.assert_array_equal([a.last_gain, a.expected_gain],
                                  [b.last_gain, b.expected_gain])
    assert (a.collapse is None) == (b.collapse is None)
    if a.collapse is not None:
        assert a.collapse.component == b.collapse.component


def _segmented(X: np.ndarray, params0: GMMParams, segments: list[int], **kw) -> EMHistory:
    """The run computed ``segments[0]`` iterations at a time, then ``segments[1]``, ..."""
    history = None
    i = 0
    while history is None or history.stop_reason == "stopped":
        size = segments[min(i, len(segments) - 1)]
        history = run_em(X, params0, should_stop=_stop_after(size), resume=history, **kw)
        i += 1
    return history


def _start(X: np.ndarray, k: int, seed: int, method: str = "random_from_data",
           cov: str = "full", reg: float = 1e-6) -> GMMParams:
    return initialize(X, k, method, np.random.default_rng(seed), covariance_type=cov,
                      reg_covar=reg)


CASES = [
    # (data set, K, covariance, rule, tol, max_iter, seed, reg_covar)
    ("old_faithful", 2, "full", "aitken", 1e-3, 300, 0, 1e-6),      # a long plateau first
    ("old_faithful", 2, "full", "loglik_change", 1e-7, 300, 0, 1e-6),
    ("blobs", 3, "diag", "aitken", 1e-3, 300, 3, 1e-6),
    ("galaxies", 3, "full", "aitken", 1e-6, 25, 1, 1e-6),          # ends at max_iter
    ("three_gaussians_1d", 3, "tied", "aitken", 1e-3, 300, 5, 1e-6),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[3]}-{c[5]}" for c in CASES])
@pytest.mark.parametrize("segments", [[1], [2, 5], [7], [0, 3, 11]])
def test_segmented_run_equals_one_uninterrupted_run(case, segments) -> None:
    name, k, cov, rule, tol, max_iter, seed, reg = case
    X = datasets.load(name).X
    params0 = _start(X, k, seed, cov=cov, reg=reg)
    kw = {"covariance_type": cov, "rule": rule, "tol": tol, "max_iter": max_iter,
          "reg_covar": reg}
    whole = run_em(X, params0, **kw)
    assert whole.n_iter > 3  # a run long enough to be cut
    _assert_same(_segmented(X, params0, segments, **kw), whole)


def test_segmented_run_ending_in_a_collapse() -> None:
    # reg_covar = 0 and a component started on two points: it collapses onto one.
    X = np.concatenate([np.random.default_rng(0).normal(size=(60, 1)), [[8.0], [8.0 + 1e-9]]])
    params0 = GMMParams(np.array([0.48, 0.48, 0.04]), np.array([[-0.5], [0.5], [8.0]]),
                        np.array([[[1.0]], [[1.0]], [[0.01]]]))
    kw = {"covariance_type": "full", "reg_covar": 0.0, "tol": 1e-6, "max_iter": 200}
    whole = run_em(X, params0, **kw)
    assert whole.stop_reason == "collapse"
    _assert_same(_segmented(X, params0, [1], **kw), whole)


def test_large_data_threaded_pass_resumes_exactly() -> None:
    # N x K above the single-precision / threaded pass's threshold (2**18 elements).
    X = datasets.load("blobs", n_samples=60_000, n_clusters=5, separation=0.5).X
    params0 = _start(X, 5, 2, method="kmeans++")
    kw = {"tol": 1e-9, "max_iter": 12}
    _assert_same(_segmented(X, params0, [4], **kw), run_em(X, params0, **kw))


def test_should_stop_is_asked_once_per_iteration() -> None:
    X = datasets.load("old_faithful").X
    params0 = _start(X, 2, 0)
    counter = _stop_after(10**9)
    history = run_em(X, params0, should_stop=counter)
    assert history.stop_reason == "converged"
    assert counter.calls["n"] == history.n_iter


def test_a_stopped_run_is_a_prefix_that_says_so() -> None:
    X = datasets.load("old_faithful").X
    params0 = _start(X, 2, 0)
    whole = run_em(X, params0)
    part = run_em(X, params0, should_stop=_stop_after(4))
    assert part.stop_reason == "stopped"
    assert not part.converged
    assert part.n_iter == 4
    assert [s.phase for s in part.steps] == ["init"] + ["E", "M"] * 4
    np.testing.assert_array_equal(part.log_likelihoods, whole.log_likelihoods[: len(part)])
    # Stopped before the first iteration: the start alone.
    assert len(run_em(X, params0, should_stop=lambda: True).steps) == 1


def test_resume_refuses_another_run_and_returns_an_ended_one() -> None:
    X = datasets.load("old_faithful").X
    params0 = _start(X, 2, 0)
    part = run_em(X, params0, should_stop=_stop_after(3))
    with pytest.raises(ValueError, match="same data, starting parameters and settings"):
        run_em(X, params0, tol=1e-5, resume=part)
    with pytest.raises(ValueError, match="same data, starting parameters and settings"):
        run_em(X, _start(X, 2, 1), resume=part)
    with pytest.raises(ValueError, match="more than max_iter"):
        run_em(X, params0, max_iter=2, resume=part)
    whole = run_em(X, params0)
    assert run_em(X, params0, resume=whole) is whole
