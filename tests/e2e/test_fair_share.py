"""Issue 10, a fair share: a session that disconnects while its large run waits for its turn
stops its work, and the server is idle soon after the other large run finishes; a run larger
than the budget is refused with the app's message, and the server does no EM for it."""

from __future__ import annotations

import sys
import time
from typing import Any

from gmm_app.engine import GAVE_UP_LOG

from .conftest import REPO_ROOT, app_server_lib, open_page

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from _ws_client import process_cpu_seconds  # noqa: E402

# 200,000 x 10 x 100 = the largest run allowed (MAX_RUN_WORK): seconds of CPU, a heavy run.
LARGE = ("/em-2d?dataset=blobs&d.n_samples=200000&d.n_clusters=5&d.separation=0.0&K=10"
         "&max_iter=100&tol=1e-12&init=kmeans&seed={seed}")
SPINNER = "Computing the EM run"
HEAVY_LINK = LARGE.replace("max_iter=100", "max_iter=1000")


def _cores_used(pid: int, seconds: float = 1.0) -> float:
    start = process_cpu_seconds(pid)
    time.sleep(seconds)
    return (process_cpu_seconds(pid) - start) / seconds


def _wait_idle(pid: int, within: float) -> float | None:
    deadline = time.monotonic() + within
    start = time.monotonic()
    while time.monotonic() < deadline:
        if _cores_used(pid) < 0.15:
            return time.monotonic() - start
    return None


def test_a_waiting_run_stops_when_its_tab_closes(browser: Any, fresh_server: Any) -> None:
    pid = fresh_server.process.pid
    with open_page(browser, fresh_server) as first:
        first.page.goto(fresh_server.url(LARGE.format(seed=1)), wait_until="domcontentloaded")
        # The first run holds the only slot for large runs once its spinner shows.
        first.page.get_by_text(SPINNER).first.wait_for(timeout=120_000)
        with open_page(browser, fresh_server) as second:
            second.page.goto(fresh_server.url(LARGE.format(seed=2)),
                             wait_until="domcontentloaded")
            second.page.get_by_text(SPINNER).first.wait_for(timeout=60_000)
            time.sleep(1.0)  # its run now waits for the slot
        # The second context is closed: its session stops and its run gives up its turn.
        deadline = time.monotonic() + 20
        while GAVE_UP_LOG not in fresh_server.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert GAVE_UP_LOG in fresh_server.output(), fresh_server.output()[-3000:]
        app_server_lib.wait_for_idle(first.page, 180_000)  # the first run completes and shows
        assert first.page.get_by_text("E-step").first.is_visible()
    # No second run after the first: the server is idle within 5 s of the first page finishing.
    assert _wait_idle(pid, 5.0) is not None


def test_heavy_link_is_refused_at_once(browser: Any, app_server: Any) -> None:
    pid = app_server.process.pid
    with open_page(browser, app_server) as tab:
        start = time.monotonic()
        tab.goto(HEAVY_LINK.format(seed=7))
        took = time.monotonic() - start
        text = tab.page.inner_text('[data-testid="stMain"]')
        assert "too large for a server shared by a class" in text
        assert "2,000,000,000" in text
    assert took < 30
    assert _wait_idle(pid, 5.0) is not None
