"""Issue 10, a fair share, on a real server with real browser contexts.

* A session that disconnects while its run is COMPUTING stops that work within an
  iteration (run_em's stop hook): the server is idle within a few seconds of the tab
  closing, long before the press's time budget would have ended.
* (A large run WAITING for its turn gives it up when its session stops: tested without a
  browser in tests/test_app_lazy_run.py, as how long another tab's piece holds the slot
  depends on the machine.)
* The issue's heaviest link is no longer refused: it opens at once with the run's first
  iterations (computed lazily), and the server is idle soon after.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from gmm_app.declared import RUN_TO_END_BUDGET_S
from gmm_app.engine import COMPUTING, STOPPED_LOG

from .conftest import REPO_ROOT, app_server_lib, open_page

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from _ws_client import process_cpu_seconds  # noqa: E402

# The heaviest link: 200,000 points, K = 10 (~35 ms of one core per iteration), up to
# 1,000 iterations, k-means initialisation (~10 s of one core by itself at this size).
HEAVY_LINK = ("/em-2d?dataset=blobs&d.n_samples=200000&d.n_clusters=5&d.separation=0.0&K=10"
              "&max_iter=1000&tol=1e-12&init=kmeans&seed={seed}")
# The same run from k-means++ seeds (a start in a moment): its page opens sooner.
LARGE = HEAVY_LINK.replace("init=kmeans&", "init=kmeans%2B%2B&")
MAIN = '[data-testid="stMain"]'
SPINNER = COMPUTING.rstrip("\u2026")


def _tree(pid: int) -> list[int]:
    """The server and its child processes (the EM worker computes large runs)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return [pid, *children]


def _tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for p in pids:
        try:
            total += process_cpu_seconds(p)
        except (OSError, ValueError):
            pass  # a process that ended
    return total


def _cores_used(pid: int, seconds: float = 1.0) -> float:
    """Cores used by the server and its children over ``seconds``."""
    pids = _tree(pid)
    start = _tree_cpu_seconds(pids)
    time.sleep(seconds)
    return (_tree_cpu_seconds(pids) - start) / seconds


def _wait_idle(pid: int, within: float, window: float = 1.0) -> float | None:
    """Seconds until the server used < 15 % of a core over ``window`` (None: not within)."""
    deadline = time.monotonic() + within
    start = time.monotonic()
    while time.monotonic() < deadline:
        if _cores_used(pid, window) < 0.15:
            return time.monotonic() - start
    return None


def _open(tab: Any, path: str) -> None:
    """Open ``path`` and wait for the page to settle (a large run's start takes a while)."""
    tab.page.goto(tab.server.url(path), wait_until="domcontentloaded")
    app_server_lib.wait_for_idle(tab.page, 120_000)


def _press_run_to_convergence(tab: Any) -> None:
    tab.page.locator(MAIN).get_by_role("button", name="Run to convergence").click()


def _wait_for_log(server: Any, text: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while text not in server.output() and time.monotonic() < deadline:
        time.sleep(0.2)
    return text in server.output()


def test_a_computing_run_stops_when_its_tab_closes(browser: Any, app_server: Any) -> None:
    pid = app_server.process.pid
    with open_page(browser, app_server) as tab:
        _open(tab, LARGE.format(seed=21))  # the first iterations only: the page settles
        assert "Computed so far" in tab.page.inner_text(MAIN)
        # The browser draws 200,000 points for a while: the click waits for that, not the run.
        app_server_lib.wait_for_plots(tab.page, 1, 120_000)
        _press_run_to_convergence(tab)
        tab.page.get_by_text(SPINNER).first.wait_for(timeout=30_000)
        time.sleep(1.0)
        # Computing, not waiting (this is the only session): in the EM worker process.
        assert len(_tree(pid)) > 1
        assert _cores_used(pid, 0.5) > 0.05
        assert STOPPED_LOG not in app_server.output()  # still computing when the tab closes
        closed_at = time.monotonic()
    # The tab is closed with most of the press's budget (RUN_TO_END_BUDGET_S) left.
    assert _wait_for_log(app_server, STOPPED_LOG, 5.0), app_server.output()[-3000:]
    idle_after = _wait_idle(pid, 10.0, window=0.5)
    assert idle_after is not None
    # Idle well before the budget would have ended (the stop is within one iteration).
    assert time.monotonic() - closed_at < RUN_TO_END_BUDGET_S - 2.0, idle_after


def test_heavy_link_opens_lazily(browser: Any, app_server: Any) -> None:
    pid = app_server.process.pid
    with open_page(browser, app_server) as tab:
        start = time.monotonic()
        _open(tab, HEAVY_LINK.format(seed=7))
        took = time.monotonic() - start
        text = tab.page.inner_text(MAIN)
        assert "too large" not in text
        assert "Start (iteration 0)" in text
        assert "Computed so far:" in text
        assert "of at most 1,000 iterations" in text
    assert took < 120  # mostly the k-means initialisation, in the low-priority worker
    assert _wait_idle(pid, 5.0) is not None
