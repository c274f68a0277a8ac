"""Figure builders and tables of the model pages (gmm_app.figures_models, gmm_app.models,
gmm_app.model_panels): their data checked against independent computations (scipy's KD-tree,
numpy histograms, the CSV parsed back with pandas)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

import gmm_core
from gmm_app import figures_models as fm
from gmm_app.geometry import PALETTE
from gmm_core import datasets


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return datasets.load("old_faithful").X


@pytest.fixture(scope="module")
def table(faithful: np.ndarray) -> pd.DataFrame:
    from gmm_app import models

    scores = gmm_core.select_model(faithful, range(1, 6), ["full", "spherical"], n_init=2,
                                   rule="loglik_change")
    return models.scores_table(scores)


def test_criteria_figure_marks_the_best_of_each_criterion(table: pd.DataFrame) -> None:
    fig = fm.criteria_figure(table)
    covs = ["full", "spherical"]
    per_panel = len(covs) + 1
    assert len(fig.data) == 3 * per_panel
    for panel, col in enumerate(fm.CRITERIA):
        lines = fig.data[panel * per_panel: panel * per_panel + len(covs)]
        star = fig.data[panel * per_panel + len(covs)]
        values = np.concatenate([np.asarray(t.y, dtype=float) for t in lines])
        best = np.nanmin(values) if fm.CRITERIA[col][1] == "min" else np.nanmax(values)
        assert star.y[0] == pytest.approx(best)
        row = table[np.isclose(table[col], best)].iloc[0]
        assert list(star.customdata[0]) == [row["covariance_type"], int(row["K"])]
        # Every point carries (covariance type, K) for the click.
        for cov, trace in zip(covs, lines, strict=True):
            assert [list(c) for c in trace.customdata] == [[cov, k] for k in trace.x]
    # Colour-blind palette, told apart by dash too.
    assert fig.data[0].line.color == PALETTE[0]
    assert fig.data[0].line.dash != fig.data[1].line.dash


def test_best_k_table_reads_bic_per_covariance_type(table: pd.DataFrame) -> None:
    best = fm.best_k_table(table)
    full = best[best["covariance"] == "full"].iloc[0]
    rows = table[table["covariance_type"] == "full"]
    assert full["BIC"] == int(rows.loc[rows["bic"].idxmin(), "K"]) == 2


def test_voronoi_cells_are_the_nearest_centres() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 2))
    gx, gy = np.linspace(-3, 3, 50), np.linspace(-2, 2, 40)
    cells = fm.nearest_centre_grid(gx, gy, centres)
    mx, my = np.meshgrid(gx, gy)
    _, ref = cKDTree(centres).query(np.column_stack([mx.ravel(), my.ravel()]))
    np.testing.assert_array_equal(cells.ravel(), ref)


def test_kmeans_and_mixture_figures() -> None:
    X = datasets.load("blobs").X
    centres = X[:3]
    labels, _ = gmm_core.kmeans_assign(X, centres)
    fig = fm.kmeans_figure(X, centres, labels)
    assert [t.type for t in fig.data] == ["heatmap", "scatter", "scatter"]
    colours = fig.data[1].marker.color
    assert colours[0] == PALETTE[labels[0]]
    assert len(set(colours)) == 3
    params = gmm_core.initialize(X, 3, "manual", np.random.default_rng(0), means=centres)
    resp, _ = gmm_core.e_step(X, params)
    fig = fm.mixture_figure(X, params, resp)
    assert len(fig.data) == 4
    assert len(fig.data[0].marker.color) == X.shape[0]


def test_samples_histogram_1d_is_the_samples_density() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    samples = rng.normal(size=2000)
    z = (samples > 0).astype(int)
    fig = fm.samples_figure_1d(x, samples, z, 2)
    bars = [t for t in fig.data if t.type == "bar"]
    heights = np.sum([np.asarray(b.y) for b in bars], axis=0)
    widths = np.asarray(bars[0].width)
    # Stacked bars: the samples' density, total area 1 (numpy's own density histogram).
    assert np.sum(heights * widths) == pytest.approx(1.0)
    edges = np.histogram_bin_edges(np.concatenate([x, samples]), bins=40)
    ref, _ = np.histogram(samples, bins=edges, density=True)
    np.testing.assert_allclose(heights, ref)


def test_samples_figure_2d_one_trace_per_component() -> None:
    X = np.zeros((5, 2))
    samples = np.arange(20.0).reshape(10, 2)
    z = np.array([0, 1] * 5)
    fig = fm.samples_figure_2d(X, samples, z, 2, show_data=False)
    assert fig.data[0].visible is False
    assert [t.name for t in fig.data[1:]] == ["z = 1", "z = 2"]
    assert list(fig.data[1].x) == samples[z == 0, 0].tolist()


def test_restarts_gallery_and_histogram(faithful: np.ndarray) -> None:
    results = gmm_core.fit_starts(faithful, 2, "full", range(5))
    starts = sorted(((r.seed, r.log_likelihood, r.params) for r in results if r.ok),
                    key=lambda s: -s[1])
    fig = fm.restarts_gallery(faithful, starts, columns=3)
    assert len(fig.layout.annotations) == len(starts)  # one titled panel per start
    assert fig.layout.annotations[0].text.startswith(f"seed {starts[0][0]}:")
    seeds = {int(t.customdata[0][0]) for t in fig.data}
    assert seeds == {s for s, _, _ in starts}
    hist = fm.final_values_figure([s[1] for s in starts])
    assert len(hist.data[0].x) == len(starts)


def test_unusual_figure_marks_the_flagged_points(faithful: np.ndarray) -> None:
    params = gmm_core.best_fit(gmm_core.fit_starts(faithful, 2, "full", [0])).params
    ld, thr, flags = gmm_core.unusual_points(faithful, params, 5.0)
    fig = fm.unusual_figure(faithful, ld, flags, thr)
    assert len(fig.data[2].x) == flags.sum()
    assert len(fig.data[1].x) == (~flags).sum()
    assert {c[0] for c in fig.data[2].customdata} == set(np.flatnonzero(flags).tolist())


def test_unusual_csv_carries_log_density_and_flag_escaped(faithful: np.ndarray) -> None:
    from gmm_app.model_panels import unusual_csv

    params = gmm_core.best_fit(gmm_core.fit_starts(faithful, 2, "full", [0])).params
    text = unusual_csv(faithful, ("=cmd|' /C calc'!A0", "+waiting"), params, 10.0)
    header = text.splitlines()[0]
    assert header.startswith("'=cmd")  # formula injection escaped
    assert ",'+waiting," in header
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns[-2:]) == ["log_density", "unusual"]
    ld, _, flags = gmm_core.unusual_points(faithful, params, 10.0)
    np.testing.assert_array_equal(frame["log_density"].to_numpy(), ld)
    np.testing.assert_array_equal(frame["unusual"].to_numpy(), flags.astype(int))
    assert abs(frame["unusual"].mean() - 0.10) <= 1 / faithful.shape[0]
