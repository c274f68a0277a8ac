"""Large EM runs computed in a separate, low-priority process (issue 10, a fair share).

One Streamlit process runs every session's Python on one interpreter: a large EM run in a
script thread takes the interpreter lock between its numpy calls and its threads take both
cores, so everyone else's clicks slowed ~3x while one visitor's run computed (measured with
``benchmarks/bench_load.py --abuse``). Runs above ``HEAVY_RUN_WORK`` are therefore computed
in one worker process at a lower scheduling priority (``os.nice``): the operating system
gives the server's own threads the CPU first, and a run can be stopped at once, even inside
an initialisation that has no stop hook, by ending the process (a new one starts when the
next large run needs it).

The worker imports only numpy and :mod:`gmm_core` (not Streamlit). Jobs travel over a pipe:
plain values in, an :class:`gmm_core.EMHistory` (parameters only) or an error sentence out.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

WORKER_NICE = 10
"""How much lower the worker's scheduling priority is than the server's (0..19)."""
STOP_GRACE_S = 1.0
"""After a stop is asked, the worker has this long to stop by itself (one iteration) before
it is ended."""


@dataclass(frozen=True)
class Job:
    """One piece of a run: its start (from the settings) or ``before`` continued.

    Attributes mirror :class:`gmm_app.declared.RunSpec` (the run) and the piece's budget.
    """

    X: np.ndarray
    n_components: int
    init_method: str
    seed: int
    manual_means: tuple
    covariance_type: str
    reg_covar: float
    tol: float
    max_iter: int
    rule: str
    before: Any  # EMHistory | None
    iterations: int
    seconds: float


def compute(job: Job, stop: Callable[[], bool]) -> Any:
    """Run ``job`` (in whatever process calls it): an EMHistory, or a ``str`` saying why EM
    could not start. ``stop()`` is asked once per iteration, with the piece's own budget."""
    from gmm_core import initialize, run_em

    deadline = time.monotonic() + job.seconds
    asked = 0

    def should_stop() -> bool:
        nonlocal asked
        asked += 1
        if stop():
            return True
        # The clock is read from the second iteration on: every piece makes progress.
        return asked > job.iterations or (asked > 1 and time.monotonic() > deadline)

    try:
        if job.before is not None:
            params0 = job.before.steps[0].params
        else:
            params0 = initialize(
                job.X, job.n_components, job.init_method, np.random.default_rng(job.seed),
                means=np.asarray(job.manual_means, dtype=float)
                if job.init_method == "manual" else None,
                covariance_type=job.covariance_type, reg_covar=job.reg_covar,
            )
        return run_em(
            job.X, params0, covariance_type=job.covariance_type, reg_covar=job.reg_covar,
            tol=job.tol, max_iter=job.max_iter, rule=job.rule, should_stop=should_stop,
            resume=job.before,
        )
    except ValueError as err:  # includes ComponentCollapseError
        return f"EM could not start: {err}"


def _serve(conn: Any, cancel: Any) -> None:  # pragma: no cover - runs in the worker process
    """The worker's loop: one job at a time from ``conn``; ``cancel`` set = stop the job."""
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the server went away
            return
        try:
            result = compute(job, cancel.is_set)
        except Exception as err:  # e.g. MemoryError: said on the page, the worker lives on
            result = f"EM could not run: {type(err).__name__}: {err}"
        conn.send(result)


class Stopped(Exception):
    """The job was stopped by its caller (its session went away) before it ended."""


class Worker:
    """One worker process, started on first use and again after it was ended; one job at a
    time (callers hold a slot: ``HEAVY_RUN_SLOTS`` is 1)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None
        self._cancel: Any = None

    def _ensure(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._cancel = ctx.Event()
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, self._cancel), daemon=True,
                                    name="gmm-em-worker")
        self._process.start()
        child.close()

    @property
    def pid(self) -> int | None:
        """The worker's process id (None before the first large run)."""
        return None if self._process is None else self._process.pid

    def run(self, job: Job, stop_requested: Callable[[], bool]) -> Any:
        """``compute(job)`` in the worker; polls ``stop_requested()`` every 0.1 s and on True
        stops the job (ending the worker if it does not stop within :data:`STOP_GRACE_S`),
        then raises :class:`Stopped` with the part computed (or None) as its argument."""
        with self._lock:
            self._ensure()
            self._cancel.clear()
            self._conn.send(job)
            while not self._conn.poll(0.1):
                if not self._process.is_alive():
                    raise RuntimeError("the EM worker process ended unexpectedly")
                if stop_requested():
                    self._cancel.set()
                    if self._conn.poll(STOP_GRACE_S):
                        raise Stopped(self._conn.recv())
                    self._end()
                    raise Stopped(None)
            return self._conn.recv()

    def end(self) -> None:
        """End the idle worker process (its memory returns; a new one starts for the next
        job). A worker computing a job is left alone."""
        if self._lock.acquire(blocking=False):
            try:
                self._end()
            finally:
                self._lock.release()

    def _end(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
