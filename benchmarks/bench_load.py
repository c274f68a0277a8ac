"""A whole class at once: many sessions clicking E/M on one server (issue 10).

Starts ``streamlit run app.py`` (the repository's own config), then for each level (default
10 and 30 sessions) opens that many sessions with the lightweight websocket client of
``_ws_client.py`` (Streamlit's own protocol, no browser), and has each click E-step, M-step,
E-step, ... every ``--interval`` seconds for ``--seconds`` seconds. Per level it prints:

* click-to-reply median and p90 (send the click -> the server's "script finished"),
* server CPU per click (utime + stime of the server process from /proc/<pid>/stat over the
  clicking window, divided by the clicks),
* the clients' own CPU per click (this process: parsing the replies). The clients run on the
  same machine, so the latencies include waiting for them; their share is printed so it can
  be accounted for (clients' CPU / wall time = cores they took from the server),
* errors (exceptions in the page, closed sockets, time-outs),
* server RSS before, peak (sampled every 0.2 s) and 5 s after the sessions closed.

``--abuse`` adds the abuse scenario: a normal visitor clicks E/M every 0.5 s, first alone
(idle latency), then while the heavy link of the issue is opened 8 times with new seeds; its
latency is printed beside the idle one, with the peak RSS above idle and the seconds until the
server is idle (< 10 % of a core over 1 s) after the heavy tabs closed.

Run: ``.venv/bin/python benchmarks/bench_load.py`` (about 2 minutes; ``--quick`` for a smoke
run with 3 sessions for 8 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _app_server import AppServer, start_app_server  # noqa: E402
from _ws_client import (  # noqa: E402
    ClientError,
    WsSession,
    process_cpu_seconds,
    process_rss_bytes,
)

HEAVY_LINK = (
    "/em-2d?dataset=blobs&d.n_samples=200000&d.n_clusters=5&d.separation=0.0&K=10"
    "&max_iter=1000&tol=1e-12&init=kmeans&seed={seed}"
)
"""The issue's most expensive link (a new seed each time misses the cache)."""
MIB = 1024 * 1024


def page_path(n_points: int) -> str:
    """The default 2-D stepper (600 points), or blobs with ``n_points`` points."""
    if n_points == 600:
        return "/em-2d"
    return f"/em-2d?dataset=blobs&d.n_samples={n_points}&K=3&seed=0"


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class RssMonitor:
    """Samples a process's RSS every 0.2 s in a thread; ``peak`` is the largest seen."""

    pid: int
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssMonitor:
        self.peak = process_rss_bytes(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss_bytes(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@dataclass
class LevelResult:
    sessions: int
    latencies: list[float]
    clicks: int
    errors: list[str]
    server_cpu_s: float
    client_cpu_s: float
    wall_s: float
    rss_before: int
    rss_peak: int
    rss_after: int
    open_s: list[float]


def _clicker(session: WsSession, stop_at: float, interval: float, offset: float,
             latencies: list[float], errors: list[str], lock: threading.Lock) -> None:
    labels = ("E-step", "M-step")
    i = 0
    next_at = time.monotonic() + offset
    while True:
        now = time.monotonic()
        if next_at > stop_at:
            return
        if next_at > now:
            time.sleep(next_at - now)
        try:
            took = session.click(labels[i % 2])
        except (ClientError, KeyError) as err:
            with lock:
                errors.append(str(err)[:200])
            return
        with lock:
            latencies.append(took)
        i += 1
        next_at += interval


def open_sessions(server: AppServer, n: int, path: str, errors: list[str]) -> tuple[
        list[WsSession], list[float]]:
    """Open ``n`` sessions of ``path`` (4 at a time); the ones that failed are in ``errors``."""
    sessions: list[WsSession] = []
    times: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        s = WsSession(server.base_url, timeout=120)
        try:
            took = s.open(path)
        except ClientError as err:
            with lock:
                errors.append(f"open: {err}"[:200])
            s.close()
            return
        with lock:
            sessions.append(s)
            times.append(took)

    for start in range(0, n, 4):
        threads = [threading.Thread(target=one) for _ in range(min(4, n - start))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return sessions, times


def run_level(server: AppServer, n_sessions: int, path: str, seconds: float,
              interval: float) -> LevelResult:
    pid = server.process.pid
    errors: list[str] = []
    rss_before = process_rss_bytes(pid)
    with RssMonitor(pid) as rss:
        sessions, open_s = open_sessions(server, n_sessions, path, errors)
        for s in sessions:  # one warm-up E/M each (the run is cached after the first open)
            try:
                s.click("E-step")
                s.click("M-step")
            except (ClientError, KeyError) as err:
                errors.append(f"warm-up: {err}"[:200])
        latencies: list[float] = []
        lock = threading.Lock()
        start = time.monotonic()
        stop_at = start + seconds
        cpu0, client0 = process_cpu_seconds(pid), time.process_time()
        threads = [
            threading.Thread(target=_clicker, args=(s, stop_at, interval,
                                                    interval * i / max(len(sessions), 1),
                                                    latencies, errors, lock))
            for i, s in enumerate(sessions)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        cpu1, client1 = process_cpu_seconds(pid), time.process_time()
        for s in sessions:
            s.close()
        time.sleep(5)
        rss_after = process_rss_bytes(pid)
    return LevelResult(n_sessions, latencies, len(latencies), errors, cpu1 - cpu0,
                       client1 - client0, wall, rss_before, rss.peak, rss_after, open_s)


def print_level(r: LevelResult, n_points: int) -> None:
    ms = [1000 * v for v in r.latencies]
    per_click = 1000 * r.server_cpu_s / max(r.clicks, 1)
    client = 1000 * r.client_cpu_s / max(r.clicks, 1)
    print(f"  {r.sessions:>3} sessions, {n_points:,} points: {r.clicks} clicks in {r.wall_s:.0f} s"
          f" | reply median {statistics.median(ms) if ms else float('nan'):.0f} ms,"
          f" p90 {quantile(ms, 0.9):.0f} ms"
          f" | server CPU/click {per_click:.1f} ms"
          f" | clients' CPU/click {client:.1f} ms ({r.client_cpu_s / r.wall_s:.2f} cores)"
          f" | errors {len(r.errors)}"
          f" | RSS before {r.rss_before / MIB:.0f} MiB, peak {r.rss_peak / MIB:.0f},"
          f" after {r.rss_after / MIB:.0f}"
          f" | page open median {statistics.median(r.open_s) if r.open_s else float('nan'):.2f} s")
    for e in r.errors[:3]:
        print(f"      error: {e}")


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the EM worker of large runs, gmm_app/em_worker.py)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


def _tree_sum(pid: int, measure: Callable[[int], float]) -> float:
    total = measure(pid)
    for child in _children(pid):
        try:
            total += measure(child)
        except (OSError, ValueError):  # the child ended meanwhile
            pass
    return total


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of the server and its live child processes; reaped children are in the
    server's own figure."""
    return _tree_sum(pid, process_cpu_seconds)


def tree_rss_bytes(pid: int) -> int:
    """RSS of the server and its live child processes (the EM worker of large runs)."""
    return int(_tree_sum(pid, process_rss_bytes))


def cpu_share(pid: int, window: float = 1.0) -> float:
    """Cores the process and its children used over the next ``window`` seconds."""
    c0 = tree_cpu_seconds(pid)
    time.sleep(window)
    return (tree_cpu_seconds(pid) - c0) / window


def run_abuse(server: AppServer, heavy: int, seconds: float) -> None:
    pid = server.process.pid
    visitor = WsSession(server.base_url, timeout=120)
    visitor.open(page_path(600))

    def clicks(duration: float) -> list[float]:
        out: list[float] = []
        end = time.monotonic() + duration
        i = 0
        while time.monotonic() < end:
            try:
                out.append(visitor.click(("E-step", "M-step")[i % 2]))
            except ClientError as err:
                print(f"      visitor error: {err}")
                break
            i += 1
            time.sleep(0.5)
        return out

    idle = clicks(6)
    rss_idle = process_rss_bytes(pid)
    tabs: list[WsSession] = []
    outcomes: list[str] = []

    def heavy_tab(seed: int) -> None:
        s = WsSession(server.base_url, timeout=seconds)
        tabs.append(s)
        try:
            took = s.open(HEAVY_LINK.format(seed=seed))
            outcomes.append(f"seed {seed}: page in {took:.1f} s")
        except ClientError as err:
            outcomes.append(f"seed {seed}: {err}"[:120])

    with RssMonitor(pid) as rss:
        threads = [threading.Thread(target=heavy_tab, args=(1000 + i,), daemon=True)
                   for i in range(heavy)]
        for t in threads:
            t.start()
            time.sleep(1.5 / heavy)
        busy = clicks(seconds)
        for s in tabs:
            s.close()
        closed = time.monotonic()
        idle_after = None
        while time.monotonic() - closed < 60:
            if cpu_share(pid) < 0.10:
                idle_after = time.monotonic() - closed
                break
    visitor.close()
    idle_ms = 1000 * statistics.median(idle)
    busy_ms = 1000 * statistics.median(busy) if busy else float("nan")
    print(f"  heavy link x{heavy}: visitor median {busy_ms:.0f} ms (idle {idle_ms:.0f} ms,"
          f" {busy_ms / idle_ms:.1f}x), p90 {1000 * quantile(busy, 0.9):.0f} ms"
          f" | peak RSS {(rss.peak - rss_idle) / MIB:+.0f} MiB above idle"
          f" | server idle {'> 60 s' if idle_after is None else f'{idle_after:.1f} s'}"
          " after the heavy tabs closed")
    for line in outcomes:
        print(f"      {line}")


MAIN = '[data-testid="stMain"]'


def make_csv(rows: int, seed: int, short: bool = False) -> bytes:
    """A two-column numeric CSV; ``short`` rows (e.g. "1,2") make the most rows per byte."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if short:
        values = rng.integers(0, 10, size=(rows, 2))
        return b"a,b\n" + b"\n".join(b"%d,%d" % (a, b) for a, b in values.tolist()) + b"\n"
    values = rng.normal(size=(rows, 2))
    return ("x,y\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in values.tolist()) + "\n").encode()


def upload_in_browser(browser: object, server: AppServer, content: bytes, name: str,
                      use: bool = True) -> str:
    """One tab: open /your-data, upload ``content``, optionally "Use this data"; closed after."""
    import re

    from _app_server import VIEWPORT, wait_for_idle

    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.set_default_timeout(240_000)
        page.goto(server.url("/your-data"), wait_until="domcontentloaded")
        wait_for_idle(page, 120_000)
        page.locator(f'{MAIN} [data-testid="stFileUploader"] input[type="file"]') \
            .set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
        ready = page.get_by_text(re.compile(r"^Ready: \d"))
        refused = page.locator(f'{MAIN} [data-testid="stAlertContentError"]')
        ready.or_(refused).first.wait_for()
        wait_for_idle(page, 240_000)
        if not ready.count():
            return "refused: " + refused.first.inner_text()[:100]
        if use:
            page.get_by_role("button", name=re.compile(r"Use this data$")).click()
            page.wait_for_url(re.compile(r"/em-[12]d(\?|$)"))
            wait_for_idle(page, 240_000)
        return "ok"
    except Exception as err:  # reported, not raised: the benchmark goes on
        return f"error: {str(err).splitlines()[0][:120]}"
    finally:
        context.close()


def run_memory(server: AppServer, uploads: int, wait_release: float) -> None:
    """``uploads`` tabs in turn upload 50,000-200,000 rows, use them and close; RSS after."""
    from _app_server import find_chromium, launch_chromium
    from playwright.sync_api import sync_playwright

    pid = server.process.pid
    with sync_playwright() as pw:
        browser = launch_chromium(pw, find_chromium())
        upload_in_browser(browser, server, make_csv(1000, 0), "warm.csv")
        time.sleep(3)
        before = process_rss_bytes(pid)
        outcomes = []
        with RssMonitor(pid) as rss:
            for i in range(uploads):
                rows = 50_000 + (150_000 * i) // max(uploads - 1, 1)
                outcomes.append(upload_in_browser(browser, server, make_csv(rows, i),
                                                  f"class{i}.csv"))
        browser.close()
    closed = process_rss_bytes(pid)
    time.sleep(wait_release)
    after = process_rss_bytes(pid)
    errors = [o for o in outcomes if o != "ok"]
    print(f"  memory: {uploads} uploads of 50,000-200,000 rows: RSS before {before / MIB:.0f} MiB,"
          f" peak {rss.peak / MIB:.0f}, all tabs closed {closed / MIB:.0f},"
          f" {wait_release:.0f} s later {after / MIB:.0f}"
          f" ({100 * (after - before) / before:+.0f} %)"
          f" | errors {len(errors)}")
    for e in errors[:3]:
        print(f"      {e}")


def run_upload_abuse(server: AppServer, n: int, size_mb: float) -> None:
    """``n`` tabs at once upload a ``size_mb`` MB CSV of short rows, beside a normal visitor."""
    from concurrent.futures import ThreadPoolExecutor

    from _app_server import find_chromium, launch_chromium
    from playwright.sync_api import sync_playwright

    pid = server.process.pid
    content = make_csv(int(size_mb * 1_000_000 / 4), 7, short=True)[: int(size_mb * 1_000_000)]
    content = content[: content.rfind(b"\n") + 1]
    visitor = WsSession(server.base_url, timeout=240)
    visitor.open(page_path(600))
    idle = [visitor.click(("E-step", "M-step")[i % 2]) for i in range(8)]
    rss_idle = process_rss_bytes(pid)
    results: list[str] = []

    def tab(i: int) -> None:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, find_chromium())
            results.append(upload_in_browser(browser, server, content, f"big{i}.csv", use=False))
            browser.close()

    busy: list[float] = []
    with RssMonitor(pid) as rss, ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(tab, i) for i in range(n)]
        i = 0
        while not all(f.done() for f in futures):
            try:
                busy.append(visitor.click(("E-step", "M-step")[i % 2]))
            except ClientError as err:
                results.append(f"visitor: {err}")
                break
            i += 1
            time.sleep(0.5)
    closed = time.monotonic()
    idle_after = None
    while time.monotonic() - closed < 60:
        if cpu_share(pid) < 0.10:
            idle_after = time.monotonic() - closed
            break
    visitor.close()
    idle_ms = 1000 * statistics.median(idle)
    busy_ms = 1000 * statistics.median(busy) if busy else float("nan")
    print(f"  {n} uploads of {len(content) / 1e6:.1f} MB at once: visitor median {busy_ms:.0f} ms"
          f" (idle {idle_ms:.0f} ms, {busy_ms / idle_ms:.1f}x) | peak RSS"
          f" {(rss.peak - rss_idle) / MIB:+.0f} MiB above idle | server idle "
          f"{'> 60 s' if idle_after is None else f'{idle_after:.1f} s'} after the tabs closed"
          f" | {', '.join(results)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="*", default=[10, 30],
                        help="sessions per level (none: skip the clicking levels)")
    parser.add_argument("--points", type=int, nargs="+", default=[600])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--abuse", action="store_true", help="also run the abuse scenario")
    parser.add_argument("--heavy", type=int, default=8, help="heavy tabs in the abuse scenario")
    parser.add_argument("--quick", action="store_true", help="3 sessions for 8 s (smoke run)")
    parser.add_argument("--uploads", type=int, default=0,
                        help="abuse: this many 49.9 MB uploads at once (browser tabs)")
    parser.add_argument("--upload-mb", type=float, default=49.9)
    parser.add_argument("--memory", type=int, default=0,
                        help="memory scenario: this many uploads in turn (browser tabs)")
    parser.add_argument("--release-wait", type=float, default=180.0,
                        help="seconds to wait after the memory scenario before the last RSS")
    args = parser.parse_args(argv)
    if args.quick:
        args.levels, args.seconds = [3], 8.0
    with start_app_server(timeout=60) as server:
        rss = process_rss_bytes(server.process.pid) / MIB
        print(f"server pid {server.process.pid}, RSS {rss:.0f} MiB; each session clicks E/M "
              f"every {args.interval:g} s for {args.seconds:g} s")
        for n_points in args.points if args.levels else []:
            warm = WsSession(server.base_url, timeout=120)
            warm.open(page_path(n_points))  # the run is computed once, then cached
            warm.close()
            for level in args.levels:
                print_level(run_level(server, level, page_path(n_points), args.seconds,
                                      args.interval), n_points)
        if args.abuse:
            run_abuse(server, args.heavy, max(args.seconds, 20.0))
        if args.uploads:
            run_upload_abuse(server, args.uploads, args.upload_mb)
        if args.memory:
            run_memory(server, args.memory, args.release_wait)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
