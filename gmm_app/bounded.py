"""Caches with declared bounds: every cache of the app says how much it may hold.

Two kinds of cache live in the server process, shared by all sessions:

* ``st.cache_data`` functions (EM runs, data sets, model scores): bounded by ``max_entries``
  (Streamlit evicts the least recently used) and by ``ttl``; Streamlit cannot bound bytes, so
  :data:`CACHE_BOUNDS` states the largest entry each may hold, and the product is the cache's
  bound in bytes.
* :class:`BoundedCache` (module-level dictionaries and ``functools.lru_cache``): least
  recently used, bounded by entries AND bytes.

:data:`CACHE_BOUNDS` is the one table of them; ``tests/test_bounded.py`` inspects every
module of ``gmm_app`` and fails on a cache that is not in it or whose declared bound differs
from the decorator's.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
else:  # an array's module is loaded already; this module is imported before numpy is
    from gmm_app.lazy import numpy as np


MIB = 1024 * 1024
CACHE_TTL_S = 30 * 60
"""Seconds an ``st.cache_data`` entry may stay unused before it is dropped."""


@dataclass(frozen=True)
class CacheBound:
    """The bound of one cache.

    Attributes
    ----------
    name : str
        ``module.function`` (``st.cache_data`` / ``lru_cache``) or the BoundedCache's name.
    max_entries : int
    max_entry_bytes : int
        The largest entry the cache can hold (from the app's limits on N, K and iterations).
    why : str
        What the entries are.
    """

    name: str
    max_entries: int
    max_entry_bytes: int
    why: str

    @property
    def max_bytes(self) -> int:
        """Entries x largest entry: the most memory the cache can hold."""
        return self.max_entries * self.max_entry_bytes


def _bounds(*rows: CacheBound) -> dict[str, CacheBound]:
    return {row.name: row for row in rows}


CACHE_BOUNDS: dict[str, CacheBound] = _bounds(
    CacheBound("gmm_app.engine.runs", 64, 4 * MIB,
               "EM histories computed so far (they grow as visitors step on): parameters per "
               "half-step (K x D x D), never N-sized arrays; at most 2 x 1,000 + 1 half-steps "
               "of K <= 10 components (~1.6 MiB); BoundedCache: 128 MiB in all"),
    CacheBound("gmm_app.engine.responsibilities", 48, 16 * MIB,
               "responsibilities (N x K) of E-steps recently shown; 48 entries or 768 MiB "
               "(BoundedCache: 256 MiB in all)"),
    CacheBound("gmm_app.data._load_builtin", 32, 8 * MIB,
               "built-in and synthetic data sets (N x D floats, N at most 200,000)"),
    CacheBound("gmm_app.models._score", 2000, 64 * 1024,
               "one model's scores (a few numbers and its parameters)"),
    CacheBound("gmm_app.models.restarts", 64, 4 * MIB, "restarts grouped by optimum"),
    CacheBound("gmm_app.models.compare", 64, 16 * MIB, "k-means against a mixture"),
    CacheBound("gmm_app.models.draw_samples", 64, 2 * MIB, "samples drawn from a model"),
    CacheBound("gmm_app.your_data._parsed", 4, 700 * MIB,
               "parsed uploads (the table of a 50 MB file), keyed by a SHA-256 of the content"),
    CacheBound("gmm_app.your_data._preview", 8, 1 * MIB, "previews of parsed uploads"),
    CacheBound("gmm_app.your_data._selection", 8, 40 * MIB,
               "the chosen columns of an upload (N x 2 floats and labels)"),
    CacheBound("gmm_app.animation._font", 8, 1 * MIB, "Pillow fonts of the run animation"),
    CacheBound("gmm_app.code_panel.body_source", 16, 64 * 1024, "textbook source lines"),
    CacheBound("gmm_app.declared._true_k", 64, 1024, "true K of a data set with its knobs"),
    CacheBound("gmm_app.sharing.qr_svg", 64, 256 * 1024, "QR codes of shared links"),
    CacheBound("gmm_app.stepper._PLAYING", 16, 16 * 1024,
               "one Play fragment per declared play speed"),
    CacheBound("gmm_app.live_chart.specs", 512, 4 * MIB,
               "chart specs (JSON) of half-steps recently shown, shared by the sessions on "
               "the same run: ~30 KiB at 600 points, ~0.8 MiB at 50,000, ~3 MiB at 200,000 "
               "(BoundedCache: 96 MiB in all)"),
)
"""Every cache of the app and its bound (tests/test_bounded.py keeps it complete)."""


def bound(name: str) -> CacheBound:
    """The declared bound of cache ``name`` (KeyError if it is not declared)."""
    return CACHE_BOUNDS[name]


def nbytes(value: Any) -> int:
    """Approximate bytes held by ``value`` (numpy arrays exactly, containers recursively)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, tuple | list):
        return sys.getsizeof(value) + sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(nbytes(k) + nbytes(v) for k, v in value.items())
    return sys.getsizeof(value)


class BoundedCache:
    """A thread-safe least-recently-used cache bounded by entries and bytes.

    Its bound is the row of :data:`CACHE_BOUNDS` named ``name``; an entry larger than the
    whole byte budget is computed but not kept.
    """

    def __init__(self, name: str, max_bytes: int | None = None) -> None:
        spec = bound(name)
        self.name = name
        self.max_entries = spec.max_entries
        self.max_bytes = spec.max_bytes if max_bytes is None else min(max_bytes, spec.max_bytes)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``compute()`` (then kept if it fits)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
        return self.put(key, compute())

    def put(self, key: Hashable, value: Any, size: int | None = None) -> Any:
        """Keep ``value`` under ``key`` (replacing any), with ``size`` bytes (default:
        :func:`nbytes`); evicts the least recently used entries beyond the bounds."""
        size = nbytes(value) if size is None else int(size)
        if size > self.max_bytes:
            return value
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped
        return value

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        """Bytes held now (approximate)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)
