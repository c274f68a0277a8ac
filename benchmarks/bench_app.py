"""How fast does the app feel in a browser? Drives headless Chromium through Playwright.

Prints, in one run:

* the time from a click on E-step / M-step to the chart showing the new state (median and p90
  over many clicks), on 2-D "blobs" data with N = 2,000 and N = 50,000;
* the cold start: from launching the server process to the first drawn chart on /em-2d, and
  to every chart of the page drawn;
* Play at 10 half-steps per second (``speed=10``) at N = 2,000: the half-steps it advances
  per second (read from the status line; a late redraw skips a half-step, the pace holds);

each against its target with PASS / MISS, and where the time of a click goes (server rerun vs
browser redraw), measured in the page.

How a click is timed (all in the page, with ``performance.now()``): the button is clicked from
JavaScript (t0); every animation frame the page checks whether the status line has changed AND
the stepper chart's Plotly div holds new data (``gd.data`` replaced or its signature changed);
the first frame where both hold is followed by a task after that frame's paint (t_paint). The
WebSocket traffic is logged in the page too, so each click splits into

* server: from the click's message to the server until the largest message back (the chart's
  delta) arrived — the script rerun, figure building and serialisation;
* browser: from that message until the painted chart — decoding, React, Plotly and paint;
  of which the chart's own frame (``gmm_app.live_chart``) reports its decoding of the figure
  and its ``Plotly.react`` time.

The stepper's charts are ``live_chart`` components: their Plotly divs live in same-origin
iframes, found by ``__gmmCharts()`` of ``_app_server.py``; "chart div replaced" counts
remounts (0 when the chart is updated in place).

Usage::

    python benchmarks/bench_app.py                  # everything (about 2-3 minutes)
    python benchmarks/bench_app.py --pairs 5 --play-seconds 3
    python benchmarks/bench_app.py --cold-runs 3 --sizes 2000   # median of 3 cold starts
    python benchmarks/bench_app.py --trace artifacts/trace-50k.json   # Chrome trace, 50k clicks

Needs Chromium (``/usr/bin/chromium`` or ``$GMM_CHROMIUM``) and Playwright for Python.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _app_server import (
    REPO_ROOT,
    SIGNATURE_HELPERS_JS,
    VIEWPORT,
    AppServer,
    find_chromium,
    launch_chromium,
    start_app_server,
    status_text,
    wait_for_idle,
    wait_for_paint,
    wait_for_plots,
)

TARGET_CLICK_MS = {2_000: 150.0, 50_000: 800.0}
TARGET_COLD_START_S = 3.5
"""Issue 11: from launching the server to EVERY chart of /em-2d drawn (both charts)."""
PLAY_SPEED = 10.0
"""Play is measured at its fastest speed (the declared play_speed, link key 'speed')."""
PLAY_TOLERANCE = 0.10
"""Play holds its speed: the half-steps shown per second within ±10 % of PLAY_SPEED."""

RUN_ENDED = ("converged", "stopped")
"""Words of the status line once the run is at its last half-step (Reset before clicking on)."""

# Logs WebSocket traffic and long tasks with performance.now() timestamps, before any page JS.
INIT_SCRIPT = """
(() => {
  const wsLog = (window.__gmmWs = []);
  const size = (d) => (d && (d.byteLength ?? d.size ?? d.length)) || 0;
  const Original = window.WebSocket;
  class LoggedWebSocket extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => wsLog.push(['in', performance.now(),
                                                           size(ev.data)]));
    }
    send(data) {
      wsLog.push(['out', performance.now(), size(data)]);
      return super.send(data);
    }
  }
  window.WebSocket = LoggedWebSocket;
  const longTasks = (window.__gmmLongTasks = []);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no long-task API: the breakdown omits it */ }
})();
"""

# Click a button by its label and resolve once the new state is drawn and painted.
CLICK_AND_TIME_JS = (
    "async ({label, timeoutMs}) => {"
    + SIGNATURE_HELPERS_JS
    + """
  const mainSig = (gd) => gd ? JSON.stringify(__gmmChartSig(gd).traces) : null;
  const gd0 = __gmmMainChart();
  const data0 = gd0 ? gd0.data : null;
  const sig0 = mainSig(gd0);
  const status0 = __gmmStatus();
  const button = Array.from(document.querySelectorAll('[data-testid="stMain"] button'))
    .find((b) => b.innerText.trim() === label);
  if (!button) return { error: `no button labelled ${label}` };
  const wsStart = window.__gmmWs.length;
  const t0 = performance.now();
  button.click();
  return await new Promise((resolve) => {
    let tStatus = null;
    let gdSeen = gd0, dataSeen = data0;
    const tick = () => {
      const now = performance.now();
      const status = __gmmStatus();
      if (tStatus === null && status !== status0) tStatus = now;
      const gd = __gmmMainChart();
      // Cheap test in the timed loop: a new div or new data (Plotly.react replaces gd.data).
      const fresh = gd && gd._fullLayout && (gd !== gdSeen || gd.data !== dataSeen);
      if (tStatus !== null && fresh) {
        const tData = now;
        // A task queued from this frame's rAF callback runs after this frame's paint.
        setTimeout(() => {
          const tPaint = performance.now();
          // Outside the timing: is it really a new state (not the old figure remounted)?
          if (mainSig(gd) === sig0) {
            gdSeen = gd; dataSeen = gd.data;
            requestAnimationFrame(tick);
            return;
          }
          // The live_chart frame's own timings of its last draw (decode, Plotly), if any.
          const w = gd.ownerDocument.defaultView;
          const draws = (w && w.liveChartStats) || [];
          const last = draws.length ? draws[draws.length - 1] : null;
          resolve({
            t0, tStatus, tData, tPaint, status0, status, sameDiv: gd === gd0,
            plotlyMs: last ? last.drawn - last.decoded : null,
            decodeMs: last ? last.decoded - last.received : null,
            ws: window.__gmmWs.slice(wsStart),
            longTasks: window.__gmmLongTasks.filter(([s, d]) => s + d >= t0),
          });
        }, 0);
        return;
      }
      if (now - t0 > timeoutMs) {
        resolve({ error: `timed out after ${timeoutMs} ms`, status0, status });
        return;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}"""
)

# The stepper is on screen: its status line, an E-step button and a chart.
STEPPER_READY_JS = (
    "() => {"
    + SIGNATURE_HELPERS_JS
    + """
  return __gmmStatus() !== null && __gmmMainChart() !== null &&
    Array.from(document.querySelectorAll('[data-testid="stMain"] button'))
      .some((b) => b.innerText.trim() === 'E-step');
}"""
)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class ClickTiming:
    """One timed click (milliseconds, relative to the click)."""

    label: str
    total: float  # click -> new state painted
    server: float | None  # click -> the chart's delta arrived (largest message)
    browser: float | None  # that message -> painted
    status: float  # click -> status line changed
    long_tasks: float  # main-thread long-task time in the window
    bytes_in: int  # WebSocket bytes received in the window
    same_div: bool  # Plotly updated the chart's div in place (False: a new div was mounted)
    plotly: float | None = None  # Plotly.react / newPlot in the chart's frame
    decode: float | None = None  # JSON.parse + base64 decoding of the figure in the frame


@dataclass
class ClickSeries:
    n_points: int
    timings: list[ClickTiming] = field(default_factory=list)
    resets: int = 0
    problems: list[str] = field(default_factory=list)


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (linear interpolation) of a non-empty list."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def click_timing(label: str, raw: dict[str, Any]) -> ClickTiming:
    """Turn the page's raw timestamps into a :class:`ClickTiming`."""
    t0 = raw["t0"]
    incoming = [(t, n) for kind, t, n in raw["ws"] if kind == "in" and t <= raw["tData"]]
    server = browser = None
    if incoming:
        t_big = max(incoming, key=lambda item: item[1])[0]
        server, browser = t_big - t0, raw["tPaint"] - t_big
    long_tasks = sum(
        min(start + duration, raw["tPaint"]) - max(start, t0)
        for start, duration in raw["longTasks"]
    )
    return ClickTiming(
        label=label,
        total=raw["tPaint"] - t0,
        server=server,
        browser=browser,
        status=raw["tStatus"] - t0,
        long_tasks=max(long_tasks, 0.0),
        bytes_in=sum(n for _, n in incoming),
        same_div=bool(raw["sameDiv"]),
        plotly=raw.get("plotlyMs"),
        decode=raw.get("decodeMs"),
    )


# --------------------------------------------------------------------------------------------
# Driving the page
# --------------------------------------------------------------------------------------------


def stepper_url(server: AppServer, n_points: int, **extra: str) -> str:
    """/em-2d with blobs of ``n_points`` points, slow to converge (so many clicks stay in run)."""
    query = {
        "dataset": "blobs",
        "d.n_samples": str(n_points),
        "d.separation": "2.0",
        "K": "3",
        "tol": "1e-09",
        "max_iter": "200",
        "seed": "0",
        **extra,
    }
    return server.url("/em-2d?" + urlencode(query))


def open_stepper(browser: Any, server: AppServer, n_points: int,
                 **extra: str) -> tuple[Any, Any]:
    """A fresh context and page showing the 2-D stepper with ``n_points`` points."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(stepper_url(server, n_points, **extra), wait_until="domcontentloaded")
    wait_for_idle(page, 120_000)
    wait_for_plots(page, 1, 120_000)
    wait_for_paint(page)
    return context, page


def click_button(page: Any, label: str) -> None:
    """An untimed click; waits for the rerun to finish."""
    page.get_by_role("button", name=label, exact=True).click()
    settle(page)


def settle(page: Any) -> None:
    """Wait until the rerun is over: idle, the stepper and its chart are back, and painted."""
    page.wait_for_timeout(50)
    wait_for_idle(page, 120_000)
    page.wait_for_function(STEPPER_READY_JS, timeout=120_000)
    wait_for_plots(page, 1, 120_000)
    wait_for_paint(page)
    page.wait_for_timeout(100)


def time_clicks(browser: Any, server: AppServer, n_points: int, pairs: int) -> ClickSeries:
    """Time ``pairs`` E-step, M-step pairs (after one warm-up pair) at ``n_points`` points."""
    series = ClickSeries(n_points)
    context, page = open_stepper(browser, server, n_points)
    try:
        sequence = ["E-step", "M-step"] * (pairs + 1)
        for i, label in enumerate(sequence):
            status = status_text(page) or ""
            if label == "E-step" and any(word in status for word in RUN_ENDED):
                click_button(page, "Reset")
                series.resets += 1
                settle(page)
            raw = page.evaluate(CLICK_AND_TIME_JS, {"label": label, "timeoutMs": 60_000})
            if "error" in raw:
                series.problems.append(f"{label}: {raw['error']} (status {raw.get('status')!r})")
                settle(page)
                continue
            if i >= 2:  # the first pair warms caches up
                series.timings.append(click_timing(label, raw))
            settle(page)
    finally:
        context.close()
    return series


PLAY_CURSOR_JS = (
    "async ({seconds, startTimeoutMs}) => {"
    + SIGNATURE_HELPERS_JS
    + """
  // The half-step shown, from the status line: Start 0, iteration t after E 2t-1, after M 2t.
  const index = () => {
    const s = __gmmStatus() || '';
    const m = /^Iteration (\\d+) \u00b7 after (E|M)-step/.exec(s);
    if (m) return 2 * Number(m[1]) - (m[2] === 'E' ? 1 : 0);
    return /^Start/.test(s) ? 0 : null;
  };
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const tStart = performance.now();
  let last = index();
  const changes = [];  // [time, half-step] at every change of the shown half-step
  while (true) {
    await frame();
    const now = performance.now();
    if (changes.length === 0 && now - tStart > startTimeoutMs) break;
    if (changes.length > 0 && now - changes[0][0] > seconds * 1000) break;
    const i = index();
    if (i !== null && i !== last) { changes.push([now, i]); last = i; }
  }
  return { changes, status: __gmmStatus() };
}"""
)


def measure_play_speed(browser: Any, server: AppServer, n_points: int, seconds: float,
                       speed: float = PLAY_SPEED) -> dict:
    """Half-steps advanced per second while Play runs at ``speed`` (from the status line)."""
    context, page = open_stepper(browser, server, n_points, speed=f"{speed:g}")
    try:
        page.get_by_role("button", name="Play", exact=True).click()
        raw = page.evaluate(PLAY_CURSOR_JS, {"seconds": seconds, "startTimeoutMs": 10_000})
        pause = page.locator('[data-testid="stMain"] button').filter(has_text="Pause")
        if pause.count():
            pause.first.click()
    finally:
        context.close()
    changes = raw["changes"]
    if len(changes) >= 2:
        span = (changes[-1][0] - changes[0][0]) / 1000
        steps = changes[-1][1] - changes[0][1]
        rate = steps / span if span > 0 else float("nan")
    else:
        span, steps, rate = 0.0, 0, 0.0
    return {"rate": rate, "steps": steps, "frames": len(changes), "span_s": span,
            "status": raw["status"]}


@dataclass
class ColdStart:
    """Seconds from launching the server process."""

    healthy: float  # /_stcore/health answered 200
    first_message: float | None  # first WebSocket message from the script run
    chart_delta: float | None  # the largest message (the main chart) arrived
    drawn: float  # the first chart was drawn and painted
    all_drawn: float  # every chart of the page (the stepper and the log-likelihood) drawn


def measure_cold_start(browser: Any, repo: Path = REPO_ROOT) -> tuple[ColdStart, AppServer]:
    """Launch the server of the checkout ``repo`` and open /em-2d in a fresh browser
    context; time the first chart."""
    t_launch = time.perf_counter()
    server = start_app_server(repo_root=repo, timeout=60.0)
    healthy = time.perf_counter() - t_launch
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(INIT_SCRIPT)
    try:
        page = context.new_page()
        t_goto = time.perf_counter() - t_launch
        page.goto(server.url("/em-2d"), wait_until="domcontentloaded", timeout=120_000)
        wait_for_plots(page, 1, 120_000)
        wait_for_paint(page)
        drawn = time.perf_counter() - t_launch
        wait_for_plots(page, 2, 120_000)
        wait_for_paint(page)
        all_drawn = time.perf_counter() - t_launch
        ws = page.evaluate("() => window.__gmmWs")
    finally:
        context.close()
    incoming = [(t, n) for kind, t, n in ws if kind == "in"]
    # In-page times count from navigation start, which is (within ms) when goto() was called.
    first = t_goto + incoming[0][0] / 1000 if incoming else None
    big = t_goto + max(incoming, key=lambda item: item[1])[0] / 1000 if incoming else None
    return ColdStart(healthy, first, big, drawn, all_drawn), server


def profile_clicks(browser: Any, server: AppServer, n_points: int, pairs: int) -> dict:
    """A V8 CPU profile (1 ms sampling) of ``pairs`` E-step + M-step clicks, untimed."""
    context, page = open_stepper(browser, server, n_points)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        cdp.send("Profiler.start")
        for label in ["E-step", "M-step"] * pairs:
            raw = page.evaluate(CLICK_AND_TIME_JS, {"label": label, "timeoutMs": 60_000})
            settle(page)
            if "error" in raw:
                break
        profile = cdp.send("Profiler.stop")["profile"]
    finally:
        context.close()
    return profile


def summarise_profile(profile: dict, top: int = 12) -> tuple[list, list, float]:
    """Self time by function and by script, in ms; and the total sampled (non-idle) time."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    self_ms: dict[int, float] = {}
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_ms[node_id] = self_ms.get(node_id, 0.0) + delta / 1000
    by_function: dict[str, float] = {}
    by_script: dict[str, float] = {}
    busy = 0.0
    for node_id, ms in self_ms.items():
        frame = nodes[node_id]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        if name in ("(idle)", "(program)"):
            continue
        script = frame["url"].rsplit("/", 1)[-1] or "(native)"
        key = (
            f"{name} [{script}:{frame['lineNumber'] + 1}:{frame['columnNumber'] + 1}]"
            if frame["url"]
            else name
        )
        by_function[key] = by_function.get(key, 0.0) + ms
        by_script[script] = by_script.get(script, 0.0) + ms
        busy += ms
    ordered = sorted(by_function.items(), key=lambda item: -item[1])[:top]
    return ordered, sorted(by_script.items(), key=lambda item: -item[1])[:6], busy


def print_profile(profile: dict, n_points: int) -> None:
    functions, scripts, busy = summarise_profile(profile)
    print(
        f"\nBrowser CPU profile, 3 E-step + M-step pairs at N = {n_points:,} "
        f"(self time, ms; {busy:.0f} ms busy in all):"
    )
    for script, ms in scripts:
        print(f"  {ms:7.0f}  {script}")
    print("  top functions:")
    for name, ms in functions:
        print(f"  {ms:7.0f}  {name}")


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def load_average() -> str:
    """The 1-minute load average (``/proc/loadavg``), or "?" where there is none."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def checkout_commit(repo: Path) -> str:
    """The short commit of the checkout ``repo`` (with "+ changes" if its tree differs)."""
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return commit + (" + uncommitted changes" if dirty else "")


def fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def fmt_ms(values: list[float]) -> str:
    if not values:
        return f"{'-':>7} {'-':>7}"
    return f"{statistics.median(values):7.0f} {quantile(values, 0.9):7.0f}"


def print_breakdown(series: ClickSeries) -> None:
    print(f"\nWhere a click goes, N = {series.n_points:,} (ms; median, p90):")
    print(f"  {'':24} {'median':>7} {'p90':>7}")
    for label in ("E-step", "M-step"):
        rows = [t for t in series.timings if t.label == label]
        if not rows:
            continue
        print(f"  {label}")
        print(f"    {'total (click->painted)':22} {fmt_ms([t.total for t in rows])}")
        print(f"    {'status line changed':22} {fmt_ms([t.status for t in rows])}")
        servers = [t.server for t in rows if t.server is not None]
        browsers = [t.browser for t in rows if t.browser is not None]
        print(f"    {'server (->chart delta)':22} {fmt_ms(servers)}")
        print(f"    {'browser (delta->paint)':22} {fmt_ms(browsers)}")
        plotly = [t.plotly for t in rows if t.plotly is not None]
        decode = [t.decode for t in rows if t.decode is not None]
        if plotly:
            print(f"    {'  of which Plotly draw':22} {fmt_ms(plotly)}")
            print(f"    {'  of which decoding':22} {fmt_ms(decode)}")
        print(f"    {'long tasks in window':22} {fmt_ms([t.long_tasks for t in rows])}")
        kib = statistics.median(t.bytes_in for t in rows) / 1024
        print(f"    {'bytes received (KiB)':22} {kib:7.0f}")
        remounts = sum(not t.same_div for t in rows)
        print(f"    {'chart div replaced':22} {remounts:>7} of {len(rows)} clicks")
    if series.resets:
        print(f"  (pressed Reset {series.resets}x, untimed, when the run had ended)")
    for problem in series.problems:
        print(f"  problem: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pairs",
        type=int,
        default=10,
        help="timed E-step + M-step pairs per N (default 10: 20 clicks)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 50_000])
    parser.add_argument("--play-seconds", type=float, default=5.0)
    parser.add_argument(
        "--cold-runs",
        type=int,
        default=1,
        help="cold starts to measure (a fresh server each); the median is reported",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also CPU-profile 3 click pairs at the largest N (browser side) and "
        "print the functions where the time goes",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        default=None,
        help="write a Chrome performance trace of the largest N's clicks here",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=REPO_ROOT,
        help="measure the app of another checkout (e.g. a `git worktree add /tmp/old <commit>`),"
        " with this script's harness: run both, one after the other, to compare versions",
    )
    args = parser.parse_args(argv)
    args.repo = args.repo.resolve()
    if not (args.repo / "app.py").is_file():
        print(f"No app.py in {args.repo}.", file=sys.stderr)
        return 2

    chromium = find_chromium()
    if chromium is None:
        print("No Chromium found (/usr/bin/chromium or $GMM_CHROMIUM).", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    lines: list[tuple[str, str, str, bool]] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        load_start = load_average()
        colds: list[ColdStart] = []
        for _ in range(max(args.cold_runs, 1) - 1):
            sample, spare = measure_cold_start(browser, args.repo)
            spare.stop()
            colds.append(sample)
        sample, server = measure_cold_start(browser, args.repo)
        colds.append(sample)
        cold = sorted(colds, key=lambda c: c.all_drawn)[(len(colds) - 1) // 2]  # the median
        try:
            lines.append(("cold start -> first chart on /em-2d", f"{cold.drawn:.2f} s", "-",
                          True))
            lines.append(
                (
                    "cold start -> every chart on /em-2d",
                    f"{cold.all_drawn:.2f} s",
                    f"<= {TARGET_COLD_START_S:g} s",
                    cold.all_drawn <= TARGET_COLD_START_S,
                )
            )
            all_series = []
            profile = None
            if args.profile:
                profile = profile_clicks(browser, server, max(args.sizes), 3)
            for n_points in args.sizes:
                if args.trace and n_points == max(args.sizes):
                    browser.start_tracing(
                        screenshots=False,
                        categories=[
                            "devtools.timeline",
                            "blink.user_timing",
                            "v8.execute",
                            "disabled-by-default-devtools.timeline",
                        ],
                    )
                series = time_clicks(browser, server, n_points, args.pairs)
                if args.trace and n_points == max(args.sizes):
                    args.trace.parent.mkdir(parents=True, exist_ok=True)
                    args.trace.write_bytes(browser.stop_tracing())
                    print(
                        f"Chrome trace written to {args.trace} (open in chrome://tracing or "
                        "https://ui.perfetto.dev)."
                    )
                all_series.append(series)
                totals = [t.total for t in series.timings]
                target = TARGET_CLICK_MS.get(n_points)
                if totals:
                    median, p90 = statistics.median(totals), quantile(totals, 0.9)
                    lines.append(
                        (
                            f"click -> chart, N = {n_points:,} ({len(totals)} clicks)",
                            f"median {median:.0f} ms, p90 {p90:.0f} ms",
                            f"<= {target:g} ms (median)" if target else "-",
                            target is None or median <= target,
                        )
                    )
                else:
                    lines.append((f"click -> chart, N = {n_points:,}", "no timing", "-", False))
            play = measure_play_speed(browser, server, 2_000, args.play_seconds)
            low, high = PLAY_SPEED * (1 - PLAY_TOLERANCE), PLAY_SPEED * (1 + PLAY_TOLERANCE)
            lines.append(
                (
                    f"Play at {PLAY_SPEED:g}/s, N = 2,000 ({play['steps']} half-steps, "
                    f"{play['frames']} drawn, in {play['span_s']:.1f} s)",
                    f"{play['rate']:.1f} half-steps/s",
                    f"{low:g} to {high:g} /s",
                    low <= play["rate"] <= high,
                )
            )
        finally:
            server.stop()
            browser.close()

    print()
    width = max(len(line[0]) for line in lines)
    value_width = max(len(line[1]) for line in lines)
    print(f"{'measure':{width}}  {'result':{value_width}}  {'target':18}  verdict")
    print("-" * (width + value_width + 32))
    for name, value, target, ok in lines:
        print(f"{name:{width}}  {value:{value_width}}  {target:18}  {verdict(ok)}")
    print(
        f"\nLoad average (1 min) at the start: {load_start}; at the end: {load_average()} "
        f"({os.cpu_count()} CPUs). Timings on a shared machine grow with it."
    )
    print(f"App measured: {args.repo} at {checkout_commit(args.repo)}.")
    if len(colds) > 1:
        print("Cold starts to every chart (s): "
              + ", ".join(f"{c.all_drawn:.2f}" for c in colds) + " (median below)")
    print(
        "\nCold start (s after launching `streamlit run`): server healthy "
        f"{cold.healthy:.2f}, first script message {fmt_s(cold.first_message)}, "
        f"chart delta {fmt_s(cold.chart_delta)}, chart drawn {cold.drawn:.2f}, every chart "
        f"drawn {cold.all_drawn:.2f}."
    )
    for series in all_series:
        print_breakdown(series)
    if profile is not None:
        print_profile(profile, max(args.sizes))
    print(f"\nPlay ended at: {play['status']!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
