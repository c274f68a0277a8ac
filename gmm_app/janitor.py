"""Give memory back when the class has gone (issue 10, bounded memory).

Every cache of the app is bounded (:mod:`gmm_app.bounded`), but a bound is a ceiling, not a
release: the parsed uploads and the responsibilities stay in the server's caches after their
visitors left, and Streamlit keeps a closed tab's session (with its uploaded data) for two
minutes in case the tab reconnects, dropping it only when its store is next touched.

A daemon thread looks every :data:`CHECK_EVERY_S` seconds. Once no session has been
connected for :data:`IDLE_AFTER_S` seconds (longer than Streamlit's reconnect window), it
drops the expired stored sessions, clears the caches that hold visitors' data (parsed
uploads, their previews and column choices, responsibilities), runs a full garbage
collection and asks the C allocator to return free pages to the system. What stays: the EM
runs and built-in data sets (small, bounded, and what the next class will ask for first).
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
