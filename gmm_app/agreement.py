"""How well fitted clusters agree with known labels: a contingency table and the adjusted
Rand index (Hubert and Arabie, 1985). Pure numpy, no Streamlit.

The adjusted Rand index counts pairs of points: a pair *agrees* when both labellings put
it in the same group or both put it in different groups. The raw share of agreeing pairs
(the Rand index) is high even for random labellings, so it is adjusted for chance:

    ARI = (index - expected) / (max - expected)

with ``index = Σ_ij C(n_ij, 2)`` over the contingency table, ``expected = Σ_i C(a_i, 2)
Σ_j C(b_j, 2) / C(N, 2)`` (row sums a, column sums b) and ``max = (Σ_i C(a_i, 2) +
Σ_j C(b_j, 2)) / 2``. 1 means the same grouping (whatever the group numbers), about 0 a
chance agreement; it can be negative. The labels' names do not matter, only the grouping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def contingency_table(
    labels_a: np.ndarray, labels_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of points per (label a, label b) pair.

    Parameters
    ----------
    labels_a, labels_b : array_like, shape (N,)
        Two labellings of the same N points (any hashable, sortable values).

    Returns
    -------
    table : ndarray of int64, shape (R, C)
        ``table[i, j]`` = number of points with ``labels_a == rows[i]`` and
        ``labels_b == columns[j]``.
    rows : ndarray, shape (R,)
        The distinct values of ``labels_a``, sorted.
    columns : ndarray, shape (C,)
        The distinct values of ``labels_b``, sorted.

    Raises
    ------
    ValueError
        If the two labellings have different lengths.
    """
    a, b = np.asarray(labels_a).ravel(), np.asarray(labels_b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"The labellings have {a.size} and {b.size} points; they must match.")
    rows, ia = np.unique(a, return_inverse=True)
    columns, ib = np.unique(b, return_inverse=True)
    # One bincount over the pair index i * C + j: O(N), no Python loop.
    flat = np.bincount(ia * columns.size + ib, minlength=rows.size * columns.size)
    return flat.reshape(rows.size, columns.size).astype(np.int64), rows, columns


def _pairs(counts: np.ndarray) -> int:
    """Σ C(n, 2) over ``counts``, exactly (Python integers: no overflow for any N)."""
    return sum(int(n) * (int(n) - 1) // 2 for n in np.asarray(counts).ravel())


def adjusted_rand_index(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Adjusted Rand index of two labellings of the same points.

    Parameters
    ----------
    labels_a, labels_b : array_like, shape (N,)

    Returns
    -------
    float
        In [-1, 1] (in practice above about -0.5): 1 for the same grouping, about 0 for
        chance agreement. 1.0 when both put all points in one group, or every point in its
        own group (nothing to adjust: the groupings are identical).
    """
    table, _, _ = contingency_table(labels_a, labels_b)
    n = int(table.sum())
    index = _pairs(table)
    rows, cols = _pairs(table.sum(axis=1)), _pairs(table.sum(axis=0))
    total = n * (n - 1) // 2
    if total == 0:
        return 1.0  # fewer than two points: no pair can disagree
    # Exact rational arithmetic up to the one division: sums of pair counts are integers.
    expected_num = rows * cols  # expected * total
    max_num = (rows + cols) * total  # 2 * max * total
    if max_num == 2 * expected_num:
        return 1.0
    return float((2 * (index * total - expected_num)) / (max_num - 2 * expected_num))


def confusion_frame(
    labels: np.ndarray, label_names: tuple[str, ...], clusters: np.ndarray, n_clusters: int
) -> pd.DataFrame:
    """Points per (known label, fitted cluster), every label and every cluster shown.

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
        Codes into ``label_names``.
    label_names : tuple of str, length L
    clusters : ndarray of int, shape (N,)
        Fitted cluster of each point, 0 … K-1.
    n_clusters : int
        K.

    Returns
    -------
    pandas.DataFrame
        Shape (L, K + 1): a "your label" column (the names, as text), then "cluster 1" …
        "cluster K" counts.
    """
    codes = np.asarray(labels, dtype=np.int64).ravel()
    fitted = np.asarray(clusters, dtype=np.int64).ravel()
    n_labels = len(label_names)
    counts = np.bincount(codes * n_clusters + fitted, minlength=n_labels * n_clusters)
    counts = counts[: n_labels * n_clusters].reshape(n_labels, n_clusters)
    import pandas as pd  # here, not at import: 0.4-0.5 s of a fresh server's first page (issue 11)

    frame = pd.DataFrame(counts, columns=[f"cluster {j + 1}" for j in range(n_clusters)])
    frame.insert(0, "your label", [str(name) for name in label_names])
    return frame
