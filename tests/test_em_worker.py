"""The worker process of large runs (issue 10): it computes what the server would, and a
stop asked by the caller ends its job at once. Oracle: ``gmm_core.run_em`` in this process."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from gmm_app import em_worker
from gmm_core import datasets, initialize, run_em


def _job(X: np.ndarray, before=None, iterations: int = 10**6, seconds: float = 60.0,
         init: str = "random_from_data", k: int = 2) -> em_worker.Job:
    return em_worker.Job(X, k, init, 0, (), "full", 1e-6, 1e-3, 300, "aitken", before,
                         iterations, seconds)


@pytest.fixture(scope="module")
def worker():
    w = em_worker.Worker()
    yield w
    w.end()


def test_the_worker_computes_the_run_in_pieces_exactly(worker) -> None:
    X = datasets.load("old_faithful").X
    whole = run_em(X, initialize(X, 2, "random_from_data", np.random.default_rng(0),
                                 covariance_type="full", reg_covar=1e-6))
    part = worker.run(_job(X, iterations=5), lambda: False)
    assert part.stop_reason == "stopped"
    assert part.n_iter == 5
    rest = worker.run(_job(X, before=part), lambda: False)
    assert rest.stop_reason == whole.stop_reason == "converged"
    np.testing.assert_array_equal(rest.log_likelihoods, whole.log_likelihoods)
    for a, b in zip(rest.steps, whole.steps, strict=True):
        np.testing.assert_array_equal(a.params.covariances, b.params.covariances)


def test_a_start_that_cannot_be_made_is_a_sentence(worker) -> None:
    X = np.zeros((5, 2))
    got = worker.run(_job(X, k=3), lambda: False)
    assert isinstance(got, str)
    assert got.startswith("EM could not start:")


def test_a_stop_returns_the_part_computed(worker) -> None:
    # Short iterations (~5 ms; 1,000 of them take seconds): it stops by itself in the grace.
    X = datasets.load("blobs", n_samples=50_000, n_clusters=5, separation=0.0).X
    job = em_worker.Job(X, 5, "random_from_data", 0, (), "full", 1e-6, 1e-12, 1000, "aitken",
                        None, 10**6, 60.0)
    asked = time.monotonic()
    with pytest.raises(em_worker.Stopped) as stopped:
        worker.run(job, lambda: time.monotonic() - asked > 2.0)
    part = stopped.value.args[0]
    assert part is not None
    assert part.stop_reason == "stopped"
    # It goes on from there (the worker lives on).
    more = worker.run(dataclasses.replace(job, before=part, iterations=1), lambda: False)
    assert more.n_iter == part.n_iter + 1
    np.testing.assert_array_equal(more.log_likelihoods[: len(part)], part.log_likelihoods)


def test_a_job_that_does_not_stop_in_its_grace_is_ended(worker, monkeypatch) -> None:
    # No grace at all: the worker is ended at the first stop request, whatever the job is
    # doing (on a fast machine the job might otherwise stop by itself within the grace).
    monkeypatch.setattr(em_worker, "STOP_GRACE_S", 0.0)
    X = datasets.load("blobs", n_samples=50_000, n_clusters=5, separation=0.0).X
    job = em_worker.Job(X, 5, "random_from_data", 0, (), "full", 1e-6, 1e-12, 1000, "aitken",
                        None, 10**6, 60.0)  # seconds of ~5 ms iterations
    asked = time.monotonic()
    with pytest.raises(em_worker.Stopped) as stopped:
        worker.run(job, lambda: time.monotonic() - asked > 0.5)
    assert stopped.value.args[0] is None
    assert time.monotonic() - asked < 0.5 + 6.0  # kill + join
    assert worker.pid is None
    # The next job starts a new worker.
    Y = datasets.load("old_faithful").X
    assert worker.run(_job(Y, iterations=2), lambda: False).n_iter == 2
    assert worker.pid is not None


def test_a_job_failing_in_the_worker_raises_and_the_worker_lives_on(worker) -> None:
    # Not a ValueError (here a TypeError; on a server, e.g. MemoryError): the caller must not
    # get a sentence it would keep as the run's outcome for every session.
    X = datasets.load("old_faithful").X
    assert worker.run(_job(X, iterations=1), lambda: False).n_iter == 1
    pid = worker.pid
    with pytest.raises(RuntimeError, match="TypeError"):
        worker.run(dataclasses.replace(_job(X), n_components=None), lambda: False)
    assert worker.pid == pid
    assert worker.run(_job(X, iterations=2), lambda: False).n_iter == 2
