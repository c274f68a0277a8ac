"""Large EM runs computed in a separate, low-priority process (issue 10, a fair share).

One Streamlit process runs every session's Python on one interpreter: a large EM run in a
script thread takes the interpreter lock between its numpy calls and its threads take both
cores, so everyone else's clicks slowed ~3x while one visitor's run computed (measured with
``benchmarks/bench_load.py --abuse``). Runs above ``HEAVY_RUN_WORK`` are therefore computed
in one worker process at a lower scheduling priority (``os.nice``): the operating system
gives the server's own threads the CPU first, and a run can be stopped at once, even inside
an initialisation that has no stop hook, by ending the process (a new one starts when the
next large run needs it).

The worker imports only numpy and :mod:`gmm_core` (not Streamlit). Jobs travel pickled over
its stdin and stdout: plain values in, an :class:`gmm_core.EMHistory` (parameters only) or an
error sentence out; SIGUSR1 asks the job to stop at its next iteration.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

AVAILABLE = os.name == "posix" and hasattr(signal, "SIGUSR1")
"""The worker needs POSIX pipes with select() and SIGUSR1; elsewhere large runs compute in
the server's process (with the same stop hook)."""
WORKER_NICE = 10
"""How much lower the worker's scheduling priority is than the server's (0..19)."""
STOP_GRACE_S = 2.0
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
    import numpy as np  # here: the worker installs its signal handler before any import

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


def _serve() -> None:  # pragma: no cover - runs in the worker process
    """The worker's loop: one pickled job at a time on stdin, its result pickled on stdout;
    SIGUSR1 asks the job being computed to stop (at its next iteration)."""
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    try:
        os.nice(WORKER_NICE)
    except OSError:
        pass
    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the results
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:  # the server went away
            return
        stop.clear()
        try:
            result = compute(job, stop.is_set)
        except Exception as err:  # e.g. MemoryError: the caller raises it, the worker lives on
            # A builtin exception (not a sentence): the caller must not take a passing
            # failure for the run's outcome, which is shared and kept.
            result = RuntimeError(f"{type(err).__name__}: {err}")
        pickle.dump(result, results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


class Stopped(Exception):
    """The job was stopped by its caller (its session went away) before it ended; its
    argument is the part computed (an EMHistory), or None if the worker had to be ended."""


class Worker:
    """One worker process, started on first use and again after it was ended; one job at a
    time (callers hold a slot: ``HEAVY_RUN_SLOTS`` is 1).

    The worker is a fresh interpreter (``python -m gmm_app.em_worker``), not a
    ``multiprocessing`` child: Streamlit installs each page script as ``__main__`` while it
    runs, and a spawned ``multiprocessing`` child would run that page again on start.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def _ensure(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        root = str(Path(__file__).resolve().parents[1])  # the folder holding gmm_app
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH"))
                                             if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gmm_app.em_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, cwd=root,
        )
        return self._process

    @property
    def pid(self) -> int | None:
        """The worker's process id (None when there is none)."""
        return None if self._process is None else self._process.pid

    def run(self, job: Job, stop_requested: Callable[[], bool]) -> Any:
        """``compute(job)`` in the worker; polls ``stop_requested()`` every 0.1 s and on True
        stops the job (ending the worker if it does not stop within :data:`STOP_GRACE_S`),
        then raises :class:`Stopped`. Raises RuntimeError when the worker ends unexpectedly
        or the job fails there (not a ValueError: e.g. out of memory)."""
        with self._lock:
            process = self._ensure()
            try:
                pickle.dump(job, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]
                process.stdin.flush()  # type: ignore[union-attr]
            except BrokenPipeError:
                self._end()
                raise RuntimeError("the EM worker process ended unexpectedly") from None
            while not _readable(process.stdout, 0.1):
                if process.poll() is not None:
                    self._end()
                    raise RuntimeError("the EM worker process ended unexpectedly")
                if stop_requested():
                    process.send_signal(signal.SIGUSR1)
                    if _readable(process.stdout, STOP_GRACE_S):
                        try:
                            part = pickle.load(process.stdout)  # type: ignore[arg-type]
                        except (EOFError, pickle.UnpicklingError):  # the signal came
                            part = None  # before its handler: it ended
                            self._end()
                        raise Stopped(part)
                    self._end()
                    raise Stopped(None)
            return self._receive(process)

    def _receive(self, process: subprocess.Popen) -> Any:
        try:
            got = pickle.load(process.stdout)  # type: ignore[arg-type]
        except (EOFError, pickle.UnpicklingError):  # it ended, perhaps while writing
            self._end()
            raise RuntimeError("the EM worker process ended unexpectedly") from None
        if isinstance(got, RuntimeError):  # the job failed in the worker (e.g. MemoryError)
            raise got
        return got

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
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def _readable(stream: Any, timeout: float) -> bool:
    """True when ``stream`` has data to read (or its end) within ``timeout`` seconds."""
    return bool(select.select([stream], [], [], timeout)[0])


if __name__ == "__main__":  # pragma: no cover - the worker process
    _serve()
