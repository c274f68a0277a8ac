"""Give memory back when the class has gone (issue 10, bounded memory).

Every cache of the app is bounded (:mod:`gmm_app.bounded`), but a bound is a ceiling, not a
release: the parsed uploads and the responsibilities stay in the server's caches after their
visitors left, and Streamlit keeps a closed tab's session (with its uploaded data) for two
minutes in case the tab reconnects, dropping it only when its store is next touched.

A daemon thread looks every :data:`CHECK_EVERY_S` seconds. Once no session has been
connected for :data:`IDLE_AFTER_S` seconds (longer than Streamlit's reconnect window), it
drops the expired stored sessions, clears the caches that hold visitors' data (parsed
uploads, their previews and column choices, responsibilities), runs a full garbage
collection and asks the C allocator to return free pages to the system. What stays: the
built-in data sets (small, bounded, and what the next class will ask for first), the code
and objects imported by the pages visited, and what Streamlit itself keeps (measured after 20
uploads of 50,000-200,000 rows, every tab closed and released: RSS +6 % over its value
before them, 203 vs 191 MiB; Streamlit's uploaded-file manager still held 3.6 MiB).

At import, glibc's allocator is told to keep large buffers in pages of their own
(:func:`tune_malloc`): without it the same scenario ended +68 % to +85 %, most of it free
memory inside the heap that no ``malloc_trim`` could return.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time
from collections.abc import Callable

from streamlit.logger import get_logger

CHECK_EVERY_S = 15.0
IDLE_AFTER_S = 150.0
"""Seconds without any connected session before the visitors' data are dropped."""

_LOG = get_logger(__name__)
_started = threading.Lock()
_thread: threading.Thread | None = None
_clearers: list[Callable[[], None]] = []


MMAP_THRESHOLD = 256 * 1024
"""Allocations from this size on get their own pages from the system (see :func:`tune_malloc`)."""
ARENA_MAX = 2
"""At most this many glibc malloc arenas (see :func:`tune_malloc`)."""


def tune_malloc() -> bool:
    """Make glibc's allocator give large buffers back when they are freed (issue 10, memory).

    By default glibc raises its mmap threshold to the size of the largest buffer freed so far
    (up to 32 MiB): after the first upload or 200,000-point chart, buffers of a few MiB (CSV
    text, parsed columns, chart specs, websocket frames) are carved from the heap, and the
    heap keeps their pages after they are freed, between smaller blocks still in use
    (measured: 306 MiB free but resident in the main heap after 20 uploads and every session
    closed, ``malloc_trim`` notwithstanding). A fixed threshold keeps such buffers in pages
    of their own, unmapped when freed; fewer arenas (glibc makes up to 8 per core, one per
    script thread in turn) leave fewer half-empty heaps. Called once at import; returns
    whether glibc accepted both settings (False elsewhere, e.g. on musl or macOS).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold, m_arena_max = -3, -8  # <malloc.h>
        return bool(libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(
            libc.mallopt(m_arena_max, ARENA_MAX))
    except (OSError, AttributeError):
        return False


MALLOC_TUNED = tune_malloc()


def register(clear: Callable[[], None]) -> None:
    """Add a function that drops cached visitors' data (called when the server is idle)."""
    if clear not in _clearers:
        _clearers.append(clear)


def _runtime_sessions() -> tuple[int, Callable[[], None] | None]:
    """(connected sessions, a function expiring the stored ones) from Streamlit's runtime."""
    from streamlit import runtime

    if not runtime.exists():
        return 0, None
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    if manager is None:
        return 1, None  # unknown: never clear
    active = len(manager.list_active_sessions())
    storage = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    expire = getattr(storage, "expire", None)  # cachetools.TTLCache of stored sessions
    return active, expire


def release_memory() -> None:
    """Drop the visitors' cached data now, collect, and return free memory to the system."""
    for clear in list(_clearers):
        try:
            clear()
        except Exception:  # a cache that cannot clear must not stop the others
            _LOG.exception("clearing a cache failed")
    gc.collect()
    try:  # glibc keeps freed small blocks; malloc_trim returns free pages to the system
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _loop() -> None:
    idle_since: float | None = None
    cleared = True
    while True:
        time.sleep(CHECK_EVERY_S)
        try:
            active, expire = _runtime_sessions()
            if expire is not None:
                expire()  # closed tabs older than Streamlit's reconnect window go now
        except Exception:
            _LOG.exception("reading the sessions failed")
            continue
        now = time.monotonic()
        if active:
            idle_since, cleared = None, False
            continue
        idle_since = now if idle_since is None else idle_since
        if not cleared and now - idle_since >= IDLE_AFTER_S:
            release_memory()
            cleared = True
            _LOG.info("No visitors for %.0f s: visitors' cached data released", IDLE_AFTER_S)


def ensure_started() -> None:
    """Start the janitor thread once per server process."""
    global _thread
    if _thread is not None:
        return
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=_loop, name="gmm_app-janitor", daemon=True)
            _thread.start()
