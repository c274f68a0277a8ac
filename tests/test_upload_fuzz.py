"""Fuzz the upload parser: whatever the bytes, it returns a table or raises UploadError.

Random bytes, random text and valid CSV files mangled by inserting and deleting delimiters,
quotes, NULs, newlines and odd characters, or truncated. For every table that parses, the
numeric columns are selected too: that returns a finite (n, D) array with n >= 2 or raises
UploadError. Nothing else may escape. With CI=true each test runs 2,000 examples.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gmm_app.upload import (
    ParsedTable,
    Selection,
    UploadError,
    parse_table,
    parse_text,
    select_columns,
)

FUZZ = settings(
    max_examples=2000 if os.environ.get("CI") else 300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

pytestmark = pytest.mark.slow

NASTY = [",", ";", "\t", " ", '"', "\x00", "\n", "\r", "\r\n", "x", "é", "\ufeff", "-", ".",
         "e", "inf", "NaN", "1e400", "=", "\x1a", "\x85", "\u2028"]  # fmt: skip

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "NA", "nan", "1,5", "-0", ".5", "5.", "1e-400", "abc"]),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    """A well-formed table: 1-4 columns, 0-12 rows, a delimiter, maybe a header."""
    n_cols = draw(st.integers(1, 4))
    n_rows = draw(st.integers(0, 12))
    delimiter = draw(st.sampled_from([",", ";", "\t", " ", "  "]))
    lines = []
    if draw(st.booleans()):
        names = draw(st.lists(st.text(max_size=8), min_size=n_cols, max_size=n_cols))
        lines.append(delimiter.join(f'"{n}"' if draw(st.booleans()) else n for n in names))
    for _ in range(n_rows):
        cells = draw(st.lists(numbers, min_size=n_cols, max_size=n_cols))
        lines.append(delimiter.join(cells))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline]))


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """A table with random insertions, deletions and a possible truncation."""
    text = draw(csv_texts())
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:position] + draw(st.sampled_from(NASTY)) + text[position:]
        else:
            text = text[:position] + text[position + draw(st.integers(1, 5)) :]
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


def attempt(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The function's result, or None after an UploadError with a proper message."""
    message = None
    try:
        return function(*args, **kwargs)
    except UploadError as error:
        message = str(error)
    assert message.endswith((".", ")")), message  # sentences, not a bare exception text
    assert "Traceback" not in message
    assert "C error" not in message  # pandas' tokenizer messages are translated
    assert "could not be read as a table (" not in message  # the last-resort message
    return None


def encode(text: str, encoding: str) -> bytes:
    prefix = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    return prefix + text.encode("latin-1" if encoding == "latin-1" else "utf-8", "replace")


def check_table(table: ParsedTable, data: st.DataObject) -> None:
    """The table is sound, and selecting its numeric columns behaves."""
    assert isinstance(table, ParsedTable)
    assert table.encoding in ("utf-8", "utf-8-sig", "latin-1")
    assert table.delimiter in (",", ";", "\t", "whitespace")
    assert table.decimal in (".", ",")
    assert table.numeric_columns
    assert set(table.numeric_columns) <= set(table.frame.columns)
    assert table.frame.columns.is_unique
    if table.line_numbers is not None:
        assert len(table.line_numbers) == len(table.frame)
    numeric = list(table.numeric_columns)
    n_features = data.draw(st.integers(1, min(2, len(numeric))), label="D")
    columns = data.draw(st.permutations(numeric), label="columns")[:n_features]
    others = [c for c in table.frame.columns if c not in columns]
    label = data.draw(st.sampled_from([None, *others]), label="label")
    selection = attempt(
        select_columns,
        table,
        columns,
        label,
        standardise=data.draw(st.booleans(), label="standardise"),
        cap=data.draw(st.integers(2, 20), label="cap"),
        seed=data.draw(st.integers(0, 2**32 - 1), label="seed"),
    )
    if selection is None:
        return
    assert isinstance(selection, Selection)
    assert selection.X.dtype == np.float64
    assert selection.X.ndim == 2
    assert selection.X.shape[1] == n_features
    assert 2 <= selection.X.shape[0] <= 20
    assert np.isfinite(selection.X).all()
    if label is not None:
        assert selection.labels.shape == (selection.X.shape[0],)
        assert selection.labels.min() >= 0
        assert selection.labels.max() < len(selection.label_names)


@FUZZ
@given(raw=st.binary(max_size=4096), data=st.data())
def test_random_bytes(raw: bytes, data: st.DataObject) -> None:
    table = attempt(parse_table, raw, "fuzz.csv")
    if table is not None:
        check_table(table, data)


@FUZZ
@given(
    text=mangled(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]),
    data=st.data(),
)
def test_mangled_csv_bytes(text: str, encoding: str, data: st.DataObject) -> None:
    table = attempt(parse_table, encode(text, encoding), "fuzz.csv")
    if table is not None:
        check_table(table, data)


@FUZZ
@given(text=st.one_of(mangled(), st.text(max_size=400)), data=st.data())
def test_mangled_pasted_text(text: str, data: st.DataObject) -> None:
    table = attempt(parse_text, text)
    if table is not None:
        check_table(table, data)
