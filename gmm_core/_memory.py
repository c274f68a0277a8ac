"""Large scratch arrays kept from one EM run to the next.

A fresh array's memory is mapped page by page on first touch: each 4 KiB page
costs a page fault (measured ~4.5 µs on a 2-core virtual machine, where the
arithmetic done in that page takes under 1 µs). glibc hands arrays above
128 KiB fresh memory from the system and returns it on free, unless its
adaptive threshold has happened to rise, so a run's large buffers (the data's
features, a pass's scratch) cost the same faults at every run, or not, by
chance: 1,500 faults (~7 ms) of a 10-iteration run at 100,000 points, and runs
twice as slow as the same run in a process where glibc kept its memory.

A :class:`Lease` therefore takes its buffers from a small process-wide pool
and gives them back when the run ends; the next run reuses the same pages.
The pool keeps at most ``MAX_BYTES`` (the oldest buffers are dropped first)
and is safe to use from several threads (each buffer belongs to one lease at
a time).
"""

from __future__ import annotations

import math
import threading

import numpy as np

# Largest memory the pool keeps between runs (a run at 1,000,000 2-D points takes ~60 MiB).
MAX_BYTES = 64 << 20
# Below this a buffer comes from numpy's and glibc's own reused small blocks.
_MIN_BYTES = 64 << 10

_free: list[np.ndarray] = []  # idle byte buffers, oldest first
_lock = threading.Lock()


class Lease:
    """Buffers taken from the pool for one run; :meth:`release` gives them back."""

    def __init__(self) -> None:
        self._held: list[np.ndarray] = []

    def empty(self, shape: int | tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
        """Like ``np.empty(shape, dtype)`` (contents undefined), from the pool if it can."""
        shape = tuple(int(v) for v in np.atleast_1d(shape))
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if nbytes < _MIN_BYTES:
            return np.empty(shape, dtype)
        buf = _take(nbytes)
        self._held.append(buf)
        # A byte buffer from np.empty is aligned for any dtype; its first nbytes viewed.
        return buf[:nbytes].view(dtype).reshape(shape)

    def release(self) -> None:
        """Give every buffer back to the pool. Arrays from :meth:`empty` must not be used after."""
        held, self._held = self._held, []
        if not held:
            return
        held = [b for b in held if b.size <= MAX_BYTES]  # one too large to keep is freed
        with _lock:
            _free.extend(held)
            total = sum(b.size for b in _free)
            while total > MAX_BYTES:
                total -= _free.pop(0).size


def _take(nbytes: int) -> np.ndarray:
    # The smallest idle buffer that holds nbytes and wastes at most half of itself.
    with _lock:
        best = None
        for i, buf in enumerate(_free):
            if nbytes <= buf.size <= 2 * nbytes and (best is None or buf.size < _free[best].size):
                best = i
        if best is not None:
            return _free.pop(best)
    return np.empty(nbytes, np.uint8)


def clear() -> None:
    """Drop every idle buffer (their memory returns to the system).

    Exported as ``gmm_core.clear_memory_pool``: after a fit, up to ``MAX_BYTES``
    stay allocated for the next one until this is called.
    """
    with _lock:
        _free.clear()


def idle_bytes() -> int:
    """Bytes kept by the pool for the next runs."""
    with _lock:
        return sum(b.size for b in _free)
