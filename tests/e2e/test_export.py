"""Browser tests of the exports: PNG and SVG of the charts (made in the browser), the animation
(GIF, one frame per half-step), the parameters (JSON) and points (CSV) on the stepper pages,
no request leaving the app's origin, and no download served to another session.

Run with ``python -m pytest tests/e2e/test_export.py -m e2e -q`` (needs Chromium; see
``conftest.py``). Screenshots of both stepper pages at 1280x800 and 1920x1080 (top of the page
and the downloads panel) go to ``artifacts/screenshots/export-*.png``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from .conftest import BrowserPage, app_server_lib, open_page
from .test_your_data import (
    MAIN,
    SIDEBAR,
    assert_healthy,
    click_step,
    upload,
    use_this_data,
    visited_server,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.e2e

PAGE_PATHS = ("/", "/em-1d", "/em-2d", "/your-data")
"""The page table (gmm_app.routing); pages found in the sidebar are visited too."""

EXPORT_FRAME_JS = """() => {
    const el = document.getElementById('export');
    return el !== null && getComputedStyle(el).display !== 'none'
        && !!document.getElementById('chart')._fullLayout;
}"""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def chart_frames(page: Any) -> list[Any]:
    """The live_chart iframes of the page whose chart is drawn and whose buttons are shown."""
    frames = []
    for frame in page.frames:
        if frame is page.main_frame:
            continue
        try:
            if frame.evaluate(EXPORT_FRAME_JS):
                frames.append(frame)
        except Exception:  # a frame that is not ours (or is going away)
            continue
    return frames


def main_chart_frame(page: Any) -> Any:
    """The iframe of the stepper's main chart (the one with a trace named "points")."""
    for frame in chart_frames(page):
        names = frame.evaluate(
            "() => (document.getElementById('chart')._fullData || []).map((t) => t.name)"
        )
        if "points" in names:
            return frame
    raise AssertionError("no drawn live chart with a 'points' trace")


def download_bytes(page: Any, click: Any) -> tuple[bytes, str]:
    """Run ``click()`` and return the downloaded file's bytes and suggested name."""
    with page.expect_download(timeout=90_000) as info:
        click()
    download = info.value
    return Path(download.path()).read_bytes(), download.suggested_filename


PANEL = '[data-testid="stPopoverBody"]'


def open_share_panel(page: Any) -> Any:
    """Open the stepper's "Share and download" panel (if it is not open) and return it."""
    panel = page.locator(PANEL).filter(has_text="Parameters (JSON)")
    if not panel.count():
        page.locator(MAIN).get_by_role("button", name=re.compile(r"Share and download")).click()
        panel.wait_for()
    return panel


def click_download(page: Any, label: str) -> tuple[bytes, str]:
    """Click a Streamlit download button (its label ends with ``label``): on a stepper page
    in its "Share and download" panel, elsewhere in the main area."""
    name = re.compile(re.escape(label) + "$")
    if page.locator(MAIN).get_by_role("button", name=re.compile(r"Share and download")).count():
        button = open_share_panel(page).get_by_role("button", name=name)
    else:
        button = page.locator(MAIN).get_by_role("button", name=name)
    return download_bytes(page, button.click)


def select_label_column(page: Any, column: str) -> None:
    """Choose ``column`` in the "Label column (optional)" select box of "Your data"."""
    box = page.locator(f'{MAIN} [data-testid="stSelectbox"]').filter(
        has_text="Label column (optional)"
    )
    box.scroll_into_view_if_needed()
    app_server_lib.wait_for_paint(page)
    options = page.locator('[role="option"]')
    for _ in range(5):  # the list can close again while the page is still settling
        box.locator('button[aria-label="Open"]').click()
        try:
            options.first.wait_for(timeout=3_000)
            break
        except Exception:
            continue
    texts = [t.strip() for t in options.all_inner_texts()]
    options.nth(texts.index(column)).click()
    page.wait_for_function(
        "(c) => Array.from(document.querySelectorAll("
        "'[data-testid=\"stMain\"] [data-testid=\"stSelectbox\"] input[role=\"combobox\"]'))"
        ".some((i) => i.value === c)",
        arg=column,
    )
    page.get_by_text(re.compile(r"^Ready: .*\(\d+ labels?")).first.wait_for()
    app_server_lib.wait_for_idle(page)


SCROLL_TOP_JS = """() => { for (const el of document.querySelectorAll('*')) {
    if (el.scrollTop) el.scrollTop = 0; } }"""


def stepper_screenshots(page: Any, directory: Path, name: str) -> None:
    """Screenshots at 1280x800 and 1920x1080: the top of the page, then the downloads panel."""
    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate(SCROLL_TOP_JS)
        app_server_lib.wait_for_paint(page)
        page.wait_for_timeout(400)
        page.screenshot(path=str(directory / f"export-{name}-{width}x{height}-top.png"))
        open_share_panel(page).get_by_role(
            "button", name=re.compile(r"Animation to half-step \d+ \(GIF\)$")
        ).scroll_into_view_if_needed()
        app_server_lib.wait_for_paint(page)
        page.screenshot(path=str(directory / f"export-{name}-{width}x{height}-downloads.png"))
    page.set_viewport_size(app_server_lib.VIEWPORT)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_chart_images_animation_and_files_download_on_the_2d_page(
    visited_server: Any, app_page: BrowserPage, screenshot_dir: Path  # noqa: F811
) -> None:
    """Step to half-step 3 on /em-2d, then download the main chart as PNG and SVG, the
    log-likelihood chart as PNG, the animation (4 frames), the parameters and the points."""
    page = app_page.page
    app_page.goto("/em-2d")
    app_server_lib.wait_for_plots(page, 2)
    for label in ("E-step", "M-step", "E-step"):
        status = click_step(page, label)
    assert status.startswith("Iteration 2 \u00b7 after E-step"), status

    frame = main_chart_frame(page)
    png, png_name = download_bytes(page, frame.get_by_role("button", name="PNG").click)
    assert png_name.endswith(".png")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    layout = frame.evaluate("() => document.getElementById('chart')._fullLayout")
    assert image.size == (2 * layout["width"], 2 * layout["height"])  # scale 2, for slides
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50  # drawn, not blank

    svg, svg_name = download_bytes(page, frame.get_by_role("button", name="SVG").click)
    assert svg_name.endswith(".svg")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert root.get("width") == str(layout["width"])
    assert "x1" in svg.decode("utf-8")  # the axis titles are in the drawing

    others = [f for f in chart_frames(page) if f is not frame]
    assert others, "the log-likelihood chart has export buttons too"
    ll_png, _ = download_bytes(page, others[0].get_by_role("button", name="PNG").click)
    assert Image.open(io.BytesIO(ll_png)).format == "PNG"

    gif, gif_name = click_download(page, "Animation to half-step 3 (GIF)")
    assert gif_name.endswith(".gif")
    animation = Image.open(io.BytesIO(gif))
    assert animation.format == "GIF"
    assert animation.n_frames == 4  # half-steps 0, 1, 2 and 3

    params = json.loads(click_download(page, "Parameters (JSON)")[0])
    k = len(params["weights"])
    assert np.array(params["means"]).shape == (k, 2)
    assert np.array(params["covariances"]).shape == (k, 2, 2)
    assert params["settings"]["half_step"] == 3
    assert params["settings"]["dataset"] == "blobs"
    rows = list(csv.reader(io.StringIO(click_download(
        page, "Points and responsibilities (CSV)")[0].decode("utf-8"))))
    assert rows[0][: 2 + k + 1][-1] == "hard_label"
    assert rows[0][-1] == "label"  # the data set's generating components
    body = np.array([r[: 2 + k + 1] for r in rows[1:]], dtype=float)
    assert np.allclose(body[:, 2 : 2 + k].sum(axis=1), 1.0)
    assert np.array_equal(body[:, 2 + k], body[:, 2 : 2 + k].argmax(axis=1) + 1)

    stepper_screenshots(page, screenshot_dir, "em-2d")
    assert_healthy(page, app_page.console)


def test_1d_page_offers_the_same_downloads(
    visited_server: Any, app_page: BrowserPage, screenshot_dir: Path  # noqa: F811
) -> None:
    page = app_page.page
    app_page.goto("/em-1d")
    app_server_lib.wait_for_plots(page, 2)
    click_step(page, "Iterate")
    frame = main_chart_frame(page)
    svg, _ = download_bytes(page, frame.get_by_role("button", name="SVG").click)
    assert ET.fromstring(svg).tag.endswith("svg")
    gif, _ = click_download(page, "Animation to half-step 2 (GIF)")
    assert Image.open(io.BytesIO(gif)).n_frames == 3
    params = json.loads(click_download(page, "Parameters (JSON)")[0])
    assert np.array(params["covariances"]).shape[1:] == (1, 1)
    stepper_screenshots(page, screenshot_dir, "em-1d")
    assert_healthy(page, app_page.console)


def test_no_request_leaves_the_apps_origin(
    visited_server: Any, app_page: BrowserPage  # noqa: F811
) -> None:
    """Every request of every page (and of the exports) goes to the app's own origin."""
    page = app_page.page
    page.set_default_timeout(120_000)  # the model pages fit many mixtures on first open
    origin = urlsplit(app_page.server.url("/"))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda ws: requests.append(ws.url))

    app_page.goto("/")
    nav = page.locator(f'{SIDEBAR} [data-testid="stSidebarNav"] a')
    nav.first.wait_for()
    linked = {urlsplit(h).path or "/" for h in nav.evaluate_all("(a) => a.map((x) => x.href)")}
    paths = list(dict.fromkeys([*PAGE_PATHS, *sorted(linked)]))
    checked = 0
    for path in paths:
        page.goto(app_page.server.url(path), wait_until="domcontentloaded")
        app_server_lib.wait_for_idle(page, timeout_ms=180_000)
        if path in ("/em-1d", "/em-2d"):
            app_server_lib.wait_for_plots(page, 2, timeout_ms=120_000)
            click_step(page, "E-step")
            frame = main_chart_frame(page)
            frame.locator("#chart").hover()  # shows the mode bar
            download_bytes(page, frame.get_by_role("button", name="PNG").click)
            buttons = frame.evaluate(
                "() => Array.from(document.querySelectorAll('.modebar-btn'))"
                ".map((b) => b.getAttribute('data-title') || '')"
            )
            assert not [b for b in buttons if re.search(r"share|cloud|studio", b, re.I)], buttons
            context = frame.evaluate("() => document.getElementById('chart')._context")
            assert context["showSendToCloud"] is False
            assert context["plotlyServerURL"] == ""
        page.wait_for_timeout(300)
        # Every Plotly chart of the page (st.plotly_chart or live_chart): nothing can send.
        contexts = page.evaluate(
            "() => {" + app_server_lib.CHARTS_JS + "return __gmmCharts().map((gd) => ({"
            "send: gd._context ? gd._context.showSendToCloud : null,"
            "url: gd._context ? gd._context.plotlyServerURL : null}));}"
        )
        checked += len(contexts)
        assert all(c["send"] is False and not c["url"] for c in contexts), (path, contexts)
    assert checked >= 4
    assert len(requests) > 20
    outside = []
    for url in requests:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            continue  # made in the page itself (e.g. the exported images)
        if (parts.hostname, parts.port) != (origin.hostname, origin.port):
            outside.append(url)
    assert not outside, "requests to other origins:\n" + "\n".join(outside)
    assert_healthy(page, app_page.console)


def _labelled_file(labels: list[str], points: np.ndarray) -> bytes:
    lines = ["x,y,label"] + [
        f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(points, labels, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_two_sessions_get_their_own_large_downloads(
    visited_server: Any, app_page: BrowserPage, browser: Any  # noqa: F811
) -> None:
    """Streamlit's media store names files above 1 MiB by length + head + middle + tail. Two
    sessions upload the same 30,000 points with labels differing in 3,000 rows away from the
    head, middle and tail of the exported CSV: each must download its own labels."""
    n = 30_000
    rng = np.random.default_rng(5)
    points = np.vstack([rng.normal([0, 0], 1, (n // 2, 2)), rng.normal([4, 3], 1, (n // 2, 2))])
    labels_a = ["a"] * (n // 2) + ["b"] * (n // 2)
    labels_b = list(labels_a)
    changed = np.r_[np.arange(2_000, 13_000, 7)[:1_400], np.arange(17_000, 28_000, 6)[:1_600]]
    for i in changed:
        labels_b[i] = "b" if labels_a[i] == "a" else "a"
    assert sum(a != b for a, b in zip(labels_a, labels_b, strict=True)) == 3_000

    def prepare(opened: BrowserPage, labels: list[str], name: str) -> None:
        opened.page.set_default_timeout(90_000)  # 30,000 rows on a busy machine
        opened.goto("/your-data")
        upload(opened, name=name, content=_labelled_file(labels, points))
        select_label_column(opened.page, "label")
        use_this_data(opened, "/em-2d")

    with open_page(browser, app_page.server) as other:
        prepare(app_page, labels_a, "class-data.csv")
        prepare(other, labels_b, "class-data.csv")
        texts = {}
        for who, opened in (("A", app_page), ("B", other)):
            data, _ = click_download(opened.page, "Points and responsibilities (CSV)")
            texts[who] = data
        assert len(texts["A"]) == len(texts["B"]) > 1_048_576  # the partial-fingerprint range
        for who, labels in (("A", labels_a), ("B", labels_b)):
            rows = list(csv.reader(io.StringIO(texts[who].decode("utf-8"))))
            assert rows[0][-1] == "label"
            got = [r[-1] for r in rows[1:]]
            wrong = sum(g != e for g, e in zip(got, labels, strict=True))
            assert wrong == 0, f"session {who} received {wrong} labels of the other session"
        assert_healthy(other.page, other.console)
    assert_healthy(app_page.page, app_page.console)


def test_png_of_a_webgl_chart_shows_its_points(
    visited_server: Any, app_page: BrowserPage  # noqa: F811
) -> None:
    """From 1,000 points the chart draws with WebGL: its PNG must still show the points."""
    page = app_page.page
    app_page.goto("/em-2d?dataset=blobs&d.n_samples=3000")
    app_server_lib.wait_for_plots(page, 2, timeout_ms=90_000)
    click_step(page, "E-step")
    frame = main_chart_frame(page)
    types = frame.evaluate(
        "() => document.getElementById('chart')._fullData.map((t) => t.type)"
    )
    assert types[0] == "scattergl"

    def coloured_pixels() -> int:
        png, _ = download_bytes(page, frame.get_by_role("button", name="PNG").click)
        rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
        # Saturated pixels (points, ellipses, means): far from white, grey and black.
        return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())

    with_points = coloured_pixels()
    frame.evaluate("() => Plotly.restyle(document.getElementById('chart'), {visible: false}, [0])")
    without_points = coloured_pixels()
    frame.evaluate("() => Plotly.restyle(document.getElementById('chart'), {visible: true}, [0])")
    # 3,000 coloured points of about 30 px each (at scale 2) make the difference.
    assert with_points > without_points + 20_000, (with_points, without_points)
    assert_healthy(page, app_page.console)
