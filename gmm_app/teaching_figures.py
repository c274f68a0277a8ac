"""Figure helpers of the teaching tools (no Streamlit here): the axis box that holds every
2σ ellipse of a run, the presenter view's large type and thick lines, and the small
multiples of the lessons (several states of a run side by side, from the stepper's own
figure builder).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from gmm_app.geometry import padded_range
from gmm_core import GMMParams

ELLIPSE_RADIUS = 2.0
"""The largest ellipse drawn (2σ): the axes hold all of them."""
EXTENT_PAD = 0.05
"""Margin around the box of the data and ellipses, as a share of its span."""
EXTENT_CAP = 1.0
"""An ellipse is followed at most this many data spans beyond the data (a collapsing or a
huge starting component must not shrink the data to a dot)."""


def ellipse_boxes(means: np.ndarray, covariances: np.ndarray,
                  radius: float = ELLIPSE_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned boxes of ellipses ``(x - μ)ᵀ Σ⁻¹ (x - μ) = radius²``.

    The ellipse reaches ``μ_i ± radius · sqrt(Σ_ii)`` along axis ``i`` (the support
    function of the ellipse in the direction of that axis), so no points are needed.

    Parameters
    ----------
    means : ndarray, shape (M, D)
    covariances : ndarray, shape (M, D, D)
    radius : float

    Returns
    -------
    lo, hi : ndarray, shape (M, D)
    """
    means = np.asarray(means, dtype=float)
    diag = np.diagonal(np.asarray(covariances, dtype=float), axis1=-2, axis2=-1)
    half = radius * np.sqrt(np.clip(diag, 0.0, None))  # clip: rounding below 0
    return means - half, means + half


def run_extent(
    X: np.ndarray,
    params: Sequence[GMMParams],
    true_params: GMMParams | None = None,
    radius: float = ELLIPSE_RADIUS,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges holding the data and every ``radius``-σ ellipse of ``params``.

    One box for the whole run (the axes do not move from one half-step to the next), cut
    at :data:`EXTENT_CAP` data spans beyond the data, then padded by :data:`EXTENT_PAD`.

    Parameters
    ----------
    X : ndarray, shape (N, 2)
    params : sequence of GMMParams
        The states of the run (e.g. every half-step's parameters).
    true_params : GMMParams, optional
        Also holds the true components' ellipses.

    Returns
    -------
    (x_lo, x_hi), (y_lo, y_hi)
    """
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    all_params = [p for p in params if p is not None]
    if true_params is not None:
        all_params.append(true_params)
    if all_params:
        means = np.concatenate([p.means for p in all_params])
        covs = np.concatenate([p.covariances for p in all_params])
        e_lo, e_hi = ellipse_boxes(means, covs, radius)
        finite = np.all(np.isfinite(e_lo) & np.isfinite(e_hi), axis=1)
        if finite.any():
            lo = np.maximum(np.minimum(lo, e_lo[finite].min(axis=0)), lo - EXTENT_CAP * span)
            hi = np.minimum(np.maximum(hi, e_hi[finite].max(axis=0)), hi + EXTENT_CAP * span)
    x_range = padded_range(np.array([lo[0], hi[0]]), EXTENT_PAD)
    y_range = padded_range(np.array([lo[1], hi[1]]), EXTENT_PAD)
    return x_range, y_range


# --------------------------------------------------------------------------- presenter
PRESENTER_FONT_SCALE = 1.45
"""Chart text in the presenter view: 15 px becomes about 22 px."""
PRESENTER_LINE_SCALE = 1.7
"""Line widths in the presenter view (ellipses 3 and 2 px become 5 and 3.4 px)."""


def _scaled_fonts(obj: Any, scale: float) -> None:
    """Scale every ``font.size`` / ``tickfont.size`` / ``textfont.size`` found in a dict tree."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("font", "tickfont", "textfont") and isinstance(value, dict) and isinstance(
                value.get("size"), int | float
            ):
                value["size"] = round(value["size"] * scale, 1)
            _scaled_fonts(value, scale)
    elif isinstance(obj, list):
        for item in obj:
            _scaled_fonts(item, scale)


def presenter_figure(fig: go.Figure, *, font_scale: float = PRESENTER_FONT_SCALE,
                     line_scale: float = PRESENTER_LINE_SCALE) -> go.Figure:
    """``fig`` for a projector: larger text, thicker lines, wider margins for the text.

    The width and height are removed: the presenter view sizes the chart to the window.
    """
    spec = fig.to_plotly_json()
    layout = spec.get("layout", {})
    _scaled_fonts(layout, font_scale)
    layout.pop("width", None)
    margin = layout.get("margin") or {}
    layout["margin"] = {side: int(round(v * 1.25)) for side, v in margin.items()}
    for trace in spec.get("data", []):
        _scaled_fonts(trace, font_scale)
        line = trace.get("line")
        if isinstance(line, dict) and isinstance(line.get("width"), int | float):
            line["width"] = round(line["width"] * line_scale, 1)
        marker = trace.get("marker")
        if (isinstance(marker, dict) and isinstance(marker.get("size"), int | float)
                and trace.get("name") != "points"):
            marker["size"] = round(marker["size"] * 1.3, 1)
    return go.Figure(data=spec.get("data", []), layout=layout, _validate=False)


# --------------------------------------------------------------------------- small multiples
def small_multiples(
    figures: Sequence[go.Figure],
    titles: Sequence[str],
    *,
    height: int = 330,
    width: int | None = None,
) -> go.Figure:
    """Several 2-D stepper figures side by side, with shared axis ranges (one row).

    Each panel keeps the traces of its figure (points, ellipses, means); axis titles and
    ranges come from the first figure; ``titles`` are written above the panels.
    """
    n = len(figures)
    gap = 0.02
    panel = (1.0 - gap * (n - 1)) / n
    data: list[dict] = []
    first = figures[0].to_plotly_json()["layout"]
    layout: dict[str, Any] = {
        "height": height, "showlegend": False, "paper_bgcolor": "white",
        "plot_bgcolor": "white", "font": first.get("font", {}),
        "margin": {"l": 50, "r": 10, "t": 40, "b": 50}, "annotations": [],
        "hovermode": "closest",
    }
    if width is not None:
        layout["width"] = width
    for i, fig in enumerate(figures):
        spec = fig.to_plotly_json()
        suffix = "" if i == 0 else str(i + 1)
        for trace in spec["data"]:
            trace = dict(trace)
            trace["xaxis"], trace["yaxis"] = f"x{suffix}", f"y{suffix}"
            if trace.get("type") == "scattergl":
                trace["type"] = "scatter"  # few points; one WebGL context per panel is costly
            data.append(trace)
        left = i * (panel + gap)
        xaxis = dict(first["xaxis"], domain=[left, left + panel], anchor=f"y{suffix}")
        yaxis = dict(first["yaxis"], anchor=f"x{suffix}")
        if i:
            xaxis["title"] = {"text": xaxis.get("title", {}).get("text", "")}
            yaxis = dict(yaxis, title={"text": ""}, showticklabels=False)
        layout[f"xaxis{suffix}"] = xaxis
        layout[f"yaxis{suffix}"] = yaxis
        layout["annotations"].append({
            "text": titles[i], "x": left + panel / 2, "y": 1.0, "xref": "paper",
            "yref": "paper", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 16},
        })
    return go.Figure(data=data, layout=layout, _validate=False)
