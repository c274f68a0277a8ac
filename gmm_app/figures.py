"""Figure and table builders: arrays, :class:`~gmm_core.GMMParams` and plain values in,
``plotly.graph_objects.Figure`` (or a pandas DataFrame) out. Nothing here calls ``st.*``.

Every figure of a run has a fixed structure: the same traces in the same order
whatever the half-step (an empty trace stays in place, hidden), so the trace
indices below can be relied on by the pages and the tests.

Speed: figures are assembled from plain dicts with ``_validate=False``. Plotly's
validator checks every one of N marker colours against a regular expression,
which takes about 3 s for 50,000 points; the dicts built here are valid by
construction (and the tests check the JSON).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from gmm_app.formatting import MINUS, MISSING, fmt_from_log, fmt_number, latex_from_log
from gmm_app.geometry import (
    SIGMA_LEVELS,
    chi2_mass,
    component_colours,
    ellipse_paths,
    ellipse_points,
    padded_range,
)
from gmm_core import GMMParams

if TYPE_CHECKING:
    import pandas as pd

FONT_SIZE = 15
"""Base font size in px: readable from the back of a classroom."""
FONT_FAMILY = "Source Sans, Liberation Sans, Arial, sans-serif"
INK = "#222222"
HIGHLIGHT = "#000000"
COLLAPSE_COLOUR = "#C00000"

# Trace order of the 2-D figure: data, density, truth, then K 1σ ellipses, K 2σ
# ellipses, the means, the inspected point and the collapse marker.
TRACE_POINTS = 0
WEBGL_MIN_POINTS = 1000
"""From this many points on, data are drawn with WebGL (``scattergl``), else SVG.

The stepper's charts update in place (``gmm_app.live_chart``: Plotly.react, one WebGL
context kept for the chart's life). Recolouring or re-laying-out an SVG scatter touches
every point's DOM node (about 100-200 ms at 2,000 points in headless Chromium) where
WebGL takes about 30 ms; below a thousand points SVG is as fast and draws crisper."""
TRACE_DENSITY = 1
TRACE_TRUTH = 2
FIRST_ELLIPSE = 3


def ellipse_trace_indices(n_components: int) -> list[int]:
    """Indices of the 2-D figure's ellipse traces (1σ for every k, then 2σ)."""
    return list(range(FIRST_ELLIPSE, FIRST_ELLIPSE + len(SIGMA_LEVELS) * n_components))


def means_trace_index(n_components: int) -> int:
    """Index of the 2-D figure's trace of component means."""
    return FIRST_ELLIPSE + len(SIGMA_LEVELS) * n_components


def escape_text(text: str) -> str:
    """Escape user text (file or column names) for Plotly, whose labels accept some HTML."""
    return html.escape(str(text), quote=True)


def _gapped(values: np.ndarray) -> list[float | None]:
    """A float array as a list with ``None`` for NaN (a line break in Plotly, valid JSON)."""
    return [None if math.isnan(v) else v for v in np.asarray(values, dtype=float).tolist()]


def _marker_size(n_points: int) -> int:
    if n_points <= 500:
        return 9
    if n_points <= 5000:
        return 6
    return 4


def _scatter_type(n_points: int) -> str:
    return "scattergl" if n_points >= WEBGL_MIN_POINTS else "scatter"


def _base_layout(height: int, uirevision: str, width: int | None = None) -> dict[str, Any]:
    # A fixed pixel width (the pages pass one) lets Streamlit draw the chart without
    # first measuring its container: about 100 ms less per half-step.
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 16, "t": 36, "b": 56},
        "font": {"size": FONT_SIZE, "family": FONT_FAMILY, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "showlegend": False,
        "uirevision": uirevision,
        "hovermode": "closest",
        "hoverlabel": {"font": {"size": FONT_SIZE}},
    }
    if width is not None:
        layout["width"] = width
    return layout


def _axis(title: str, value_range: tuple[float, float] | None = None, **extra: Any) -> dict:
    axis = {
        "title": {"text": title, "font": {"size": FONT_SIZE + 1}},
        "tickfont": {"size": FONT_SIZE - 1},
        "showgrid": True,
        "gridcolor": "#E6E6E6",
        "zeroline": False,
        "showline": True,
        "linecolor": "#888888",
        "mirror": True,
    }
    if value_range is not None:
        axis["range"] = list(value_range)
        axis["autorange"] = False
    axis.update(extra)
    return axis


def _colour_list(colours: Sequence[str] | np.ndarray) -> list[str] | np.ndarray:
    """Point colours as the figure holds them: a numpy array of strings is kept as is (the
    figure then copies one block, not N strings; live_chart packs it without a loop)."""
    return colours if isinstance(colours, np.ndarray) else list(colours)


def _figure(data: list[dict], layout: dict) -> go.Figure:
    # Valid by construction (see the module docstring); skipping validation saves
    # seconds on large scatter plots.
    return go.Figure(data=data, layout=layout, _validate=False)


# --------------------------------------------------------------------------- 2-D
def figure_2d(
    X: np.ndarray,
    params: GMMParams,
    point_colours: Sequence[str],
    *,
    feature_names: Sequence[str] = ("x\u2081", "x\u2082"),
    density: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    true_params: GMMParams | None = None,
    inspected: int | None = None,
    collapsed: int | None = None,
    uirevision: str = "run",
    width: int | None = None,
    height: int = 500,
    label_codes: np.ndarray | None = None,
    point_scale: float = 1.0,
    extent: tuple[tuple[float, float], tuple[float, float]] | None = None,
) -> go.Figure:
    """The 2-D stepper chart: points, ellipses, means, optional density and truth.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
        The data.
    params : GMMParams
        The mixture shown (K components, D = 2).
    point_colours : sequence of str, length N
        Each point's colour (see :func:`gmm_app.geometry.blend_colours`).
    feature_names : pair of str
        Axis titles (escaped: they may come from a user's file).
    density : (gx (G,), gy (H,), z (H, G)) or None
        Log mixture density on a grid, drawn as contour lines one unit of log
        density apart (each line a density e ≈ 2.7 times lower than the next one
        in), down to 8 units below the peak; None hides the trace.
    true_params : GMMParams or None
        The generating mixture, drawn as dotted 2σ ellipses; None hides the trace.
    inspected : int or None
        Index of a point to ring.
    collapsed : int or None
        Index of a collapsed component, marked with a cross at its mean.
    uirevision : str
        Same value across half-steps of a run: Plotly keeps the user's zoom.
    width, height : int
        Size in px (width None: as wide as the container).
    label_codes : ndarray of int, shape (N,), or None
        A known label of each point (e.g. the user's label column), drawn as the point's
        marker shape (:func:`label_symbols`).
    point_scale : float
        Factor on the points' marker size (larger for a projector).
    extent : ((x_lo, x_hi), (y_lo, y_hi)) or None
        Axis ranges (e.g. :func:`gmm_app.teaching_figures.run_extent`, which holds every
        2σ ellipse of the run); None: the data's own padded ranges.

    Returns
    -------
    go.Figure
        Traces in the order described by the module constants.
    """
    X = np.asarray(X, dtype=float)
    k = params.n_components
    colours = component_colours(k)
    data: list[dict] = [
        {
            "type": _scatter_type(X.shape[0]),
            "x": X[:, 0],
            "y": X[:, 1],
            "mode": "markers",
            "name": "points",
            "marker": {
                "color": _colour_list(point_colours),
                "size": round(_marker_size(X.shape[0]) * point_scale),
                "opacity": 0.75,
                "line": {"width": 0},
            },
            "unselected": {"marker": {"opacity": 0.75}},
            "selected": {"marker": {"opacity": 1.0}},
            "hovertemplate": "point #%{pointNumber}<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
        }
    ]
    if label_codes is not None:
        data[TRACE_POINTS]["marker"]["symbol"] = label_symbols(label_codes)
        data[TRACE_POINTS]["marker"]["size"] += 2
    if density is not None:
        gx, gy, z = density
        z = np.asarray(z, dtype=float)
        top = float(np.max(z))
        data.append(
            {
                "type": "contour",
                "x": np.asarray(gx, dtype=float),
                "y": np.asarray(gy, dtype=float),
                "z": np.maximum(z, top - 9.0),  # finite, and flat far out
                "name": "mixture density",
                "showscale": False,
                "autocontour": False,
                "contours": {"coloring": "lines", "start": top - 8.0, "end": top - 0.5,
                             "size": 1.0},
                "colorscale": [[0.0, "#B0B0B0"], [1.0, "#303030"]],
                "line": {"width": 1.5},
                "hoverinfo": "skip",
                "visible": True,
            }
        )
    else:
        data.append({"type": "contour", "name": "mixture density", "visible": False,
                     "showscale": False, "hoverinfo": "skip"})
    if true_params is not None and true_params.n_features == 2:
        tx, ty = ellipse_paths(true_params.means, true_params.covariances, 2.0)
        data.append(
            {
                "type": "scatter",
                "x": _gapped(tx),
                "y": _gapped(ty),
                "mode": "lines",
                "name": "true components (2\u03c3)",
                "line": {"color": "#444444", "width": 2, "dash": "dot"},
                "hoverinfo": "skip",
                "visible": True,
            }
        )
    else:
        data.append({"type": "scatter", "x": [], "y": [], "mode": "lines",
                     "name": "true components (2\u03c3)", "visible": False})
    for radius, dash, line_width in zip(SIGMA_LEVELS, ("solid", "dash"), (3, 2), strict=True):
        mass = chi2_mass(radius, 2)
        for j in range(k):
            pts = ellipse_points(params.means[j], params.covariances[j], radius)
            data.append(
                {
                    "type": "scatter",
                    "x": pts[:, 0],
                    "y": pts[:, 1],
                    "mode": "lines",
                    "name": f"component {j + 1}, {radius:g}\u03c3",
                    "line": {"color": colours[j], "width": line_width, "dash": dash},
                    "hovertemplate": (
                        f"component {j + 1}: {radius:g}\u03c3 ellipse "
                        f"({100 * mass:.0f}% of its mass inside)<extra></extra>"
                    ),
                }
            )
    data.append(
        {
            "type": "scatter",
            "x": params.means[:, 0],
            "y": params.means[:, 1],
            "mode": "markers+text",
            "name": "means",
            "text": [str(j + 1) for j in range(k)],
            "textposition": "top right",
            "textfont": {"size": FONT_SIZE + 3, "color": INK},
            "marker": {
                "color": colours,
                "size": 16,
                "symbol": "diamond",
                "line": {"color": "white", "width": 2},
            },
            "hovertemplate": "mean of component %{text}: (%{x:.3g}, %{y:.3g})<extra></extra>",
        }
    )
    data.append(_inspected_trace_2d(X, inspected))
    data.append(_collapse_trace(params, collapsed, two_d=True))
    if data[TRACE_POINTS]["type"] == "scattergl":
        # Plotly draws WebGL above SVG: the ellipses and markers join the points' WebGL
        # layer, drawn after them, so that they stay on top (the contours cannot).
        for trace in data[TRACE_POINTS + 1 :]:
            if trace["type"] == "scatter":
                trace["type"] = "scattergl"

    layout = _base_layout(height, uirevision, width)
    x_range, y_range = extent or (padded_range(X[:, 0]), padded_range(X[:, 1]))
    layout["xaxis"] = _axis(escape_text(feature_names[0]), x_range)
    layout["yaxis"] = _axis(escape_text(feature_names[1]), y_range)
    layout["margin"]["t"] = 12
    return _figure(data, layout)


LABEL_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("circle", "\u25cf"), ("square", "\u25a0"), ("diamond", "\u25c6"),
    ("triangle-up", "\u25b2"), ("cross", "\u271a"), ("x", "\u2716"), ("star", "\u2605"),
    ("triangle-down", "\u25bc"), ("pentagon", "\u2b1f"), ("hexagon", "\u2b22"),
)
"""Plotly marker symbols for known labels (all drawn by WebGL too), with a text glyph each."""


def label_symbols(codes: np.ndarray) -> list[str]:
    """The marker symbol of each point's label code (shapes repeat after 10 labels)."""
    names = [name for name, _ in LABEL_SYMBOLS]
    return [names[int(c) % len(names)] for c in np.asarray(codes).ravel()]


def label_glyph(code: int) -> str:
    """The text glyph of a label code's marker shape (for legends)."""
    return LABEL_SYMBOLS[int(code) % len(LABEL_SYMBOLS)][1]


def _inspected_trace_2d(X: np.ndarray, inspected: int | None) -> dict:
    if inspected is None or not 0 <= inspected < X.shape[0]:
        xs: list[float] = []
        ys: list[float] = []
    else:
        xs, ys = [float(X[inspected, 0])], [float(X[inspected, 1])]
    return {
        "type": "scatter",
        "x": xs,
        "y": ys,
        "mode": "markers",
        "name": "inspected point",
        "marker": {"size": 20, "symbol": "circle-open", "color": HIGHLIGHT,
                   "line": {"width": 3, "color": HIGHLIGHT}},
        "hovertemplate": f"inspected point #{inspected}<extra></extra>",
    }


def _collapse_trace(params: GMMParams, collapsed: int | None, *, two_d: bool,
                    yref_value: float = 0.0, xaxis: str = "x", yaxis: str = "y") -> dict:
    if collapsed is None or not 0 <= collapsed < params.n_components:
        xs: list[float] = []
        ys: list[float] = []
        text: list[str] = []
    else:
        mean = params.means[collapsed]
        xs = [float(mean[0])]
        ys = [float(mean[1]) if two_d else yref_value]
        text = [f"component {collapsed + 1} collapsed here"]
    return {
        "type": "scatter",
        "x": xs,
        "y": ys,
        "xaxis": xaxis,
        "yaxis": yaxis,
        "mode": "markers+text",
        "name": "collapse",
        "text": text,
        "textposition": "bottom center",
        "textfont": {"size": FONT_SIZE + 1, "color": COLLAPSE_COLOUR},
        "marker": {"size": 24, "symbol": "x-thin-open", "color": COLLAPSE_COLOUR,
                   "line": {"width": 4, "color": COLLAPSE_COLOUR}},
        "hoverinfo": "text",
    }


# --------------------------------------------------------------------------- 1-D
def figure_1d(
    x: np.ndarray,
    params: GMMParams,
    point_colours: Sequence[str],
    *,
    histogram: tuple[np.ndarray, np.ndarray],
    grid: np.ndarray,
    component_density: np.ndarray,
    mixture_density: np.ndarray,
    grid_resp: np.ndarray | None,
    feature_name: str = "x",
    inspected: int | None = None,
    collapsed: int | None = None,
    uirevision: str = "run",
    width: int | None = None,
    height: int = 500,
) -> go.Figure:
    """The 1-D stepper chart: histogram, weighted components, mixture, rug; γ_k(x) below.

    Parameters
    ----------
    x : ndarray, shape (N,) or (N, 1)
        The data.
    params : GMMParams
        The mixture shown (K components, D = 1).
    point_colours : sequence of str, length N
        Rug colours (responsibility blends, or grey before the first E-step).
    histogram : (edges (B + 1,), density (B,))
        A density-normalised histogram of ``x``.
    grid : ndarray, shape (G,)
        Evaluation points along x.
    component_density : ndarray, shape (G, K)
        :math:`\\pi_k \\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2)` on the grid.
    mixture_density : ndarray, shape (G,)
        Their sum, the mixture density.
    grid_resp : ndarray, shape (G, K), or None
        Responsibilities :math:`\\gamma_k(x)` on the grid (stacked areas in the lower
        panel); None before the first E-step (the panel stays empty).
    feature_name : str
        x-axis title (escaped).
    inspected, collapsed : int or None
        A point to mark with a vertical line; a collapsed component to mark with a cross.
    uirevision : str
        Constant across the half-steps of a run.
    width, height : int
        Size in px (width None: as wide as the container).

    Returns
    -------
    go.Figure
        Traces: histogram, K component curves, mixture, rug, inspected line,
        collapse marker, then K stacked responsibility areas (second row).
    """
    x = np.asarray(x, dtype=float).ravel()
    k = params.n_components
    colours = component_colours(k)
    edges, dens = histogram
    top = 1.3 * float(max(np.max(dens), 1e-12))
    rug_y = -0.07 * top
    centres = 0.5 * (edges[:-1] + edges[1:])
    data: list[dict] = [
        {
            "type": "bar",
            "x": centres,
            "y": dens,
            "width": np.diff(edges),
            "name": "histogram",
            "marker": {"color": "#D9D9D9", "line": {"color": "#BDBDBD", "width": 1}},
            "hovertemplate": "bin around %{x:.3g}: density %{y:.3g}<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        }
    ]
    for j in range(k):
        data.append(
            {
                "type": "scatter",
                "x": grid,
                "y": np.minimum(component_density[:, j], 10 * top),
                "mode": "lines",
                "name": f"\u03c0{j + 1}\u00b7N(x | \u03bc{j + 1}, \u03c3{j + 1}\u00b2)",
                "line": {"color": colours[j], "width": 3},
                "hovertemplate": f"component {j + 1}: %{{y:.3g}}<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
            }
        )
    data.append(
        {
            "type": "scatter",
            "x": grid,
            "y": np.minimum(mixture_density, 10 * top),
            "mode": "lines",
            "name": "mixture density",
            "line": {"color": INK, "width": 3, "dash": "dash"},
            "hovertemplate": "mixture density: %{y:.3g}<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        }
    )
    data.append(
        {
            "type": _scatter_type(x.size),
            "x": x,
            "y": np.full(x.shape, rug_y),
            "mode": "markers",
            "name": "points",
            "marker": {"color": _colour_list(point_colours), "symbol": "line-ns-open", "size": 16,
                       "line": {"width": 2, "color": _colour_list(point_colours)}},
            "unselected": {"marker": {"opacity": 1.0}},
            "hovertemplate": "point #%{pointNumber}: %{x:.4g}<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        }
    )
    if inspected is not None and 0 <= inspected < x.size:
        xs, ys = [float(x[inspected])] * 2, [rug_y, top]
    else:
        xs, ys = [], []
    data.append(
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "mode": "lines",
            "name": "inspected point",
            "line": {"color": HIGHLIGHT, "width": 2, "dash": "dot"},
            "hovertemplate": f"inspected point #{inspected}<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        }
    )
    data.append(_collapse_trace(params, collapsed, two_d=False, yref_value=0.0))
    resp = grid_resp if grid_resp is not None else np.zeros((len(grid), k))
    for j in range(k):
        data.append(
            {
                "type": "scatter",
                "x": grid,
                "y": resp[:, j],
                "mode": "lines",
                "stackgroup": "responsibilities",
                "name": f"\u03b3{j + 1}(x)",
                "line": {"color": colours[j], "width": 0.5},
                "fillcolor": colours[j],
                "hovertemplate": f"\u03b3{j + 1}(x) = %{{y:.2f}}<extra></extra>",
                "xaxis": "x2",
                "yaxis": "y2",
            }
        )

    layout = _base_layout(height, uirevision, width)
    x_range = padded_range(np.concatenate([x, edges]))
    layout["xaxis"] = _axis("", x_range, anchor="y", domain=[0.0, 1.0], showticklabels=False,
                            matches="x2")
    layout["yaxis"] = _axis("density", (1.45 * rug_y, top), domain=[0.36, 1.0])
    layout["xaxis2"] = _axis(escape_text(feature_name), x_range, anchor="y2")
    layout["yaxis2"] = _axis("\u03b3\u2096(x)", (0.0, 1.0), domain=[0.0, 0.27],
                             tickvals=[0, 0.5, 1])
    layout["margin"]["t"] = 12
    if grid_resp is None:
        layout["annotations"] = [
            {
                "text": "Responsibilities appear after the first E-step",
                "xref": "x2 domain",
                "yref": "y2 domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": FONT_SIZE, "color": "#666666"},
            }
        ]
    return _figure(data, layout)


# --------------------------------------------------------------------------- log-likelihood
def loglik_figure(
    log_likelihoods: np.ndarray,
    phases: Sequence[str],
    cursor: int,
    *,
    uirevision: str = "run",
    width: int | None = None,
    height: int = 220,
) -> go.Figure:
    """The log-likelihood of every half-step up to ``cursor``, the current one marked.

    Parameters
    ----------
    log_likelihoods : ndarray, shape (S,)
        Total log-likelihood of each half-step (NaN where undefined).
    phases : sequence of {"init", "E", "M"}, length S
    cursor : int
        Index of the shown half-step.
    uirevision : str
        Constant across the half-steps of a run.
    width, height : int
        Size in px (width None: as wide as the container).

    Returns
    -------
    go.Figure
        Traces: the path so far (line and markers), then the current half-step.
    """
    ll = np.asarray(log_likelihoods, dtype=float)
    steps = np.arange(ll.size)
    shown = slice(0, cursor + 1)
    words = {"init": "start", "E": "after E-step", "M": "after M-step"}
    hover = [words.get(p, p) for p in phases]
    finite = ll[np.isfinite(ll)]
    data = [
        {
            "type": "scatter",
            "x": steps[shown],
            "y": _gapped(ll[shown]),
            "mode": "lines+markers",
            "name": "log-likelihood",
            "line": {"color": "#0072B2", "width": 3, "shape": "linear"},
            "marker": {"size": 7, "color": "#0072B2"},
            "text": hover[shown],
            "hovertemplate": "half-step %{x} (%{text})<br>log-likelihood %{y:.2f}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": [int(cursor)] if math.isfinite(ll[cursor]) else [],
            "y": [float(ll[cursor])] if math.isfinite(ll[cursor]) else [],
            "mode": "markers",
            "name": "now",
            "marker": {"size": 15, "color": "#E69F00", "line": {"color": INK, "width": 2}},
            "hovertemplate": "now: %{y:.2f}<extra></extra>",
        },
    ]
    layout = _base_layout(height, uirevision, width)
    layout["margin"] = {"l": 76, "r": 12, "t": 40, "b": 48}
    layout["title"] = {"text": "Log-likelihood per half-step", "font": {"size": FONT_SIZE + 1},
                       "x": 0.02, "xanchor": "left"}
    layout["xaxis"] = _axis("half-step", (-0.5, max(ll.size - 0.5, 1.5)))
    y_axis: dict[str, Any] = {"separatethousands": True}
    if finite.size:
        lo, hi = padded_range(finite[: max(1, min(finite.size, cursor + 1))], 0.12)
        y_axis["range"] = [lo, hi]
        y_axis["autorange"] = False
    layout["yaxis"] = _axis("", None, **y_axis)
    return _figure(data, layout)


# --------------------------------------------------------------------------- tables
def parameter_table(params: GMMParams, nk: np.ndarray | None) -> pd.DataFrame:
    """One row per component: weight π, mean μ, spread (σ, correlation ρ), N_k.

    Parameters
    ----------
    params : GMMParams
        K components in D = 1 or 2 dimensions.
    nk : ndarray, shape (K,), or None
        Effective number of points :math:`N_k = \\sum_n \\gamma_{nk}` under the
        shown responsibilities; None before the first E-step.

    Returns
    -------
    pandas.DataFrame
        String cells (formatted, never ``nan``), one row per component. In 2-D,
        means and standard deviations are pairs along the chart's (x, y) axes.
    """
    import pandas as pd  # here, not at import: 0.4-0.5 s of a fresh server's first page (issue 11)

    return pd.DataFrame(parameter_rows(params, nk))


def parameter_rows(params: GMMParams, nk: np.ndarray | None) -> list[dict[str, str]]:
    """The rows of :func:`parameter_table` as dicts (column -> formatted cell)."""
    d = params.n_features
    rows = []
    for j in range(params.n_components):
        cov = params.covariances[j]
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        row: dict[str, str] = {
            "k": str(j + 1),
            "\u03c0": fmt_number(params.weights[j], 3),
        }
        if d == 1:
            row["\u03bc"] = fmt_number(params.means[j, 0])
            row["\u03c3"] = fmt_number(sd[0])
        else:
            row["\u03bc (x, y)"] = _pair(params.means[j])
            row["\u03c3 (x, y)"] = _pair(sd)
            denom = sd[0] * sd[1]
            rho = f"{cov[0, 1] / denom:.2f}" if denom > 0 else MISSING
            row["\u03c1"] = "0.00" if rho == "-0.00" else rho.replace("-", MINUS)
        row["N\u2096"] = fmt_number(nk[j], 4) if nk is not None else MISSING
        rows.append(row)
    return rows


def _pair(values: np.ndarray) -> str:
    return "(" + ", ".join(fmt_number(float(v), 3) for v in values) + ")"


PI_K = "\u03c0\u2096"
PDF_K = "N\u2096(x)"
JOINT_K = "\u03c0\u2096 N\u2096(x)"
GAMMA_K = "\u03b3\u2096"


def point_breakdown(
    log_weighted: np.ndarray, weights: np.ndarray
) -> tuple[pd.DataFrame, str]:
    """The E-step for one point with its numbers: a table and a LaTeX line.

    Parameters
    ----------
    log_weighted : ndarray, shape (K,)
        :math:`\\log \\pi_k + \\log \\mathcal{N}(x \\mid \\mu_k, \\Sigma_k)` for the point
        (from :mod:`gmm_core`; logarithms, so nothing underflows).
    weights : ndarray, shape (K,)
        The mixing weights :math:`\\pi_k`.

    Returns
    -------
    table : pandas.DataFrame
        Rows: one per component, then the sum. Columns ``k``, :data:`PI_K`,
        :data:`PDF_K` (N(x | μ_k, Σ_k)), :data:`JOINT_K` (their product) and
        :data:`GAMMA_K` (all formatted strings).
    latex : str
        :math:`\\gamma_k = \\pi_k N_k / \\sum_j \\pi_j N_j` with the numbers of the
        component that takes the largest share.
    """
    lw = np.asarray(log_weighted, dtype=float)
    weights = np.asarray(weights, dtype=float)
    finite = lw[np.isfinite(lw)]
    if finite.size:
        top = float(finite.max())
        log_total = top + math.log(float(np.sum(np.exp(finite - top))))
    else:
        log_total = -math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        log_gamma = lw - log_total
        log_pdf = lw - np.log(weights)
    rows = []
    for j in range(lw.size):
        gamma = math.exp(log_gamma[j]) if math.isfinite(log_gamma[j]) else 0.0
        rows.append(
            {
                "k": str(j + 1),
                PI_K: fmt_number(weights[j], 3),
                PDF_K: fmt_from_log(float(log_pdf[j])) if weights[j] > 0 else MISSING,
                JOINT_K: fmt_from_log(float(lw[j])),
                GAMMA_K: f"{gamma:.3f}",
            }
        )
    rows.append(
        {
            "k": "sum",
            PI_K: fmt_number(float(weights.sum()), 3),
            PDF_K: "",
            JOINT_K: fmt_from_log(log_total),
            GAMMA_K: "1.000" if math.isfinite(log_total) else MISSING,
        }
    )
    best = int(np.argmax(np.where(np.isfinite(lw), lw, -np.inf)))
    gamma_best = math.exp(log_gamma[best]) if math.isfinite(log_gamma[best]) else 0.0
    latex = (
        rf"\gamma_{{{best + 1}}} = \frac{{\pi_{{{best + 1}}}\,\mathcal{{N}}(x \mid "
        rf"\mu_{{{best + 1}}}, \Sigma_{{{best + 1}}})}}{{\sum_j \pi_j\,\mathcal{{N}}(x \mid "
        rf"\mu_j, \Sigma_j)}} = \frac{{{latex_from_log(float(lw[best]))}}}"
        rf"{{{latex_from_log(log_total)}}} = {gamma_best:.3f}"
    )
    import pandas as pd  # here, not at import: 0.4-0.5 s of a fresh server's first page (issue 11)

    return pd.DataFrame(rows), latex.replace(MINUS, "-")


def rug_trace_index(n_components: int) -> int:
    """Index of the 1-D figure's rug (the data points): after the histogram, K curves, mixture."""
    return n_components + 2


def fmt_coordinate(value: float) -> str:
    """A coordinate of a data point for a sentence (4 significant digits, real minus)."""
    return fmt_number(float(value), 4)


def _text_colour(background: str) -> str:
    rgb = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
    luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
    return "#000000" if luminance > 140 else "#FFFFFF"


TABLE_CLASS = "gmm-table"
"""The ``class`` of the HTML tables :func:`table_html` writes (tests find them by it)."""


def _swatch_style(colour: str) -> str:
    return f"background-color:{colour};color:{_text_colour(colour)};font-weight:bold"


def table_html(table: pd.DataFrame | Sequence[dict[str, str]], swatches: Sequence[str], *,
               bold_last: bool = False) -> str:
    """``table`` as one line of HTML (for ``st.markdown(..., unsafe_allow_html=True)``).

    The same cells and the same look as :func:`style_parameter_table` gives ``st.table``
    (each row's first cell on its component's colour), without a pandas Styler: Streamlit
    marshals a styled table cell by cell, about 12 ms for a 3 x 6 table, which was a
    quarter of a stepper click's server CPU (issue 10); this string costs ~0.1 ms.

    Parameters
    ----------
    table : pandas.DataFrame, or a sequence of dicts (column -> cell)
        String cells, the index not shown.
    swatches : sequence of str
        ``"#rrggbb"`` background of the first cell of row i, for the first
        ``len(swatches)`` rows.
    bold_last : bool
        The last row (a sum) in bold.

    Returns
    -------
    str
        ``<div><table class="gmm-table">...</table></div>``, every cell escaped; the div
        scrolls sideways if the table is wider than its column.
    """
    esc = escape_text
    if hasattr(table, "itertuples"):  # a DataFrame (pandas is not imported for a list)
        columns = list(table.columns)
        body = list(table.astype(str).itertuples(index=False, name=None))
    else:
        columns = list(table[0]) if table else []
        body = [tuple(str(row[c]) for c in columns) for row in table]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    last = len(body) - 1
    for i, cells in enumerate(body):
        tds = []
        for j, cell in enumerate(cells):
            if j == 0 and i < len(swatches):
                style = _swatch_style(swatches[i])
            elif bold_last and i == last:
                style = "font-weight:bold"
            else:
                style = ""
            attr = f' style="{style}"' if style else ""
            tds.append(f"<td{attr}>{esc(cell)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'{_TABLE_STYLE}<div style="overflow-x:auto"><table class="{TABLE_CLASS}"><thead>'
        f'<tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


# The look of st.table (small type, tight cells) so the table fits the 330 px side panel.
_TABLE_STYLE = (
    f"<style>table.{TABLE_CLASS}{{margin:0;width:100%;font-size:0.875rem;"
    f"border-collapse:collapse}}table.{TABLE_CLASS} th,table.{TABLE_CLASS} td{{"
    f"padding:0.25rem 0.375rem;line-height:1.4}}table.{TABLE_CLASS} th{{font-weight:400;"
    "color:rgba(49,51,63,0.6)}</style>"
)


def parameter_table_html(table: pd.DataFrame | Sequence[dict[str, str]]) -> str:
    """The parameter table (:func:`parameter_table`, or its :func:`parameter_rows`) as HTML,
    numbers on component colours."""
    return table_html(table, component_colours(len(table)))


def breakdown_table_html(table: pd.DataFrame) -> str:
    """The one-point E-step table (:func:`point_breakdown`) as HTML, the sum row in bold."""
    return table_html(table, component_colours(len(table) - 1), bold_last=True)


def style_parameter_table(table: pd.DataFrame) -> Any:
    """The parameter table with each component's number on its colour (a pandas Styler)."""
    colours = component_colours(len(table))

    def swatch(column: pd.Series) -> list[str]:
        return [
            f"background-color: {c}; color: {_text_colour(c)}; font-weight: bold"
            for c in colours
        ]

    # Object columns: Streamlit writes the Styler's display values cell by cell, which is
    # slower on pandas' Arrow-backed strings (issue 10: a fifth of the table's cost per click).
    return table.astype(object).style.apply(swatch, subset=["k"])


def style_breakdown_table(table: pd.DataFrame) -> Any:
    """The one-point E-step table: component colours, and the sum row in bold (a Styler)."""
    colours = component_colours(len(table) - 1)

    def swatch(column: pd.Series) -> list[str]:
        styles = [
            f"background-color: {c}; color: {_text_colour(c)}; font-weight: bold"
            for c in colours
        ]
        return [*styles, "font-weight: bold"]

    def bold_sum(row: pd.Series) -> list[str]:
        return ["font-weight: bold" if row["k"] == "sum" else "" for _ in row]

    return table.astype(object).style.apply(bold_sum, axis=1).apply(swatch, subset=["k"])


def data_figure(
    X: np.ndarray,
    placed_means: Sequence[Sequence[float]],
    feature_names: Sequence[str],
    *,
    width: int | None = None,
    height: int = 520,
) -> go.Figure:
    """The data alone (grey) with the starting means placed so far, for manual initialisation.

    Parameters
    ----------
    X : ndarray, shape (N, D), D in {1, 2}
    placed_means : sequence of M means of length D
    feature_names : sequence of str, length D

    Returns
    -------
    go.Figure
        Trace 0 is the points (clickable), trace 1 the placed means.
    """
    X = np.asarray(X, dtype=float)
    means = np.asarray(placed_means, dtype=float).reshape(-1, X.shape[1])
    colours = component_colours(max(len(means), 1))[: len(means)]
    two_d = X.shape[1] == 2
    ys = X[:, 1] if two_d else np.zeros(X.shape[0])
    data = [
        {
            "type": _scatter_type(X.shape[0]),
            "x": X[:, 0],
            "y": ys,
            "mode": "markers",
            "name": "points",
            "marker": {"color": "#8C8C8C", "size": _marker_size(X.shape[0]) if two_d else 16,
                       "symbol": "circle" if two_d else "line-ns-open",
                       "line": {"width": 2 if not two_d else 0, "color": "#8C8C8C"}},
            "unselected": {"marker": {"opacity": 0.8}},
            "hovertemplate": "point #%{pointNumber}: click to use it as a mean<extra></extra>",
        },
        {
            "type": "scatter",
            "x": means[:, 0],
            "y": means[:, 1] if two_d else np.zeros(len(means)),
            "mode": "markers+text",
            "name": "starting means",
            "text": [str(j + 1) for j in range(len(means))],
            "textposition": "top right",
            "textfont": {"size": FONT_SIZE + 3},
            "marker": {"color": colours, "size": 18, "symbol": "diamond",
                       "line": {"color": "white", "width": 2}},
            "hovertemplate": "starting mean %{text}<extra></extra>",
        },
    ]
    layout = _base_layout(height if two_d else 260, "manual-means", width)
    layout["margin"]["t"] = 12
    layout["xaxis"] = _axis(escape_text(feature_names[0]), padded_range(X[:, 0]))
    layout["yaxis"] = (
        _axis(escape_text(feature_names[1]), padded_range(X[:, 1]))
        if two_d
        else _axis("", (-1.0, 1.0), showticklabels=False)
    )
    return _figure(data, layout)
