"""Figures for choosing and comparing models: criteria against K, k-means beside a mixture,
samples from the model, restarts, unusual points. Plain data in, ``go.Figure`` out;
nothing here calls ``st.*``.

Colours are the Okabe-Ito palette of :mod:`gmm_app.geometry`; covariance types are told
apart by colour *and* dash/marker, so that the lines read in greyscale too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from gmm_app.figures import (
    FONT_SIZE,
    HIGHLIGHT,
    INK,
    _axis,
    _base_layout,
    _figure,
    _gapped,
    _marker_size,
    _scatter_type,
    escape_text,
)
from gmm_app.geometry import (
    PALETTE,
    UNASSIGNED,
    blend_colours,
    component_colours,
    ellipse_paths,
    grid_1d,
    hex_to_rgb,
    histogram_density,
    padded_range,
)
from gmm_core import GMMParams, weighted_log_prob

if TYPE_CHECKING:
    import pandas as pd
else:
    from gmm_app.lazy import pandas as pd  # imported at first use (issue 11)

COV_STYLE: dict[str, dict[str, str]] = {
    "full": {"color": PALETTE[0], "dash": "solid", "symbol": "circle"},
    "tied": {"color": PALETTE[1], "dash": "dash", "symbol": "square"},
    "diag": {"color": PALETTE[2], "dash": "dot", "symbol": "diamond"},
    "spherical": {"color": PALETTE[3], "dash": "dashdot", "symbol": "triangle-up"},
}
"""Line colour, dash and marker of each covariance type."""
COV_NAMES = {"full": "full", "tied": "tied", "diag": "diagonal", "spherical": "spherical"}
CRITERIA: dict[str, tuple[str, str]] = {
    "bic": ("BIC (lower is better)", "min"),
    "aic": ("AIC (lower is better)", "min"),
    "cv": ("Held-out, per point (higher is better)", "max"),
}
"""Column of the scores table -> (panel title, which end is best)."""
UNUSUAL_COLOUR = PALETTE[3]  # vermillion
SAMPLE_DATA_COLOUR = "#B0B0B0"


def _panel_layout(
    height: int,
    uirevision: str,
    width: int | None,
    axis_titles: tuple[str, str],
    ranges: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
    *,
    title: str | None = None,
    legend_on_top: bool = False,
    top: int = 40,
    **extra: Any,
) -> dict[str, Any]:
    """The layout of a one-panel figure: the two axes (titles given as plain text, escaped
    here), their ranges, the usual margins, an optional title and a legend above the plot."""
    layout = _base_layout(height, uirevision, width)
    layout.update(
        xaxis=_axis(escape_text(axis_titles[0]), ranges[0]),
        yaxis=_axis(escape_text(axis_titles[1]), ranges[1]),
        margin={"l": 60, "r": 16, "t": top, "b": 56},
    )
    if title is not None:
        layout["title"] = {"text": title, "font": {"size": FONT_SIZE + 1}, "x": 0.02}
    if legend_on_top:
        layout.update(showlegend=True,
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    layout.update(extra)
    return layout


def _tint(colour: str, amount: float) -> str:
    """``colour`` mixed with white (amount 0: white, 1: the colour)."""
    rgb = 255 - amount * (255 - hex_to_rgb(colour))
    return "#{:02x}{:02x}{:02x}".format(*np.clip(np.rint(rgb), 0, 255).astype(int))


# --------------------------------------------------------------------------- criteria vs K
def best_rows(scores: pd.DataFrame) -> dict[str, pd.Series | None]:
    """The best row of ``scores`` for each criterion (None if it has no finite value).

    ``scores`` has one row per model with columns ``covariance_type``, ``K``, ``bic``,
    ``aic``, ``cv``.
    """
    out: dict[str, pd.Series | None] = {}
    for col, (_, end) in CRITERIA.items():
        finite = scores[np.isfinite(scores[col].to_numpy(dtype=float))]
        if finite.empty:
            out[col] = None
            continue
        idx = finite[col].idxmin() if end == "min" else finite[col].idxmax()
        out[col] = scores.loc[idx]
    return out


def best_k_table(
    scores: pd.DataFrame, names: dict[str, str] | None = None
) -> pd.DataFrame:
    """The best K of each covariance type by each criterion (rows: covariance types;
    ``names`` shows them, default :data:`COV_NAMES`)."""
    names = names or COV_NAMES
    rows = []
    for cov in [c for c in COV_STYLE if c in set(scores["covariance_type"])]:
        row: dict[str, Any] = {"covariance": names[cov]}
        for col, (title, _) in CRITERIA.items():
            best = best_rows(scores[scores["covariance_type"] == cov])[col]
            row[title.split(" (")[0].split(",")[0]] = None if best is None else int(best["K"])
        rows.append(row)
    return pd.DataFrame(rows)


def criteria_figure(
    scores: pd.DataFrame, *, names: dict[str, str] | None = None, width: int | None = None,
    height: int = 380,
) -> go.Figure:
    """BIC, AIC and held-out log-likelihood against K, one line per covariance type.

    Parameters
    ----------
    scores : DataFrame
        One row per model: ``covariance_type``, ``K``, ``bic``, ``aic``, ``cv``,
        ``n_parameters``, ``seed`` (NaN where a model has no fit).
    names : dict, optional
        How the legend names each covariance type (default :data:`COV_NAMES`; 1-D data:
        "variable variance", "equal variance").

    Returns
    -------
    go.Figure
        Three side-by-side panels (x axes ``x``, ``x2``, ``x3``). Trace order: for each
        panel, one line per covariance type present (in table order), then one star on
        the panel's best model. Every point carries ``customdata = [covariance type, K]``
        so that a click can open that model.
    """
    from plotly.subplots import make_subplots

    names = names or COV_NAMES
    fig = make_subplots(
        rows=1, cols=3, horizontal_spacing=0.07,
        subplot_titles=[title for title, _ in CRITERIA.values()],
    )
    best = best_rows(scores)
    cov_types = [c for c in COV_STYLE if c in set(scores["covariance_type"])]
    for col_i, col in enumerate(CRITERIA, start=1):
        for cov in cov_types:
            rows = scores[scores["covariance_type"] == cov].sort_values("K")
            style = COV_STYLE[cov]
            fig.add_trace(
                go.Scatter(
                    x=rows["K"].tolist(), y=_gapped(rows[col].to_numpy(dtype=float)),
                    mode="lines+markers", name=names[cov], legendgroup=cov,
                    showlegend=col_i == 1,
                    line={"color": style["color"], "dash": style["dash"], "width": 2.5},
                    marker={"symbol": style["symbol"], "size": 9, "color": style["color"]},
                    customdata=[[cov, int(k)] for k in rows["K"]],
                    hovertemplate=(f"{names[cov]}, K = %{{x}}<br>{col.upper()} = "
                                   "%{y:.2f}<br>click to open in the stepper<extra></extra>"),
                ),
                row=1, col=col_i,
            )
        b = best[col]
        fig.add_trace(
            go.Scatter(
                x=[] if b is None else [int(b["K"])],
                y=[] if b is None else [float(b[col])],
                mode="markers", name="best", showlegend=col_i == 1,
                marker={"symbol": "star", "size": 22, "color": HIGHLIGHT,
                        "line": {"color": "white", "width": 1.5}},
                customdata=[] if b is None else [[b["covariance_type"], int(b["K"])]],
                hovertemplate=("best: %{customdata[0]}, K = %{x}<br>"
                               "click to open in the stepper<extra></extra>"),
            ),
            row=1, col=col_i,
        )
        fig.update_xaxes(_axis("K (components)", dtick=1), row=1, col=col_i)
        fig.update_yaxes(_axis(""), row=1, col=col_i)
    layout = _base_layout(height, "criteria", width)
    layout.update(
        showlegend=True,
        legend={"orientation": "h", "y": -0.22, "x": 0.5, "xanchor": "center",
                "font": {"size": FONT_SIZE}},
        margin={"l": 70, "r": 16, "t": 40, "b": 90},
    )
    fig.update_layout(layout)
    fig.update_annotations(font_size=FONT_SIZE)
    return fig


# --------------------------------------------------------------------------- k-means vs mixture
def nearest_centre_grid(
    gx: np.ndarray, gy: np.ndarray, centres: np.ndarray
) -> np.ndarray:
    """Label of the nearest centre at each grid point: shape (len(gy), len(gx)).

    The regions of equal label are the Voronoi cells of the centres.
    """
    mx, my = np.meshgrid(gx, gy)
    pts = np.column_stack([mx.ravel(), my.ravel()])
    d2 = ((pts[:, None, :] - np.asarray(centres)[None, :, :]) ** 2).sum(axis=2)
    return d2.argmin(axis=1).reshape(gy.size, gx.size)


def kmeans_figure(
    X: np.ndarray,
    centres: np.ndarray,
    labels: np.ndarray | None,
    *,
    feature_names: Sequence[str] = ("x\u2081", "x\u2082"),
    title: str = "",
    grid_points: int = 160,
    width: int | None = None,
    height: int = 440,
) -> go.Figure:
    """k-means in 2-D: hard colours, the Voronoi cells of the centres, the centres.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
    centres : ndarray, shape (K, 2)
    labels : ndarray of int, shape (N,), or None
        Each point's cluster (None before the first assignment: grey points).

    Returns
    -------
    go.Figure
        Traces: 0 the cells (a heatmap of nearest-centre labels in light tints),
        1 the points, 2 the centres.
    """
    k = centres.shape[0]
    colours = component_colours(k)
    xr, yr = padded_range(X[:, 0]), padded_range(X[:, 1])
    gx, gy = np.linspace(*xr, grid_points), np.linspace(*yr, grid_points)
    cells = nearest_centre_grid(gx, gy, centres)
    # A discrete colour scale: label j maps to the middle of band j.
    scale = []
    for j, c in enumerate(colours):
        scale += [[j / k, _tint(c, 0.22)], [(j + 1) / k, _tint(c, 0.22)]]
    point_colours = (
        [UNASSIGNED] * X.shape[0] if labels is None
        else [colours[j] for j in np.asarray(labels).tolist()]
    )
    data = [
        {"type": "heatmap", "x": gx.tolist(), "y": gy.tolist(),
         "z": (cells + 0.5).tolist(), "zmin": 0, "zmax": k, "colorscale": scale,
         "showscale": False, "hoverinfo": "skip"},
        {"type": _scatter_type(X.shape[0]), "x": X[:, 0].tolist(), "y": X[:, 1].tolist(),
         "mode": "markers", "name": "points",
         "marker": {"size": _marker_size(X.shape[0]), "color": point_colours,
                    "line": {"width": 0.5, "color": "white"}},
         "hovertemplate": "point %{pointNumber}<extra></extra>"},
        _centres_trace(centres, colours, "x", "centre"),
    ]
    layout = _panel_layout(height, "kmeans", width,
                           (feature_names[0], feature_names[1]), (xr, yr), title=title)
    return _figure(data, layout)


def _centres_trace(centres: np.ndarray, colours: list[str], symbol: str, name: str) -> dict:
    return {
        "type": "scatter", "x": centres[:, 0].tolist(), "y": centres[:, 1].tolist(),
        "mode": "markers", "name": name,
        "marker": {"symbol": symbol, "size": 16, "color": colours,
                   "line": {"width": 2, "color": HIGHLIGHT}},
        "hovertemplate": f"{name} %{{pointNumber}}<extra></extra>",
    }


def mixture_figure(
    X: np.ndarray,
    params: GMMParams,
    resp: np.ndarray | None,
    *,
    feature_names: Sequence[str] = ("x\u2081", "x\u2082"),
    title: str = "",
    width: int | None = None,
    height: int = 440,
) -> go.Figure:
    """A mixture in 2-D: points in responsibility-blended colours, 1σ and 2σ ellipses, means.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
    params : GMMParams
    resp : ndarray, shape (N, K), or None
        None before the first E-step (grey points).

    Returns
    -------
    go.Figure
        Traces: 0 the points, 1 the 1σ ellipses, 2 the 2σ ellipses, 3 the means.
    """
    k = params.n_components
    colours = component_colours(k)
    xr, yr = padded_range(X[:, 0]), padded_range(X[:, 1])
    data: list[dict[str, Any]] = [
        {"type": _scatter_type(X.shape[0]), "x": X[:, 0].tolist(), "y": X[:, 1].tolist(),
         "mode": "markers", "name": "points",
         "marker": {"size": _marker_size(X.shape[0]),
                    "color": blend_colours(resp, X.shape[0]),
                    "line": {"width": 0.5, "color": "white"}},
         "hovertemplate": "point %{pointNumber}<extra></extra>"},
    ]
    for radius, dash in ((1.0, "solid"), (2.0, "dot")):
        # One trace per radius; each ellipse in its component's colour would need K traces,
        # so the ellipses are ink-coloured and the means carry the component colours.
        ex, ey = ellipse_paths(params.means, params.covariances, radius)
        data.append({"type": "scatter", "x": _gapped(ex), "y": _gapped(ey), "mode": "lines",
                     "name": f"{radius:g}\u03c3", "hoverinfo": "skip",
                     "line": {"color": INK, "width": 2, "dash": dash}})
    data.append(_centres_trace(params.means, colours, "circle", "mean"))
    layout = _panel_layout(height, "mixture", width,
                           (feature_names[0], feature_names[1]), (xr, yr), title=title)
    return _figure(data, layout)


def interval_boundaries(centres: np.ndarray) -> np.ndarray:
    """k-means' cell boundaries in 1-D: the midpoints between neighbouring sorted centres.

    In 1-D each centre's Voronoi cell is an interval; two neighbouring cells meet halfway
    between their centres.

    Parameters
    ----------
    centres : ndarray, shape (K,) or (K, 1)

    Returns
    -------
    ndarray, shape (K - 1,)
        Increasing.
    """
    c = np.sort(np.asarray(centres, dtype=float).ravel())
    return (c[:-1] + c[1:]) / 2


def weighted_densities_1d(grid: np.ndarray, params: GMMParams) -> np.ndarray:
    """π_k N(x | μ_k, σ_k²) of each component on a grid: shape (G, K); rows sum to the
    mixture density."""
    return np.exp(weighted_log_prob(np.asarray(grid, dtype=float).reshape(-1, 1), params))


def _rug_trace(x: np.ndarray, colours: list[str] | str, y: float) -> dict:
    return {"type": _scatter_type(x.size), "x": x.tolist(), "y": [y] * x.size,
            "mode": "markers", "name": "points",
            "marker": {"symbol": "line-ns-open", "size": 14, "color": colours,
                       "line": {"width": 1.5, "color": colours}},
            "hovertemplate": "point %{pointNumber}: %{x:.3g}<extra></extra>"}


def _histogram_trace(edges: np.ndarray, density: np.ndarray) -> dict:
    return {"type": "bar", "x": ((edges[:-1] + edges[1:]) / 2).tolist(),
            "y": density.tolist(), "width": np.diff(edges).tolist(), "name": "data",
            "marker": {"color": SAMPLE_DATA_COLOUR, "line": {"width": 0}}, "opacity": 0.6,
            "hoverinfo": "skip"}


def kmeans_figure_1d(
    x: np.ndarray,
    centres: np.ndarray,
    labels: np.ndarray | None,
    *,
    feature_name: str = "x",
    title: str = "",
    width: int | None = None,
    height: int = 440,
) -> go.Figure:
    """k-means in 1-D: each point's hard colour (a rug), the data's histogram, the cells'
    boundaries (midpoints between sorted centres, dashed) and the centres.

    Parameters
    ----------
    x : ndarray, shape (N,) or (N, 1)
    centres : ndarray, shape (K,) or (K, 1)
    labels : ndarray of int, shape (N,), or None
        Each point's cluster (None before the first assignment: grey points).

    Returns
    -------
    go.Figure
        Traces: 0 the histogram, 1 the rug of points (below 0), 2 the boundaries (one
        vertical line each, separated by gaps), 3 the centres (on the axis). The cells are
        tinted in their centre's colour (layout shapes, one per cell, left to right).
    """
    x = np.asarray(x, dtype=float).ravel()
    c = np.asarray(centres, dtype=float).ravel()
    colours = component_colours(c.size)
    edges, density = histogram_density(x)
    top = float(density.max()) * 1.1 if density.size else 1.0
    xr = padded_range(np.concatenate([x, c]))
    bounds = interval_boundaries(c)
    point_colours = (
        [UNASSIGNED] * x.size if labels is None
        else [colours[j] for j in np.asarray(labels).tolist()]
    )
    bx = np.repeat(bounds, 3).astype(object)
    by = np.tile([-0.12 * top, top, None], bounds.size).astype(object)
    bx[2::3] = None
    data = [
        _histogram_trace(edges, density),
        _rug_trace(x, point_colours, -0.06 * top),
        {"type": "scatter", "x": bx.tolist(), "y": by.tolist(), "mode": "lines",
         "name": "boundary", "hoverinfo": "skip",
         "line": {"color": INK, "width": 2, "dash": "dash"}},
        {"type": "scatter", "x": c.tolist(), "y": [0.0] * c.size, "mode": "markers",
         "name": "centre", "marker": {"symbol": "x", "size": 16, "color": colours,
                                      "line": {"width": 2, "color": HIGHLIGHT}},
         "hovertemplate": "centre %{pointNumber}: %{x:.3g}<extra></extra>"},
    ]
    order = np.argsort(c, kind="stable")
    cuts = [xr[0], *bounds.tolist(), xr[1]]
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": cuts[i], "x1": cuts[i + 1],
               "y0": 0, "y1": 1, "fillcolor": _tint(colours[j], 0.22), "line": {"width": 0},
               "layer": "below"} for i, j in enumerate(order.tolist())]
    layout = _panel_layout(height, "kmeans1d", width, (feature_name, "density"),
                           (xr, (-0.14 * top, top)), title=title, shapes=shapes, bargap=0)
    return _figure(data, layout)


def mixture_figure_1d(
    x: np.ndarray,
    params: GMMParams,
    resp: np.ndarray | None,
    *,
    feature_name: str = "x",
    title: str = "",
    width: int | None = None,
    height: int = 440,
) -> go.Figure:
    """A mixture in 1-D: points in responsibility-blended colours (a rug), the data's
    histogram, each weighted component density, the mixture density and the means.

    Parameters
    ----------
    x : ndarray, shape (N,) or (N, 1)
    params : GMMParams
        K components, D = 1.
    resp : ndarray, shape (N, K), or None
        None before the first E-step (grey points).

    Returns
    -------
    go.Figure
        Traces: 0 the histogram, 1 the rug, 2 … K+1 the weighted components
        π_k N(x | μ_k, σ_k²), K+2 the mixture density, K+3 the means (on the axis).
    """
    x = np.asarray(x, dtype=float).ravel()
    k = params.n_components
    colours = component_colours(k)
    means = np.asarray(params.means, dtype=float).ravel()
    edges, density = histogram_density(x)
    grid = grid_1d(np.concatenate([x, means]))
    comp = weighted_densities_1d(grid, params)
    mix = comp.sum(axis=1)
    top = max(float(density.max()) if density.size else 0.0, float(mix.max())) * 1.1 or 1.0
    data: list[dict[str, Any]] = [
        _histogram_trace(edges, density),
        _rug_trace(x, blend_colours(resp, x.size), -0.06 * top),
    ]
    for j in range(k):
        data.append({"type": "scatter", "x": grid.tolist(), "y": comp[:, j].tolist(),
                     "mode": "lines", "name": f"component {j + 1}", "hoverinfo": "skip",
                     "line": {"color": colours[j], "width": 2.5}})
    data.append({"type": "scatter", "x": grid.tolist(), "y": mix.tolist(), "mode": "lines",
                 "name": "mixture", "hoverinfo": "skip",
                 "line": {"color": INK, "width": 2, "dash": "dot"}})
    data.append({"type": "scatter", "x": means.tolist(), "y": [0.0] * k, "mode": "markers",
                 "name": "mean", "marker": {"symbol": "circle", "size": 14, "color": colours,
                                            "line": {"width": 2, "color": HIGHLIGHT}},
                 "hovertemplate": "mean %{pointNumber}: %{x:.3g}<extra></extra>"})
    layout = _panel_layout(height, "mixture1d", width, (feature_name, "density"),
                           ((float(grid[0]), float(grid[-1])), (-0.14 * top, top)),
                           title=title, bargap=0)
    return _figure(data, layout)


# --------------------------------------------------------------------------- samples
def samples_figure_2d(
    X: np.ndarray,
    samples: np.ndarray,
    z: np.ndarray,
    n_components: int,
    *,
    show_data: bool = True,
    feature_names: Sequence[str] = ("x\u2081", "x\u2082"),
    width: int | None = None,
    height: int = 420,
) -> go.Figure:
    """Points drawn from the model, coloured by their component z, over the data.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
        The data (hollow grey rings; hidden if ``show_data`` is False).
    samples : ndarray, shape (M, 2)
    z : ndarray of int, shape (M,)
        The component each sample was drawn from.

    Returns
    -------
    go.Figure
        Traces: 0 the data, then one trace of samples per component (named "z = k+1").
    """
    colours = component_colours(n_components)
    both = np.vstack([X, samples]) if samples.size else X
    xr, yr = padded_range(both[:, 0]), padded_range(both[:, 1])
    data: list[dict[str, Any]] = [
        {"type": _scatter_type(X.shape[0]), "x": X[:, 0].tolist(), "y": X[:, 1].tolist(),
         "mode": "markers", "name": "data", "visible": bool(show_data),
         "marker": {"size": _marker_size(X.shape[0]), "color": "rgba(0,0,0,0)",
                    "line": {"width": 1, "color": SAMPLE_DATA_COLOUR}},
         "hoverinfo": "skip"},
    ]
    for k in range(n_components):
        pts = samples[np.asarray(z) == k]
        data.append({
            "type": _scatter_type(samples.shape[0]), "x": pts[:, 0].tolist(),
            "y": pts[:, 1].tolist(), "mode": "markers", "name": f"z = {k + 1}",
            "marker": {"size": max(_marker_size(samples.shape[0]) - 2, 4),
                       "color": colours[k]},
            "hovertemplate": f"drawn from component {k + 1}<extra></extra>",
        })
    layout = _panel_layout(height, "samples", width,
                           (feature_names[0], feature_names[1]), (xr, yr), legend_on_top=True)
    return _figure(data, layout)


def samples_figure_1d(
    x: np.ndarray,
    samples: np.ndarray,
    z: np.ndarray,
    n_components: int,
    *,
    show_data: bool = True,
    feature_name: str = "x",
    width: int | None = None,
    height: int = 380,
) -> go.Figure:
    """1-D: the samples' histogram, stacked by component z, against the data's histogram.

    Both histograms share the same bins and are densities (total area 1), so their shapes
    compare directly.

    Parameters
    ----------
    x : ndarray, shape (N,)
        The data.
    samples : ndarray, shape (M,)
    z : ndarray of int, shape (M,)

    Returns
    -------
    go.Figure
        Traces: one bar trace per component (stacked: their heights add up to the samples'
        density), then the data's histogram as a step line (hidden if ``show_data`` is
        False).
    """
    x = np.asarray(x, dtype=float).ravel()
    samples = np.asarray(samples, dtype=float).ravel()
    z = np.asarray(z)
    edges = np.histogram_bin_edges(np.concatenate([x, samples]), bins=40)
    width_bin = np.diff(edges)
    centres = (edges[:-1] + edges[1:]) / 2
    colours = component_colours(n_components)
    m = max(samples.size, 1)
    data: list[dict[str, Any]] = []
    for k in range(n_components):
        counts, _ = np.histogram(samples[z == k], bins=edges)
        data.append({
            "type": "bar", "x": centres.tolist(), "y": (counts / (m * width_bin)).tolist(),
            "width": width_bin.tolist(), "name": f"samples, z = {k + 1}",
            "marker": {"color": colours[k], "line": {"width": 0}}, "opacity": 0.85,
            "hovertemplate": f"samples from component {k + 1}: %{{y:.3g}}<extra></extra>",
        })
    dens, _ = np.histogram(x, bins=edges, density=True)
    step_x = np.repeat(edges, 2)[1:-1]
    step_y = np.repeat(dens, 2)
    data.append({
        "type": "scatter", "x": step_x.tolist(), "y": step_y.tolist(), "mode": "lines",
        "name": "data", "visible": bool(show_data),
        "line": {"color": INK, "width": 2.5}, "hoverinfo": "skip",
    })
    layout = _panel_layout(height, "samples1d", width, (feature_name, "density"),
                           legend_on_top=True, barmode="stack", bargap=0)
    return _figure(data, layout)


# --------------------------------------------------------------------------- restarts
def restarts_gallery(
    X: np.ndarray,
    starts: Sequence[tuple[int, float, GMMParams]],
    *,
    columns: int = 6,
    max_points: int = 400,
    panel_height: int = 150,
    width: int | None = None,
) -> go.Figure:
    """Small multiples of the final fits of many starts, best first.

    Parameters
    ----------
    X : ndarray, shape (N, D), D in {1, 2}
        The data (at most ``max_points`` of them drawn per panel, evenly spaced).
    starts : sequence of (seed, final log-likelihood, params)
        Sorted by the caller (best first).

    Returns
    -------
    go.Figure
        One panel per start, titled with its seed and log-likelihood; each panel's traces
        carry ``customdata = [seed]`` so that a click opens that start. 2-D panels: data
        points, then the 2σ ellipses; 1-D panels: the data's histogram, its rug (below 0),
        then the mixture density curve.
    """
    from plotly.subplots import make_subplots

    n = len(starts)
    rows = max(1, -(-n // columns))
    titles = [f"seed {seed}: {ll:.2f}".replace("-", "\u2212") for seed, ll, _ in starts]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.35 / rows)
    step = max(1, X.shape[0] // max_points)
    shown = X[::step]
    two_d = X.shape[1] == 2
    if not two_d:
        grid = np.linspace(*padded_range(X[:, 0]), 200)
        edges, hist = histogram_density(X[:, 0], max_bins=30)
        mids = (edges[:-1] + edges[1:]) / 2
    for i, (seed, _, params) in enumerate(starts):
        r, c = i // columns + 1, i % columns + 1
        if two_d:
            fig.add_trace(go.Scatter(
                x=shown[:, 0], y=shown[:, 1], mode="markers",
                marker={"size": 3, "color": SAMPLE_DATA_COLOUR},
                customdata=[[seed]] * shown.shape[0], hoverinfo="skip"), row=r, col=c)
            ex, ey = ellipse_paths(params.means, params.covariances, 2.0, 37)
            colour = PALETTE[0] if i == 0 else INK
            fig.add_trace(go.Scatter(
                x=_gapped(ex), y=_gapped(ey), mode="lines",
                line={"color": colour, "width": 2},
                customdata=[[seed]] * ex.size,
                hovertemplate=f"seed {seed}: click to open<extra></extra>"), row=r, col=c)
        else:
            dens = weighted_densities_1d(grid, params).sum(axis=1)
            fig.add_trace(go.Bar(
                x=mids.tolist(), y=hist.tolist(), width=np.diff(edges).tolist(),
                marker={"color": SAMPLE_DATA_COLOUR, "line": {"width": 0}},
                customdata=[[seed]] * mids.size, hoverinfo="skip"), row=r, col=c)
            fig.add_trace(go.Scatter(
                x=shown[:, 0], y=np.full(shown.shape[0], -0.05 * float(hist.max())),
                mode="markers", marker={"symbol": "line-ns-open", "size": 6,
                                        "color": INK, "line": {"width": 1, "color": INK}},
                customdata=[[seed]] * shown.shape[0], hoverinfo="skip"), row=r, col=c)
            fig.add_trace(go.Scatter(
                x=grid, y=dens, mode="lines",
                line={"color": PALETTE[0] if i == 0 else INK, "width": 2},
                customdata=[[seed]] * grid.size,
                hovertemplate=f"seed {seed}: click to open<extra></extra>"), row=r, col=c)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False,
                     showline=True, linecolor="#CCCCCC", mirror=True)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False,
                     showline=True, linecolor="#CCCCCC", mirror=True)
    layout = _base_layout(rows * panel_height + 30, "gallery", width)
    layout.update(margin={"l": 14, "r": 14, "t": 30, "b": 10}, bargap=0, showlegend=False)
    fig.update_layout(layout)
    fig.update_annotations(font_size=FONT_SIZE - 3)
    return fig


def final_values_figure(
    log_likelihoods: Sequence[float], *, width: int | None = None, height: int = 260
) -> go.Figure:
    """Histogram of the starts' final log-likelihoods (one bar per distinct value band).

    Returns
    -------
    go.Figure
        One histogram trace (x: final total log-likelihood, y: number of starts).
    """
    lls = np.asarray(log_likelihoods, dtype=float)
    lls = lls[np.isfinite(lls)]
    lo, hi = (float(lls.min()), float(lls.max())) if lls.size else (0.0, 1.0)
    span = max(hi - lo, 1.0)
    data = [{
        "type": "histogram", "x": lls.tolist(),
        "xbins": {"start": lo - span / 80, "end": hi + span / 80, "size": span / 40},
        "marker": {"color": PALETTE[0], "line": {"color": "white", "width": 1}},
        "hovertemplate": "%{y} start(s) near %{x:.2f}<extra></extra>",
    }]
    layout = _base_layout(height, "finals", width)
    layout.update(
        xaxis=_axis("final log-likelihood (higher is better)"),
        yaxis=_axis("starts", dtick=max(1, int(np.ceil(lls.size / 8)))),
        bargap=0.05,
    )
    return _figure(data, layout)


# --------------------------------------------------------------------------- unusual points
def unusual_figure(
    X: np.ndarray,
    log_density: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    density_grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    *,
    feature_names: Sequence[str] = ("x\u2081", "x\u2082"),
    width: int | None = None,
    height: int = 420,
) -> go.Figure:
    """2-D: the data with the unusual (lowest-density) points marked, and the threshold line.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
    log_density : ndarray, shape (N,)
    flags : ndarray of bool, shape (N,)
    threshold : float
        Log density below which a point is unusual.
    density_grid : (gx (G,), gy (H,), log density (H, G)), optional
        Draws the contour ``log p(x) = threshold``: outside it, points are unusual.

    Returns
    -------
    go.Figure
        Traces: 0 the threshold contour (empty without a grid), 1 the usual points,
        2 the unusual points (large vermillion rings, hover shows point number and
        log density).
    """
    flags = np.asarray(flags, dtype=bool)
    idx = np.flatnonzero(flags)
    usual = np.flatnonzero(~flags)
    xr, yr = padded_range(X[:, 0]), padded_range(X[:, 1])
    if density_grid is not None:
        gx, gy, zz = density_grid
        contour = {
            "type": "contour", "x": gx.tolist(), "y": gy.tolist(), "z": zz.tolist(),
            "contours": {"start": threshold, "end": threshold, "size": 1.0,
                         "coloring": "none"},
            "line": {"color": UNUSUAL_COLOUR, "width": 2, "dash": "dash"},
            "showscale": False, "hoverinfo": "skip", "name": "threshold",
        }
    else:
        contour = {"type": "scatter", "x": [], "y": [], "mode": "lines", "name": "threshold"}
    data = [
        contour,
        {"type": _scatter_type(X.shape[0]), "x": X[usual, 0].tolist(),
         "y": X[usual, 1].tolist(), "mode": "markers", "name": "usual",
         "marker": {"size": _marker_size(X.shape[0]), "color": "#9A9A9A"},
         "customdata": usual.tolist(),
         "hovertemplate": "point %{customdata}<extra></extra>"},
        {"type": "scatter", "x": X[idx, 0].tolist(), "y": X[idx, 1].tolist(),
         "mode": "markers", "name": "unusual",
         "marker": {"size": _marker_size(X.shape[0]) + 7, "color": "rgba(0,0,0,0)",
                    "line": {"width": 2.5, "color": UNUSUAL_COLOUR}},
         "customdata": [[int(i), float(log_density[i])] for i in idx],
         "hovertemplate": "point %{customdata[0]}: log density %{customdata[1]:.2f}"
                          "<extra>unusual</extra>"},
    ]
    layout = _panel_layout(height, "unusual", width,
                           (feature_names[0], feature_names[1]), (xr, yr), top=20)
    return _figure(data, layout)


def unusual_figure_1d(
    x: np.ndarray,
    log_density: np.ndarray,
    flags: np.ndarray,
    threshold: float,
    *,
    feature_name: str = "x",
    width: int | None = None,
    height: int = 300,
) -> go.Figure:
    """1-D: each point at its log density, unusual ones marked, the threshold as a line.

    Returns
    -------
    go.Figure
        Traces: 0 usual points, 1 unusual points; a horizontal line at ``threshold``.
    """
    x = np.asarray(x, dtype=float).ravel()
    flags = np.asarray(flags, dtype=bool)
    data = []
    for name, sel, colour, size in (("usual", ~flags, "#9A9A9A", 6),
                                    ("unusual", flags, UNUSUAL_COLOUR, 11)):
        idx = np.flatnonzero(sel)
        data.append({"type": "scatter", "x": x[idx].tolist(),
                     "y": np.asarray(log_density)[idx].tolist(), "mode": "markers",
                     "name": name, "marker": {"size": size, "color": colour},
                     "customdata": idx.tolist(),
                     "hovertemplate": "point %{customdata}: log density %{y:.2f}"
                                      f"<extra>{name}</extra>"})
    layout = _panel_layout(
        height, "unusual1d", width, (feature_name, "log density"), top=36,
        shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold,
                 "y1": threshold, "line": {"color": UNUSUAL_COLOUR, "dash": "dash"}}],
    )
    return _figure(data, layout)
