"""Start the Streamlit app and drive it in headless Chromium: shared by the browser tests and
``bench_app.py``.

This is the ONE copy of the start / wait / read-the-chart code. ``tests/e2e/conftest.py`` loads
it by file path; ``benchmarks/bench_app.py`` imports it from its own directory.

Nothing here is downloaded: the browser is the system Chromium (Debian's ``/usr/bin/chromium``,
or the path in the environment variable ``GMM_CHROMIUM``), driven by Playwright for Python.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # Playwright is only needed once a browser is actually driven.
    from playwright.sync_api import Browser, Page, Playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The repository root: the server's working directory (``app.py`` lives here)."""

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ENV_VAR = "GMM_CHROMIUM"

CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
"""Flags known to work with Debian's Chromium in a container (WebGL falls back to SwiftShader)."""

VIEWPORT: dict[str, int] = {"width": 1280, "height": 800}
"""The layout the app is designed for (a projector); screenshots are taken at this size."""

APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
"""Matches once the script has run at least once and is not running now."""

PLOT_SELECTOR = ".js-plotly-plot"
"""A Plotly graph div (it carries ``.data`` / ``._fullData``). The stepper's charts are
``live_chart`` components: their graph divs live in the component's (same-origin) iframe, so
look for them with :data:`CHARTS_JS` (or the JS helper ``__gmmCharts()``), not with
``document.querySelectorAll`` on the page."""

PAGE_PLOT_SELECTOR = '[data-testid="stPlotlyChart"] .js-plotly-plot'
"""A graph div drawn by ``st.plotly_chart`` directly in the page (no iframe)."""

CHARTS_JS = r"""
const __gmmCharts = () => {
  // Every Plotly graph div, in page order: those drawn by st.plotly_chart in the page and
  // those inside component iframes (live_chart), which are same-origin.
  const out = [];
  const frames = document.querySelectorAll(
    '[data-testid="stPlotlyChart"], [data-testid="stMain"] iframe, '
    + '[data-testid="stSidebar"] iframe');
  for (const el of frames) {
    if (el.tagName !== 'IFRAME') {
      out.push(...el.querySelectorAll('__PLOTS__'));
      continue;
    }
    let doc = null;
    try { doc = el.contentDocument; } catch (e) { doc = null; }  // cross-origin: not ours
    if (doc) out.push(...doc.querySelectorAll('__PLOTS__'));
  }
  return out;
};
""".replace("__PLOTS__", PLOT_SELECTOR)
"""JS defining ``__gmmCharts()``: every Plotly graph div on the page, iframes included."""

EXCEPTION_SELECTOR = '[data-testid="stException"]'

HEALTH_PATH = "/_stcore/health"


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


def find_chromium() -> str | None:
    """Return the path of a usable Chromium executable, or None if there is none.

    Returns
    -------
    str or None
        ``$GMM_CHROMIUM`` if set and executable, else ``/usr/bin/chromium`` if present, else a
        ``chromium`` found on ``PATH``.
    """
    candidates = [os.environ.get(CHROMIUM_ENV_VAR), DEFAULT_CHROMIUM, shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch_chromium(playwright: Playwright, executable_path: str) -> Browser:
    """Launch headless Chromium with the flags that work here.

    Parameters
    ----------
    playwright : Playwright
        A started ``sync_playwright()`` instance.
    executable_path : str
        Path of the Chromium binary (see :func:`find_chromium`).

    Returns
    -------
    Browser
    """
    return playwright.chromium.launch(
        executable_path=executable_path, headless=True, args=list(CHROMIUM_ARGS)
    )


# --------------------------------------------------------------------------------------------
# The Streamlit server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerStartError(RuntimeError):
    """The Streamlit server did not become healthy; the message carries its output."""


@dataclass
class AppServer:
    """A running ``streamlit run app.py`` subprocess in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    _log_file: IO[bytes] = field(repr=False)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this server (``path`` starts with ``/``)."""
        return self.base_url + path

    def output(self) -> str:
        """Everything the server has written to stdout and stderr so far."""
        self._log_file.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server's whole process group (SIGTERM, then SIGKILL) and clean up."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=timeout)
        if not self._log_file.closed:
            self._log_file.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _health_ok(url: str) -> bool:
    """True if ``url`` answers HTTP 200 (loopback only: proxies are bypassed)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2.0) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_app_server(
    *,
    repo_root: Path = REPO_ROOT,
    script: str = "app.py",
    port: int | None = None,
    timeout: float = 30.0,
    extra_args: tuple[str, ...] = (),
) -> AppServer:
    """Start ``streamlit run <script>`` on a loopback port and wait until it is healthy.

    Parameters
    ----------
    repo_root : Path
        Working directory of the server (the repository root, so ``.streamlit/config.toml``
        and ``pages/`` are found).
    script : str
        The main script, relative to ``repo_root``.
    port : int, optional
        Port to listen on; a free one is picked if omitted.
    timeout : float
        Seconds to wait for ``/_stcore/health`` to answer 200.
    extra_args : tuple of str
        More ``streamlit run`` options.

    Returns
    -------
    AppServer
        The running server; call :meth:`AppServer.stop` (or use it as a context manager).

    Raises
    ------
    ServerStartError
        If the process exits or is not healthy within ``timeout``; the message includes the
        server's output.
    """
    port = free_port() if port is None else port
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        *extra_args,
    ]
    fd, log_name = tempfile.mkstemp(prefix="streamlit-e2e-", suffix=".log")
    log_file = os.fdopen(fd, "w+b")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        cwd=repo_root,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, so stop() kills children too
    )
    server = AppServer(process=process, port=port, log_path=Path(log_name), _log_file=log_file)
    health_url = server.url(HEALTH_PATH)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = server.output()
            server.stop()
            raise ServerStartError(
                f"`{' '.join(command)}` exited with code {process.returncode} before it was "
                f"healthy. Server output:\n{output}"
            )
        if _health_ok(health_url):
            return server
        if time.monotonic() > deadline:
            output = server.output()
            server.stop()
            raise ServerStartError(
                f"The Streamlit server on port {port} did not answer 200 on {HEALTH_PATH} "
                f"within {timeout:.0f} s. Server output:\n{output}"
            )
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Waiting in the page
# --------------------------------------------------------------------------------------------

PLOTS_DRAWN_JS = (
    "(minCount) => {"
    + CHARTS_JS
    + """
  const divs = __gmmCharts();
  if (divs.length < minCount) return false;
  return divs.every((gd) => {
    if (!gd._fullLayout || !gd._fullData || !gd.querySelector('.main-svg')) return false;
    const gl = gd._fullData.some((t) => String(t.type || '').endsWith('gl'));
    return !gl || gd.querySelector('canvas') !== null;
  });
}"""
)
"""JS predicate: at least ``minCount`` Plotly charts exist and every one has been drawn."""


def wait_for_idle(page: Page, timeout_ms: float = 30_000) -> None:
    """Wait until the script has run and is not running (the page has settled)."""
    page.wait_for_selector(APP_IDLE, state="attached", timeout=timeout_ms)


def wait_for_plots(page: Page, min_count: int = 1, timeout_ms: float = 30_000) -> None:
    """Wait until at least ``min_count`` Plotly charts are present and all of them are drawn."""
    page.wait_for_function(PLOTS_DRAWN_JS, arg=min_count, timeout=timeout_ms)


def wait_for_paint(page: Page) -> None:
    """Return after the browser has painted the current DOM (a frame, then a task after it)."""
    page.evaluate(
        "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => "
        "setTimeout(r, 0))))"
    )


# --------------------------------------------------------------------------------------------
# Reading the chart: a compact signature of every trace of every Plotly chart
# --------------------------------------------------------------------------------------------

SIGNATURE_HELPERS_JS = CHARTS_JS + r"""
const __gmmHash = (h, s) => {
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
};
const __gmmSig = (v) => {
  // A 32-bit FNV-1a hash of a trace attribute: arrays, typed arrays, nested arrays (contour z),
  // base64 typed-array specs ({dtype, bdata}) and scalars. Numbers are hashed to 6 significant
  // digits so float noise does not count as a change.
  let h = 2166136261;
  const walk = (x) => {
    if (x === null || x === undefined) { h = __gmmHash(h, '~'); return; }
    if (Array.isArray(x) || ArrayBuffer.isView(x)) {
      h = __gmmHash(h, '[' + x.length);
      for (let i = 0; i < x.length; i++) walk(x[i]);
      return;
    }
    if (typeof x === 'number') { h = __gmmHash(h, ',' + x.toPrecision(6)); return; }
    if (typeof x === 'object') {
      if (typeof x.bdata === 'string') { h = __gmmHash(h, 'b' + x.dtype + x.bdata); return; }
      h = __gmmHash(h, JSON.stringify(x)); return;
    }
    h = __gmmHash(h, ',' + String(x));
  };
  walk(v);
  return h.toString(16);
};
const __gmmTraceSig = (t) => {
  const m = t.marker || {};
  const line = t.line || {};
  return {
    type: t.type || 'scatter', name: t.name === undefined ? null : String(t.name),
    mode: t.mode === undefined ? null : String(t.mode), visible: t.visible === undefined ?
      true : t.visible,
    n: (t.x && t.x.length) || (t.y && t.y.length) || 0,
    color: __gmmSig([m.color, line.color, t.fillcolor, m.colors]),
    coords: __gmmSig([t.x, t.y, t.z, t.base]),
  };
};
const __gmmMainChart = () => {
  // The stepper chart: the one with the most points in a single trace.
  let best = null, bestN = -1;
  for (const gd of __gmmCharts()) {
    for (const t of gd._fullData || []) {
      const n = (t.x && t.x.length) || 0;
      if (n > bestN) { best = gd; bestN = n; }
    }
  }
  return best;
};
const __gmmStatus = () => {
  // The stepper's status line, e.g. "Iteration 3 · after E-step · next: M-step · ...".
  const re = /(Start \(iteration 0\)|Iteration \d+) \u00b7 /;
  for (const el of document.querySelectorAll(
      '[data-testid="stMain"] [data-testid="stMarkdownContainer"]')) {
    const text = el.textContent || '';  // textContent: no forced layout per frame
    if (re.test(text)) return text.trim();
  }
  return null;
};
const __gmmChartSig = (gd) => ({
  traces: (gd._fullData || []).map(__gmmTraceSig),
  title: (gd.layout && gd.layout.title && gd.layout.title.text) || null,
});
"""

CHART_SIGNATURES_JS = (
    "() => {" + SIGNATURE_HELPERS_JS + "return __gmmCharts().map(__gmmChartSig); }"
)
"""JS: a list (one per chart, in page order) of ``{traces: [{type, name, mode, visible, n,
color, coords}], title}`` where ``color`` and ``coords`` are hashes of the drawn data."""


def chart_signatures(page: Page) -> list[dict[str, Any]]:
    """Signatures of every Plotly chart on the page, in document order.

    Returns
    -------
    list of dict
        One dict per chart: ``{"traces": [...], "title": str | None}``; each trace is
        ``{"type", "name", "mode", "visible", "n", "color", "coords"}`` where ``color`` hashes
        the marker / line / fill colours and ``coords`` hashes x, y, z (so a recolouring and a
        move can be told apart).
    """
    return page.evaluate(CHART_SIGNATURES_JS)


STATUS_JS = "() => {" + SIGNATURE_HELPERS_JS + "return __gmmStatus(); }"


def status_text(page: Page) -> str | None:
    """The stepper's status line ("Iteration 3 · after E-step · next: M-step · ..."), or None."""
    return page.evaluate(STATUS_JS)


TRACE_VALUES_JS = (
    "([name, attr, limit]) => {"
    + CHARTS_JS
    + """
  for (const gd of __gmmCharts()) {
    const t = (gd._fullData || []).find((t) => t.name === name);
    if (t) return Array.from(t[attr] || []).slice(0, limit);
  }
  return null;
}"""
)


def trace_values(page: Page, name: str, attr: str = "x", limit: int = 5000) -> list | None:
    """The first ``limit`` values of attribute ``attr`` (e.g. "x") of the first drawn trace
    named ``name`` on any chart of the page (iframes included), or None if there is none."""
    return page.evaluate(TRACE_VALUES_JS, [name, attr, limit])
