"""The 1-D figures of the model pages (gmm_app.figures_models): their data checked against
independent computations (scipy.stats.norm, numpy histograms, brute-force nearest centres)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from scipy.stats import norm

import gmm_core
from gmm_app import figures_models as fm
from gmm_app.declared import COVARIANCE_LABELS_1D
from gmm_app.geometry import component_colours
from gmm_core import GMMParams, datasets


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return datasets.load("two_gaussians_1d").X


@pytest.fixture(scope="module")
def params() -> GMMParams:
    return GMMParams(weights=np.array([0.3, 0.7]), means=np.array([[-2.0], [1.5]]),
                     covariances=np.array([[[0.5]], [[2.0]]]))


def _values(trace: object, name: str) -> np.ndarray:
    value = getattr(trace, name)
    return np.array([np.nan if v is None else v for v in value], dtype=float)


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.integers(-1000, 1000), min_size=1, max_size=8, unique=True),
       hs.lists(hs.floats(-1.2e3, 1.2e3, allow_nan=False), min_size=1, max_size=30))
def test_interval_boundaries_split_the_line_by_nearest_centre(
    centres: list[int], points: list[float]
) -> None:
    c = 0.25 * np.array(centres, dtype=float)  # distinct centres, at least 0.25 apart
    bounds = fm.interval_boundaries(c.reshape(-1, 1))
    assert bounds.shape == (c.size - 1,)
    assert np.all(np.diff(bounds) >= 0)
    p = np.array(points)
    # Brute force: the nearest centre's rank among the sorted centres ...
    nearest_rank = np.argsort(np.argsort(c))[np.abs(p[:, None] - c[None, :]).argmin(axis=1)]
    # ... is the number of boundaries left of the point (ties at a boundary aside).
    side = np.searchsorted(bounds, p)
    clear = np.min(np.abs(p[:, None] - np.append(bounds, np.inf)[None, :]), axis=1) > 1e-6
    assert np.array_equal(side[clear], nearest_rank[clear])


def test_weighted_densities_match_scipy(params: GMMParams) -> None:
    grid = np.linspace(-6, 6, 101)
    got = fm.weighted_densities_1d(grid, params)
    want = np.column_stack([
        0.3 * norm.pdf(grid, -2.0, np.sqrt(0.5)), 0.7 * norm.pdf(grid, 1.5, np.sqrt(2.0))])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)


def test_kmeans_figure_1d_hard_colours_boundaries_and_cells(x: np.ndarray) -> None:
    centres = np.array([[1.0], [-1.0]])
    labels = np.abs(x - centres.T).argmin(axis=1)
    fig = fm.kmeans_figure_1d(x, centres, labels, title="k-means")
    hist, rug, boundary, marks = fig.data
    colours = component_colours(2)
    assert list(rug.marker.color) == [colours[j] for j in labels]
    assert [v for v in boundary.x if v is not None] == pytest.approx([0.0, 0.0])
    assert list(marks.x) == [1.0, -1.0]
    # The histogram is numpy's density histogram of the data.
    widths, heights = np.asarray(hist.width), np.asarray(hist.y)
    assert float((widths * heights).sum()) == pytest.approx(1.0)
    # One tinted cell per centre, left to right: the left cell is centre 1's (at -1).
    cells = fig.layout.shapes
    assert len(cells) == 2
    assert cells[0].x1 == pytest.approx(0.0)
    assert cells[1].x0 == pytest.approx(0.0)
    assert cells[0].fillcolor == fm._tint(colours[1], 0.22)
    grey = fm.kmeans_figure_1d(x, centres, None)
    assert len(set(grey.data[1].marker.color)) == 1


def test_mixture_figure_1d_components_sum_to_the_mixture(
    x: np.ndarray, params: GMMParams
) -> None:
    resp = gmm_core.e_step(x, params)[0]
    fig = fm.mixture_figure_1d(x, params, resp)
    assert len(fig.data) == 2 + 2 + 2
    comps = [t for t in fig.data if str(t.name).startswith("component")]
    mixture = next(t for t in fig.data if t.name == "mixture")
    grid = np.asarray(mixture.x)
    want = 0.3 * norm.pdf(grid, -2.0, np.sqrt(0.5)) + 0.7 * norm.pdf(grid, 1.5, np.sqrt(2.0))
    np.testing.assert_allclose(np.asarray(mixture.y), want, rtol=1e-9)
    np.testing.assert_allclose(sum(np.asarray(c.y) for c in comps), want, rtol=1e-9)
    means = next(t for t in fig.data if t.name == "mean")
    assert list(means.x) == [-2.0, 1.5]
    # A point sure of component 2 has component 2's colour; grey before any E-step.
    sure = int(np.argmax(resp[:, 1]))
    assert fig.data[1].marker.color[sure].lower() in (
        component_colours(2)[1].lower(), _rgb(component_colours(2)[1]))
    grey = fm.mixture_figure_1d(x, params, None)
    assert len(set(grey.data[1].marker.color)) == 1


def _rgb(colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r},{g},{b})"


def test_restarts_gallery_1d_panels(x: np.ndarray, params: GMMParams) -> None:
    starts = [(3, -100.0, params), (8, -120.0, params)]
    fig = fm.restarts_gallery(x, starts, columns=2)
    bars = [t for t in fig.data if t.type == "bar"]
    curves = [t for t in fig.data if t.type == "scatter" and t.mode == "lines"]
    assert len(bars) == len(curves) == 2
    counts, edges = np.histogram(x.ravel(), bins=len(bars[0].x))
    dens = counts / (x.size * np.diff(edges))
    np.testing.assert_allclose(np.asarray(bars[0].y), dens, rtol=1e-9)
    grid = np.asarray(curves[0].x)
    want = 0.3 * norm.pdf(grid, -2.0, np.sqrt(0.5)) + 0.7 * norm.pdf(grid, 1.5, np.sqrt(2.0))
    np.testing.assert_allclose(np.asarray(curves[0].y), want, rtol=1e-9)
    assert [t.customdata[0][0] for t in curves] == [3, 8]


def test_criteria_names_in_1d() -> None:
    table = pd.DataFrame({"covariance_type": ["full", "full", "tied", "tied"],
                          "K": [1, 2, 1, 2], "bic": [10.0, 5.0, 10.0, 7.0],
                          "aic": [9.0, 4.0, 9.0, 6.0], "cv": [-2.0, -1.0, -2.0, -1.5],
                          "n_parameters": [2, 5, 2, 4], "seed": [0, 1, 0, 1]})
    fig = fm.criteria_figure(table, names=dict(COVARIANCE_LABELS_1D))
    assert {"variable variance", "equal variance"} <= {t.name for t in fig.data}
    best = fm.best_k_table(table, dict(COVARIANCE_LABELS_1D)).set_index("covariance")
    assert int(best.loc["variable variance", "BIC"]) == 2
