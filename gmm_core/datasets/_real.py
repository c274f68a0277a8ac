"""Real data sets shipped as package data (``gmm_core/datasets/data/*.csv``).

The CSV files are read with the standard :mod:`csv` module through
:mod:`importlib.resources`, so they load from an installed package without a
network. Parsed arrays are cached in-process and read-only: they are package
data, identical for every caller.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

MISSING = frozenset({"", "NA"})
"""Spellings of a missing value in the shipped CSV files."""


@dataclass(frozen=True)
class Table:
    """Two or one numeric columns of a shipped CSV file, with optional class labels.

    Attributes
    ----------
    X : ndarray, shape (N, D)
        Read-only float64 values of the selected columns, in file order.
    labels : ndarray, shape (N,), or None
        Read-only int64 class index of each kept row into ``label_names``.
    label_names : tuple of str, or None
        Class names in sorted order.
    n_rows_in_file : int
        Number of data rows in the file.
    n_dropped : int
        Rows dropped because a selected column was missing.
    """

    X: np.ndarray
    labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    n_rows_in_file: int
    n_dropped: int


def _data_file(filename: str) -> str:
    return (resources.files("gmm_core.datasets") / "data" / filename).read_text(encoding="utf-8")


def read_rows(filename: str) -> list[dict[str, str]]:
    """All rows of a shipped CSV file as dictionaries keyed by the header."""
    return list(csv.DictReader(io.StringIO(_data_file(filename))))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=32)
def read_table(
    filename: str, columns: tuple[str, ...], label_column: str | None = None, scale: float = 1.0
) -> Table:
    """Read numeric ``columns`` (and optional class labels) from a shipped CSV file.

    Rows where any of ``columns`` is missing (empty or ``NA``) are dropped and
    counted. Values are divided by ``scale``.

    Parameters
    ----------
    filename : str
        Name of a file in ``gmm_core/datasets/data``.
    columns : tuple of str
        The D columns to read.
    label_column : str or None
        A column of class names to encode as integers 0..L-1 (sorted names).
    scale : float
        Divisor applied to every value (e.g. 1000 for km/s to 1000 km/s).

    Returns
    -------
    Table
        ``X`` has shape (N, D) with N the number of kept rows.
    """
    rows = read_rows(filename)
    kept = [row for row in rows if all(row[c].strip() not in MISSING for c in columns)]
    X = np.array([[float(row[c]) for c in columns] for row in kept], dtype=np.float64) / scale
    X = X.reshape(len(kept), len(columns))
    labels = label_names = None
    if label_column is not None:
        label_names = tuple(sorted({row[label_column] for row in kept}))
        index = {name: i for i, name in enumerate(label_names)}
        labels = _read_only(np.array([index[row[label_column]] for row in kept], dtype=np.int64))
    return Table(
        X=_read_only(X),
        labels=labels,
        label_names=label_names,
        n_rows_in_file=len(rows),
        n_dropped=len(rows) - len(kept),
    )


@lru_cache(maxsize=32)
def provenance(filename: str) -> str:
    """The "source and licence" cell of ``filename``'s row in ``data/PROVENANCE.md``.

    Raises
    ------
    LookupError
        If PROVENANCE.md has no table row for ``filename``.
    """
    for line in _data_file("PROVENANCE.md").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0] == filename and len(cells) >= 5:
            return cells[4]
    raise LookupError(f"data/PROVENANCE.md has no table row for {filename!r}.")
