"""Arrays the figures draw: covariance ellipses, evaluation grids, histograms, colours.

Pure numpy/scipy helpers with no plotting, so each can be checked against an
independent computation in the tests.
"""

from __future__ import annotations

import numpy as np

# scipy.special's chdtr is the function behind scipy.stats.chi2.cdf; importing
# scipy.stats would add ~0.7 s to the app's cold start for this one call.
from scipy.special import chdtr

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common
# colour-vision deficiency. Ordered for contrast on white (yellow late), then two
# extra colours from Paul Tol's palettes for K = 9, 10.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
    "#882255",  # wine (Tol)
    "#999933",  # olive (Tol)
)
UNASSIGNED = "#8C8C8C"
"""Grey for points before the first E-step (no responsibilities yet)."""

SIGMA_LEVELS: tuple[float, ...] = (1.0, 2.0)
"""Mahalanobis radii of the drawn ellipses (1σ and 2σ)."""


def hex_to_rgb(colour: str) -> np.ndarray:
    """``"#RRGGBB"`` to an array of three floats in [0, 255], shape (3,)."""
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=float)


def component_colours(n_components: int) -> list[str]:
    """The hex colour of each of ``n_components`` components (cycling past 10)."""
    return [PALETTE[k % len(PALETTE)] for k in range(n_components)]


def blend_colours(resp: np.ndarray | None, n_points: int | None = None) -> list[str]:
    """Each point's colour: the component colours averaged with its responsibilities.

    A point owned by one component gets that colour; a point shared equally
    between two gets the midpoint of theirs, so uncertain points look mixed.

    Parameters
    ----------
    resp : ndarray, shape (N, K), or None
        Responsibilities (rows sum to 1). ``None``: no E-step yet, every point grey.
    n_points : int, optional
        N, needed when ``resp`` is None.

    Returns
    -------
    list of str, length N
        ``"#rrggbb"`` colours.
    """
    if resp is None:
        return [UNASSIGNED] * int(n_points or 0)
    return blend_colours_array(resp, n_points).tolist()


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def blend_colours_array(resp: np.ndarray | None, n_points: int | None = None) -> np.ndarray:
    """:func:`blend_colours` as a numpy array of ``"#rrggbb"`` strings (dtype ``<U7``).

    The same colours, built without a Python loop over the points: 50,000 colours take
    ~2 ms instead of ~25 ms, and a figure copies the array in one block where it copies a
    list string by string (issue 10: cheap clicks at 50,000 points).
    """
    if resp is None:
        return np.full(int(n_points or 0), UNASSIGNED, dtype="<U7")
    resp = np.asarray(resp, dtype=float)
    rgb = np.stack([hex_to_rgb(c) for c in component_colours(resp.shape[1])])  # (K, 3)
    mixed = np.clip(np.rint(resp @ rgb), 0, 255).astype(np.uint8)  # (N, 3)
    # Each byte as two lowercase hex digits, after "#": (N, 7) ASCII codes, read as <U7.
    text = np.empty((mixed.shape[0], 7), dtype=np.uint32)
    text[:, 0] = ord("#")
    text[:, 1::2] = _HEX_DIGITS[mixed >> 4]
    text[:, 2::2] = _HEX_DIGITS[mixed & 15]
    return text.view("<U7").reshape(-1)


def chi2_mass(radius: float, n_features: int = 2) -> float:
    """Probability mass of a D-dimensional Gaussian inside Mahalanobis radius ``radius``.

    ``P(chi2_D <= r^2)``: 39.3 % at 1σ and 86.5 % at 2σ in 2-D.
    """
    return float(chdtr(n_features, radius**2))


def ellipse_points(
    mean: np.ndarray, covariance: np.ndarray, radius: float, n_points: int = 73
) -> np.ndarray:
    """Points on the ellipse ``(x - mean)^T covariance^{-1} (x - mean) = radius^2``.

    Parameters
    ----------
    mean : ndarray, shape (2,)
    covariance : ndarray, shape (2, 2)
        Symmetric positive semi-definite.
    radius : float
        Mahalanobis radius (1 for 1σ, 2 for 2σ).
    n_points : int
        Number of points; the first and last coincide, closing the curve.

    Returns
    -------
    ndarray, shape (n_points, 2)
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    half_axes = radius * np.sqrt(np.clip(eigenvalues, 0.0, None))  # (2,)
    angles = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (n_points, 2)
    return np.asarray(mean, dtype=float) + (circle * half_axes) @ eigenvectors.T


def ellipse_paths(
    means: np.ndarray, covariances: np.ndarray, radius: float, n_points: int = 73
) -> tuple[np.ndarray, np.ndarray]:
    """All components' ellipses joined into one polyline, separated by NaN gaps.

    Parameters
    ----------
    means : ndarray, shape (K, 2)
    covariances : ndarray, shape (K, 2, 2)
    radius : float
    n_points : int

    Returns
    -------
    x, y : ndarray, shape (K * (n_points + 1),)
        Coordinates with a NaN after each ellipse (Plotly draws a break there).
    """
    pieces = []
    for mean, cov in zip(means, covariances, strict=True):
        pts = ellipse_points(mean, cov, radius, n_points)
        pieces.append(np.vstack([pts, [np.nan, np.nan]]))
    joined = np.vstack(pieces) if pieces else np.empty((0, 2))
    return joined[:, 0], joined[:, 1]


def padded_range(values: np.ndarray, pad: float = 0.08) -> tuple[float, float]:
    """``(lo, hi)`` of ``values`` (any shape) widened by ``pad`` of the span on each side."""
    lo, hi = float(np.min(values)), float(np.max(values))
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - pad * span, hi + pad * span


def grid_1d(x: np.ndarray, n_points: int = 400, pad: float = 0.08) -> np.ndarray:
    """Evenly spaced evaluation points over the padded range of ``x`` (shape (N,) or (N, 1)).

    Returns
    -------
    ndarray, shape (n_points,)
    """
    lo, hi = padded_range(np.asarray(x), pad)
    return np.linspace(lo, hi, n_points)


def grid_2d(
    X: np.ndarray, n_points: int = 80, pad: float = 0.08
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A regular grid over the padded bounding box of ``X`` (N, 2).

    Returns
    -------
    gx : ndarray, shape (G,)
    gy : ndarray, shape (G,)
    points : ndarray, shape (G * G, 2)
        Row ``i * G + j`` is ``(gx[j], gy[i])``, so values reshape to (G, G) with
        rows along y, as ``go.Contour(z=...)`` expects.
    """
    gx = np.linspace(*padded_range(X[:, 0], pad), n_points)
    gy = np.linspace(*padded_range(X[:, 1], pad), n_points)
    mx, my = np.meshgrid(gx, gy)
    return gx, gy, np.column_stack([mx.ravel(), my.ravel()])


def histogram_density(
    x: np.ndarray, min_bins: int = 15, max_bins: int = 60
) -> tuple[np.ndarray, np.ndarray]:
    """A density-normalised histogram (the bars' total area is 1).

    Parameters
    ----------
    x : ndarray, shape (N,) or (N, 1)
    min_bins, max_bins : int
        Bounds on numpy's automatic bin count (fewer bins hide the components' shapes).

    Returns
    -------
    edges : ndarray, shape (B + 1,)
    density : ndarray, shape (B,)
    """
    x = np.asarray(x, dtype=float).ravel()
    edges = np.histogram_bin_edges(x, bins="auto")
    if not min_bins <= edges.size - 1 <= max_bins:
        n_bins = int(np.clip(edges.size - 1, min_bins, max_bins))
        edges = np.histogram_bin_edges(x, bins=n_bins)
    density, edges = np.histogram(x, bins=edges, density=True)
    return edges, density
