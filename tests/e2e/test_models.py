"""Browser tests of the model pages (issue 8): each opens by its deep link on a fresh server;
a click on a point of /choose-k opens the stepper at that model; screenshots at 1280x800 and
1920x1080 (``artifacts/screenshots/models-<page>-<width>.png``).

Run with ``python -m pytest tests/e2e/test_models.py -m e2e -q``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import BrowserPage, app_server_lib
from .test_pages import assert_healthy, nav_links

pytestmark = pytest.mark.e2e

MODEL_PAGES = {
    # slug: (path with a query, nav title, heading text, charts to wait for)
    "choose-k": ("/choose-k?dataset=old_faithful", "Choose K", "Choose K", 1),
    "restarts": ("/restarts?dataset=old_faithful&K=2&cov=full", "Restarts", "Restarts", 2),
    "kmeans-vs-gmm": ("/kmeans-vs-gmm?dataset=anisotropic&step=6", "k-means vs mixture",
                      "k-means vs a mixture", 2),
}
MODEL_PAGES_1D = {
    # The same pages on 1-D data: the data set's name implies the dimension.
    "choose-k-1d": ("/choose-k?dataset=two_gaussians_1d", "Choose K", "Choose K", 1),
    "restarts-1d": ("/restarts?dataset=galaxies&K=3&cov=full&restarts=16", "Restarts",
                    "Restarts", 2),
    "kmeans-vs-gmm-1d": ("/kmeans-vs-gmm?dataset=calm_and_crisis_returns&step=6",
                         "k-means vs mixture", "k-means vs a mixture", 2),
}
SLOW_MS = 240_000  # a cold sweep on a loaded 2-core machine


def _open(app_page: BrowserPage, slug: str) -> None:
    path, _, heading, charts = {**MODEL_PAGES, **MODEL_PAGES_1D}[slug]
    page = app_page.page
    # Not app_page.goto: its 30 s wait is too short for a cold sweep on a loaded machine.
    page.goto(app_page.server.url(path), wait_until="domcontentloaded")
    page.locator('[data-testid="stMain"] h3', has_text=heading).first.wait_for(
        timeout=SLOW_MS
    )
    app_server_lib.wait_for_idle(page, timeout_ms=SLOW_MS)
    app_server_lib.wait_for_plots(page, charts, timeout_ms=SLOW_MS)
    app_server_lib.wait_for_paint(page)


def _nothing_cut_off(page: object) -> list[str]:
    """Elements of the main area wider than the area (cut off or scrolling sideways)."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => {
          const main = document.querySelector('[data-testid="stMain"]');
          const limit = main.getBoundingClientRect().right + 1;
          return Array.from(main.querySelectorAll(
              '[data-testid="stPlotlyChart"], [data-testid="stDataFrame"], .stButton, h3'))
            .filter((el) => el.getBoundingClientRect().right > limit)
            .map((el) => el.getAttribute('data-testid') || el.tagName);
        }"""
    )


@pytest.mark.parametrize("slug", [*MODEL_PAGES, *MODEL_PAGES_1D])
def test_model_page_deep_link_on_a_fresh_server(
    fresh_app_page: BrowserPage, slug: str, screenshot_dir: Path
) -> None:
    _open(fresh_app_page, slug)
    page = fresh_app_page.page
    page.screenshot(path=str(screenshot_dir / f"models-{slug}-1280.png"), full_page=True)
    main = page.locator('[data-testid="stMain"]').inner_text()
    assert "Page not found" not in main
    titles = [t for t, _ in nav_links(page)]
    for _, nav_title, _, _ in MODEL_PAGES.values():
        assert nav_title in titles, titles
    assert not _nothing_cut_off(page)
    assert_healthy(fresh_app_page)


@pytest.mark.parametrize("slug", [*MODEL_PAGES, *MODEL_PAGES_1D])
def test_model_pages_at_1920x1080(app_page: BrowserPage, slug: str, screenshot_dir: Path) -> None:
    app_page.page.set_viewport_size({"width": 1920, "height": 1080})
    _open(app_page, slug)
    app_page.page.screenshot(path=str(screenshot_dir / f"models-{slug}-1920.png"),
                             full_page=True)
    assert not _nothing_cut_off(app_page.page)
    assert_healthy(app_page)


POINT_JS = """() => {
  // The point of the BIC panel farthest (in pixels) from every other line's point at the
  // same K, so that the click cannot land on another line's point.
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect();
  const panel = gd._fullData.filter((t) => t.xaxis === 'x' && t.name !== 'best');
  let best = null;
  for (const trace of panel) {
    Array.from(trace.x).forEach((k, i) => {
      const py = ya.l2p(trace.y[i]);
      let gap = Infinity;
      for (const other of panel) {
        if (other === trace) continue;
        const j = Array.from(other.x).indexOf(k);
        if (j >= 0) gap = Math.min(gap, Math.abs(ya.l2p(other.y[j]) - py));
      }
      if (best === null || gap > best.gap) {
        best = {gap, k, cov: trace.customdata[i][0],
                x: box.left + xa._offset + xa.l2p(k), y: box.top + ya._offset + py};
      }
    });
  }
  return best;
}"""


def test_clicking_a_point_on_choose_k_opens_the_stepper_at_that_model(
    fresh_app_page: BrowserPage,
) -> None:
    _open(fresh_app_page, "choose-k")
    page = fresh_app_page.page
    point = page.evaluate(POINT_JS)
    assert point["gap"] > 12, point  # pixels: a clear click on one line's point
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/em-2d?**", timeout=SLOW_MS)
    app_server_lib.wait_for_idle(page, timeout_ms=SLOW_MS)
    app_server_lib.wait_for_plots(page, 2, timeout_ms=SLOW_MS)
    query = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert urlparse(page.url).path.rstrip("/").endswith("/em-2d")
    assert query["dataset"] == "old_faithful"
    assert query["K"] == str(point["k"])
    assert query["cov"] == point["cov"]
    assert query["rule"] == "loglik_change"
    assert query["init"] == "kmeans++"
    assert "seed" in query
    status = app_server_lib.status_text(page) or ""
    assert status, "the stepper shows no status line"
    heading = page.locator('[data-testid="stMain"] h3').first.inner_text()
    assert "Old Faithful" in heading
    assert_healthy(fresh_app_page)


def test_clicking_a_point_on_choose_k_with_1d_data_opens_the_1d_stepper(
    fresh_app_page: BrowserPage, screenshot_dir: Path
) -> None:
    _open(fresh_app_page, "choose-k-1d")
    page = fresh_app_page.page
    point = page.evaluate(POINT_JS)
    assert point["gap"] > 12, point
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/em-1d?**", timeout=SLOW_MS)
    app_server_lib.wait_for_idle(page, timeout_ms=SLOW_MS)
    app_server_lib.wait_for_plots(page, 2, timeout_ms=SLOW_MS)
    query = {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert urlparse(page.url).path.rstrip("/").endswith("/em-1d")
    assert query["dataset"] == "two_gaussians_1d"
    assert query["K"] == str(point["k"])
    assert query["cov"] == point["cov"]
    assert point["cov"] in ("full", "tied")
    assert query["init"] == "kmeans++"
    assert "seed" in query
    heading = page.locator('[data-testid="stMain"] h3').first.inner_text()
    assert "Two Gaussians" in heading
    assert_healthy(fresh_app_page)
