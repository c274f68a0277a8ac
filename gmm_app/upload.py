"""Parsing and export for the "Your data" page: pure functions, no Streamlit.

Reading
    :func:`parse_table` turns the bytes of an uploaded file (and :func:`parse_text` pasted
    text) into a :class:`ParsedTable`. It detects the encoding (UTF-8, UTF-8 with a BOM, else
    Latin-1), the delimiter (comma, semicolon, tab or whitespace), a header line, decimal
    commas and quoted fields, and says what it decided in ``notes``. Anything it cannot read
    raises :class:`UploadError`, whose text says what was wrong and what to do; no pandas,
    csv or decoding exception escapes.
Choosing
    :func:`select_columns` picks one (1-D) or two (2-D) numeric columns and an optional label
    column, drops and counts rows with a missing or non-numeric value (naming their file
    lines), optionally standardises, and subsamples reproducibly above the interactive cap.
Writing
    :func:`responsibilities_csv` (points, responsibilities and hard labels, escaped against
    spreadsheet formula injection) and :func:`params_json` (fitted parameters as strict JSON).

User text (file names, column names, cell values) appears verbatim in messages and notes:
whoever displays them must show them as plain text, never as Markdown or HTML.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import StringIO
from itertools import repeat
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
else:
    from gmm_app.lazy import pandas as pd  # imported at first use (issue 11)

__all__ = [
    "INTERACTIVE_CAP",
    "MAX_COLUMNS",
    "MAX_UPLOAD_MB",
    "ParsedTable",
    "Selection",
    "UploadError",
    "escape_formula",
    "params_json",
    "parse_table",
    "parse_text",
    "responsibilities_csv",
    "select_columns",
]

# The limits are declared once, in gmm_app.declared (issue 10).
from gmm_app.declared import (  # noqa: E402
    MAX_PASTE_CHARS,
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    quote,
)

# The fit's own limit (gmm_core check_data: squares of larger values overflow float64). Read
# from gmm_core so that the page refuses exactly what the fit would refuse.
from gmm_core._em import _MAX_ABS_VALUE as FIT_MAX_ABS_VALUE  # noqa: E402

INTERACTIVE_CAP: int = 200_000
"""Usable rows beyond which :func:`select_columns` takes a reproducible random subsample."""

MAX_COLUMNS: int = 10_000
"""Widest table accepted; wider files get a clear message instead of a very slow parse."""

_SAMPLE_LINES = 50  # lines used to detect the delimiter, header and decimal mark
_SAMPLE_CHARS = 1 << 20  # ... unless they add up to more characters than this
_LISTED = 5  # how many line numbers a message names before saying "and N more"

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "whitespace": "spaces"}
_CANDIDATES = ("\t", ";", ",", "whitespace")  # ties go to the earlier one

_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_DOT_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITIES = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "#n/a", "<na>"})
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0b\x0c\x1a\x1b") + b"\x7f"
_LINE_IN_ERROR = re.compile(r"\b(line|row) (\d+)")
_TOO_MANY_FIELDS = re.compile(r"Expected \d+ fields in line \d+, saw (\d+)")
_OTHER_SPACE = re.compile(r"[^\S \t\n]")  # whitespace that str.split() uses but pandas does not
_BLANKS = re.compile(r"[ \t]+")
_SEP_HINT = re.compile(r'"?sep=([,;\t])"?', re.IGNORECASE)
_RETRIES = 8  # times to widen the table when pandas finds a longer line than counted

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel workbook (.xls) or another Office document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3", "an SQLite database"),
)

_PASTED = "The pasted text"
_WHAT_TO_UPLOAD = (
    "Upload a plain-text table (CSV, TSV or TXT) with one row of numbers per line, for "
    "example by saving your spreadsheet as “CSV UTF-8”."
)


class UploadError(ValueError):
    """A file or selection that cannot be used; ``str(error)`` is a message for the user.

    The message says what was wrong and what to do about it. It may quote user text (column
    names, a line of the file), so show it as plain text.
    """


@dataclass(frozen=True, eq=False)
class ParsedTable:
    """A table read from an upload or pasted text.

    Attributes
    ----------
    frame : pandas.DataFrame
        All columns as parsed, shape (n_rows, n_columns): numeric columns as numbers, others
        as strings. Column names are unique strings; without a header they are "column 1",
        "column 2", …
    encoding : str
        "utf-8", "utf-8-sig" (UTF-8 with a byte-order mark) or "latin-1".
    delimiter : str
        ",", ";", "\\t" or "whitespace".
    has_header : bool
        Whether the first non-blank line was read as column names.
    decimal : str
        "." or ",".
    notes : tuple of str
        Sentences for the user: the encoding used, the delimiter, the header decision, ragged
        lines, ignored empty columns.
    numeric_columns : tuple of str
        Names of the columns with at least 2 finite numeric values, in table order.
    line_numbers : numpy.ndarray or None
        Shape (n_rows,): the 1-based line of the file on which each row starts, or None when it
        cannot be known exactly (quoted fields spanning several lines); messages then count
        data rows instead.
    """

    frame: pd.DataFrame
    encoding: str
    delimiter: str
    has_header: bool
    decimal: str
    notes: tuple[str, ...]
    numeric_columns: tuple[str, ...]
    line_numbers: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Selection:
    """The chosen columns, cleaned and ready for EM.

    Attributes
    ----------
    X : numpy.ndarray
        Shape (n, D), float64, all finite; D = 1 or 2.
    feature_names : tuple of str
        Length D: the chosen column names.
    labels : numpy.ndarray or None
        Shape (n,), int64 codes into ``label_names`` (order of first appearance), or None
        without a label column. A missing label is its own category, "(missing)".
    label_names : tuple of str or None
        The label text for each code, or None.
    n_dropped : int
        Rows dropped for a missing, non-numeric or infinite value in a chosen column.
    message : str or None
        Sentences for the user about dropped rows and subsampling, or None.
    problem : str or None
        Why EM cannot be run on ``X`` as chosen, with what to do about it (values beyond
        :data:`FIT_MAX_ABS_VALUE` without standardising), or None when it can.
    standardised : bool
        Whether each column of ``X`` was shifted and scaled to mean 0 and standard deviation 1.
    subsampled_from : int or None
        The number of usable rows the random subsample was drawn from, or None if all usable
        rows were kept.
    """

    X: np.ndarray
    feature_names: tuple[str, ...]
    labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    n_dropped: int
    message: str | None
    standardised: bool
    subsampled_from: int | None
    problem: str | None = None


# --------------------------------------------------------------------------------- parsing


def parse_table(raw: bytes, filename: str = "data.csv") -> ParsedTable:
    """Read an uploaded file into a table.

    Parameters
    ----------
    raw : bytes
        The file's contents.
    filename : str
        The file's name, used only in messages.

    Returns
    -------
    ParsedTable

    Raises
    ------
    UploadError
        With a message for the user, for anything that cannot be read as a table with at
        least one numeric column and 2 rows.
    """
    # The name is user text: control and bidirectional characters escaped, length cut.
    filename = quote(filename, 80)[1:-1]
    try:
        _check_bytes(raw, filename)
        _check_rows(max(raw.count(b"\n"), raw.count(b"\r")), f"The file “{filename}”")
        text, encoding, note = _decode(raw)
        return _parse_decoded(text, encoding, (note,), f"The file “{filename}”")
    except UploadError:
        raise
    except MemoryError:
        raise UploadError(
            f"The file “{filename}” is too large to read in memory. Keep only the columns you "
            "need, or a sample of the rows, and upload it again."
        ) from None
    except Exception as exc:  # the promise: nothing but UploadError leaves this function
        raise UploadError(
            f"The file “{filename}” could not be read as a table ({_first_line(exc)}). "
            + _WHAT_TO_UPLOAD
        ) from exc


def parse_text(text: str) -> ParsedTable:
    """Read pasted text into a table.

    Parameters
    ----------
    text : str
        The pasted text.

    Returns
    -------
    ParsedTable
        With ``encoding`` "utf-8" (the text is already decoded).

    Raises
    ------
    UploadError
        As :func:`parse_table`.
    """
    try:
        if not isinstance(text, str):
            raise UploadError("Paste the data as text: one row of numbers per line.")
        if len(text) > MAX_PASTE_CHARS:
            raise UploadError(
                f"The pasted text is longer than the limit of {MAX_PASTE_CHARS:,} characters "
                f"for a paste. Paste fewer rows, or upload the data as a file (up to "
                f"{MAX_UPLOAD_MB} MB)."
            )
        if "\x00" in text or _looks_binary(text[:65536].encode("latin-1", "replace")):
            raise UploadError(
                "The pasted text contains control characters, so it looks like binary data "
                "rather than text. Paste a table of numbers, one row per line."
            )
        _check_rows(max(text.count("\n"), text.count("\r")), _PASTED)
        text = text.removeprefix("\ufeff")
        return _parse_decoded(text, "utf-8", (), _PASTED)
    except UploadError:
        raise
    except MemoryError:
        raise UploadError(
            "The pasted text is too large to read in memory. Paste fewer rows."
        ) from None
    except Exception as exc:
        raise UploadError(
            f"The pasted text could not be read as a table ({_first_line(exc)}). Paste one "
            "row of numbers per line, with the values separated by commas, semicolons, tabs "
            "or spaces."
        ) from exc


def _check_rows(n_lines: int, source: str) -> None:
    """Refuse more than :data:`MAX_ROWS` lines before parsing: the parse holds every line,
    so its memory grows with the number of rows (12.5 million short rows took 2 GB)."""
    if n_lines > MAX_ROWS + 1:  # one header line
        step = -(-n_lines // MAX_ROWS)
        raise UploadError(
            f"{source} has {n_lines:,} lines; at most {MAX_ROWS:,} rows are read (the stepper "
            f"shows at most {INTERACTIVE_CAP:,} points). Keep a sample of the rows (e.g. every "
            f"{step}th) and {'paste it' if source == _PASTED else 'upload it'} again."
        )


def _check_bytes(raw: bytes, filename: str) -> None:
    """Refuse empty, over-limit and binary files before decoding."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise UploadError(f"The upload “{filename}” did not arrive as a file. Try again.")
    size = len(raw)
    if size == 0 or bytes(raw[:4]) == codecs.BOM_UTF8:  # nothing, or nothing but a BOM
        raise UploadError(
            f"The file “{filename}” is empty. Choose the file that contains your data: "
            "a CSV, TSV or TXT table with one row of numbers per line."
        )
    if size >= MAX_UPLOAD_BYTES:  # as Streamlit's uploader counts: 50 MB = 50,000,000 bytes
        size_mb = math.floor(size / 1_000_000 * 10) / 10
        raise UploadError(
            f"The file “{filename}” is over the upload limit of {MAX_UPLOAD_MB} MB (it is "
            f"{size_mb:.1f} MB). Keep only the columns you need, or a sample of the rows, "
            "and upload it again."
        )
    head = bytes(raw[:65536])
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UploadError(
            f"The file “{filename}” is saved as UTF-16 text, which this page does not read. "
            "Save it again as “CSV UTF-8” (comma-delimited) and upload that."
        )
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            raise UploadError(
                f"The file “{filename}” looks like {kind}, not a text table. " + _WHAT_TO_UPLOAD
            )
    if b"\x00" in raw or _looks_binary(head):
        raise UploadError(
            f"The file “{filename}” looks like a binary file, not text (it contains NUL or "
            "other control bytes). " + _WHAT_TO_UPLOAD
        )


def _looks_binary(head: bytes) -> bool:
    """True when more than 5% of the bytes are control characters text does not use."""
    if not head:
        return False
    n_control = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return n_control > 0.05 * len(head)


def _decode(raw: bytes) -> tuple[str, str, str]:
    """Decode as UTF-8, UTF-8 with a BOM, else Latin-1; return (text, encoding, note)."""
    data = bytes(raw)
    has_bom = data.startswith(codecs.BOM_UTF8)
    if has_bom:
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        note = (
            f"The file is not valid UTF-8 (line {line} has a byte UTF-8 does not allow), so "
            "it was read as Latin-1 (ISO-8859-1). If accented letters look wrong, save the "
            "file as UTF-8 and upload it again."
        )
        return data.decode("latin-1"), "latin-1", note
    if has_bom:
        return text, "utf-8-sig", "Read as UTF-8 text with a byte-order mark (BOM)."
    return text, "utf-8", "Read as UTF-8 text."


def _parse_decoded(text: str, encoding: str, notes: tuple[str, ...], source: str) -> ParsedTable:
    """Parse decoded text; ``source`` names it in messages ("The file “x.csv”")."""
    again = _again(source)
    start_over = (
        "Paste a table with one row of numbers per line."
        if source == _PASTED
        else "Check that you chose the right file, then upload a table with one row of "
        "numbers per line."
    )
    notes_list = [n for n in notes if n]
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\x1a")
    if not text.strip():
        raise UploadError(f"{source} contains only blank lines or spaces, no data. {start_over}")
    lines = text.split("\n")
    # map() keeps the per-line work in C: this is the hot path for big files.
    filled = np.fromiter(map(bool, map(str.strip, lines)), dtype=bool, count=len(lines))
    nonblank = np.flatnonzero(filled)
    hint = _SEP_HINT.fullmatch(lines[nonblank[0]].strip(" "))
    if hint:  # Excel's "sep=;" first line names the delimiter
        nonblank = nonblank[1:]
        if not nonblank.size:
            raise UploadError(
                f"{source} holds only the line “{hint.group(0)}”, no data. {start_over}"
            )
        notes_list.append(
            f"The first line “{hint.group(0)}” names the delimiter (Excel writes it); it was "
            "not read as data."
        )
    sample = _sample(lines, nonblank)
    delimiter, decimal = _sniff(sample, hint.group(1) if hint else None)
    header_fields = _split(lines[nonblank[0]], delimiter)
    has_header = _is_header(header_fields)

    # Lines whose quotes are unbalanced may hold a quoted field that spans several lines:
    # then pandas must see the text as it is, and row-to-line bookkeeping is best effort.
    multiline = '"' in text and bool(np.any(_per_line(str.count, lines, '"') % 2))
    if has_header and len(nonblank) == 1:
        data_lines: list[str] = []
        line_numbers: np.ndarray | None = np.empty(0, dtype=np.int64)
    elif multiline:
        start = int(nonblank[1] if has_header else nonblank[0])
        data_lines = lines[start:]
        line_numbers = None
    else:
        data_idx = nonblank[1:] if has_header else nonblank
        if data_idx[-1] - data_idx[0] + 1 == data_idx.size:  # no blank line inside
            data_lines = lines[data_idx[0] : data_idx[-1] + 1]
        else:
            data_lines = list(map(lines.__getitem__, data_idx.tolist()))
        line_numbers = data_idx.astype(np.int64) + 1

    if multiline and data_lines:
        counts, line_numbers = _record_counts(data_lines, delimiter, start + 1)
    else:
        counts = _field_counts(data_lines, delimiter, '"' in text)
    if (
        has_header
        and counts.size
        and counts.min() == counts.max() == len(header_fields) + 1
        and not all(line.rstrip(" ").endswith(delimiter) for line in data_lines if line.strip())
    ):  # R's write.table: every line starts with a row name that the header lacks
        header_fields = ["", *header_fields]
        notes_list.append(
            "Every data line has one value more than the header, so the header was taken "
            "to name the last columns (as R's write.table writes row names); the first "
            "column is “column 1”."
        )
    width_in_header = len(header_fields) if has_header else 0
    width = max(int(counts.max(initial=0)), width_in_header, 1)
    if width > MAX_COLUMNS:
        raise UploadError(
            f"{source} has {width:,} columns; at most {MAX_COLUMNS:,} are supported. Keep "
            f"only the columns you need and {again}."
        )
    names = _column_names(header_fields if has_header else [], width)
    if has_header and not data_lines:
        shown = ", ".join(f"“{n}”" for n in names[:8]) + (", …" if len(names) > 8 else "")
        raise UploadError(
            f"{source} has a header line ({shown}) but no data rows below it. Add the data, "
            f"one row per line under the header, and {again}."
        )

    frame = _read_frame(
        "\n".join(data_lines),
        delimiter,
        decimal,
        header_fields if has_header else [],
        width,
        line_numbers,
        source,
    )
    if line_numbers is not None and len(line_numbers) != len(frame):
        line_numbers = None

    frame, dropped_empty = _drop_unnamed_empty(frame, width_in_header, has_header)
    numeric_counts = {
        name: int(np.isfinite(_numeric_values(frame[name], decimal)).sum())
        for name in frame.columns
    }
    numeric_columns = tuple(name for name, n in numeric_counts.items() if n >= 2)

    if not numeric_columns:
        if len(frame) < 2 and any(numeric_counts.values()):
            raise UploadError(
                f"{source} has only one data row; at least 2 rows are needed to fit a "
                f"mixture. Add more rows (one per line) and {again}."
            )
        shown = ", ".join(f"“{n}”" for n in frame.columns[:8])
        if len(frame.columns) > 8:
            shown += ", …"
        raise UploadError(
            f"{source} has no numeric column: none of its columns ({shown}) holds at least 2 "
            "numbers. Check that it holds your measurements as plain numbers, like 3.14 "
            "or 3,14 (not text, dates or percentages)."
        )

    notes_list.append(_layout_note(delimiter, decimal, has_header, *frame.shape))
    uniform = counts.size > 0 and counts.min() == counts.max()
    ragged = _ragged_note(counts, line_numbers, width_in_header or _mode(counts))
    if ragged and not (uniform and frame.shape[1] == width_in_header):
        notes_list.append(ragged)
    if dropped_empty:
        notes_list.append(
            f"Ignored {dropped_empty} empty column{'s' if dropped_empty > 1 else ''} without "
            "a name (as a delimiter at the end of each line makes)."
        )
    return ParsedTable(
        frame=frame,
        encoding=encoding,
        delimiter=delimiter,
        has_header=has_header,
        decimal=decimal,
        notes=tuple(notes_list),
        numeric_columns=numeric_columns,
        line_numbers=line_numbers,
    )


def _again(source: str) -> str:
    return "paste it again" if source == _PASTED else "upload it again"


def _sample(lines: list[str], nonblank: np.ndarray) -> list[str]:
    """The first non-blank lines, up to _SAMPLE_LINES or _SAMPLE_CHARS (at least 2 lines)."""
    sample: list[str] = []
    total = 0
    for i in nonblank[:_SAMPLE_LINES].tolist():
        if len(sample) >= 2 and total + len(lines[i]) > _SAMPLE_CHARS:
            break
        sample.append(lines[i])
        total += len(lines[i])
    return sample


def _split(line: str, delimiter: str) -> list[str]:
    """Split one line into fields (quotes respected where possible)."""
    if delimiter == "whitespace":
        return _split_blanks(line)
    if '"' in line:
        try:
            return next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
        except (csv.Error, StopIteration):
            pass
    return line.split(delimiter)


def _split_blanks(line: str) -> list[str]:
    """Split on runs of spaces and tabs, as pandas' whitespace mode does (not on U+0085…)."""
    if _OTHER_SPACE.search(line) is None:
        return line.split()
    return [field for field in _BLANKS.split(line) if field]


def _is_number(field: str) -> bool:
    token = field.strip().strip('"').strip()
    return bool(_NUMBER.fullmatch(token)) or token.lower() in _INFINITIES


def _mode(counts: Sequence[int] | np.ndarray) -> int:
    """The most common value (the larger on ties); 0 for no values."""
    values, freq = np.unique(np.asarray(counts, dtype=np.int64), return_counts=True)
    if values.size == 0:
        return 0
    return int(values[np.flatnonzero(freq == freq.max())[-1]])


def _per_line(method: Any, lines: list[str], argument: str) -> np.ndarray:
    """Shape (len(lines),) int64: ``method(line, argument)`` for each line, iterated in C."""
    return np.fromiter(map(method, lines, repeat(argument)), dtype=np.int64, count=len(lines))


def _sniff(sample: list[str], delimiter: str | None = None) -> tuple[str, str]:
    """Choose the delimiter (unless given) and the decimal mark from sample lines.

    Each candidate splits the lines; it scores the share of lines with the most common
    number of fields (at least 2) plus the share of fields below the first line that look
    like numbers. The best score wins; ties go to tab, then semicolon, comma, whitespace.
    """
    best: tuple[tuple[float, int], str, list[list[str]]] | None = None
    if delimiter is not None:
        best = ((0.0, 0), delimiter, [_split(line, delimiter) for line in sample])
    for priority, delimiter in enumerate(() if best else _CANDIDATES):
        rows = [_split(line, delimiter) for line in sample]
        counts = [len(r) for r in rows]
        width = _mode(counts)
        if width < 2:
            continue
        consistency = counts.count(width) / len(rows)
        body = rows[1:] or rows
        fields = [f for r in body for f in r if f.strip()]
        numeric = sum(map(_is_number, fields)) / len(fields) if fields else 0.0
        key = (consistency + numeric, -priority)
        if best is None or key > best[0]:
            best = (key, delimiter, rows)
    if best is None:  # one column: pick the delimiter that splits the fewest lines
        joined = "\n".join(sample)
        delimiter = min((",", ";", "\t"), key=joined.count)
        rows = [[line] for line in sample]
    else:
        _, delimiter, rows = best
    decimal = "."
    if delimiter != ",":
        body = [f.strip().strip('"') for r in (rows[1:] or rows) for f in r]
        n_comma = sum(1 for f in body if _COMMA_DECIMAL.fullmatch(f))
        n_dot = sum(1 for f in body if _DOT_DECIMAL.fullmatch(f))
        if n_comma and n_comma >= n_dot:
            decimal = ","
    return delimiter, decimal


def _is_header(fields: list[str]) -> bool:
    """A first line is a header when it has some text and no number at all."""
    tokens = [f.strip().strip('"').strip() for f in fields]
    if any(_is_number(t) for t in tokens):
        return False
    return any(t.lower() not in _MISSING for t in tokens)


def _field_counts(data_lines: list[str], delimiter: str, quoted: bool) -> np.ndarray:
    """Shape (len(data_lines),) int64: number of fields on each line (one line per record)."""
    n = len(data_lines)
    if delimiter == "whitespace":
        split = str.split if _OTHER_SPACE.search("\n".join(data_lines)) is None else _split_blanks
        return np.fromiter(map(len, map(split, data_lines)), dtype=np.int64, count=n)
    if quoted:
        try:
            reader = csv.reader(data_lines, delimiter=delimiter)
            return np.fromiter(map(len, reader), dtype=np.int64, count=n)
        except (csv.Error, ValueError):  # e.g. a field over csv's size limit
            pass
    return _per_line(str.count, data_lines, delimiter) + 1


def _record_counts(
    data_lines: list[str], delimiter: str, first_line: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Field counts and starting file lines of records that may span several lines."""
    if delimiter == "whitespace":
        counts = [len(_split_blanks(line)) for line in data_lines if line.strip()]
        return np.asarray(counts, dtype=np.int64), None
    counts: list[int] = []
    starts: list[int] = []
    try:
        reader = csv.reader(data_lines, delimiter=delimiter)
        previous = 0
        for record in reader:
            if record and any(f.strip() for f in record):
                counts.append(len(record))
                starts.append(first_line + previous)
            previous = reader.line_num
    except csv.Error:
        return _per_line(str.count, data_lines, delimiter) + 1, None
    return np.asarray(counts, dtype=np.int64), np.asarray(starts, dtype=np.int64)


def _column_names(header: list[str], width: int) -> list[str]:
    """Unique column names: the header's (stripped), else "column k"; blanks get "column k"."""
    names: list[str] = []
    seen: set[str] = set()
    for k in range(width):
        name = header[k].strip() if k < len(header) else ""
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].strip()
        if not name:
            name = f"column {k + 1}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base} ({n})"
        seen.add(name)
        names.append(name)
    return names


def _read_frame(
    data: str,
    delimiter: str,
    decimal: str,
    header: list[str],
    width: int,
    line_numbers: np.ndarray | None,
    source: str,
) -> pd.DataFrame:
    """Run pandas' C parser on the data lines; translate its errors into UploadError.

    ``width`` is the counted number of columns; if pandas splits some line into more fields
    (its quoting rules can differ from the count's), the table is widened and read again.
    The first record is measured by pandas itself beforehand: were it wider than the names,
    pandas would drop its extra values with only a warning.
    """
    if delimiter == "whitespace":
        options: dict[str, Any] = {"sep": r"\s+"}
    else:
        options = {"sep": delimiter, "skipinitialspace": True}
    common = {"header": None, "index_col": False, "engine": "c", **options}
    try:
        first = pd.read_csv(StringIO(data), nrows=1, dtype=str, **common)
        width = max(width, first.shape[1])
    except pd.errors.EmptyDataError:
        pass
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        _raise_parser_error(exc, delimiter, line_numbers, source)
    for _ in range(_RETRIES):
        names = _column_names(header, width)
        try:
            return pd.read_csv(
                StringIO(data), names=names, decimal=decimal, low_memory=False, **common
            )
        except pd.errors.EmptyDataError:
            return pd.DataFrame(columns=names)
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            wider = _TOO_MANY_FIELDS.search(str(exc))
            if wider and width < int(wider.group(1)) <= MAX_COLUMNS:
                width = int(wider.group(1))
                continue
            _raise_parser_error(exc, delimiter, line_numbers, source)
    raise UploadError(
        f"{source} could not be split into columns: its lines have very different numbers of "
        f"values separated by {_DELIMITER_NAMES[delimiter]}. Make every line have the same "
        f"number of values and {_again(source)}."
    )


def _raise_parser_error(
    exc: Exception, delimiter: str, line_numbers: np.ndarray | None, source: str
) -> NoReturn:
    """Turn a pandas parser error into an UploadError naming the line where it happened."""
    detail = str(exc)
    where = _LINE_IN_ERROR.search(detail)
    place = ""
    if where:
        # "line k" is 1-based in the text pandas saw; "row k" is 0-based.
        k = int(where.group(2)) + (1 if where.group(1) == "row" else 0)
        if line_numbers is not None and 1 <= k <= len(line_numbers):
            place = f" near file line {int(line_numbers[k - 1])}"
        else:
            place = f" near data row {k}"
    if "EOF inside string" in detail or "quote" in detail.lower():
        raise UploadError(
            f'{source} has a quotation mark (") that is never closed{place}, so everything '
            "after it would be read as one value. Remove the stray quote or close it, "
            f"then {_again(source)}."
        ) from None
    raise UploadError(
        f"{source} could not be split into columns{place}: some lines have a different "
        f"number of values separated by {_DELIMITER_NAMES[delimiter]}. Make every line "
        f"have the same number of values and {_again(source)}."
    ) from None


def _drop_unnamed_empty(
    frame: pd.DataFrame, header_width: int, has_header: bool
) -> tuple[pd.DataFrame, int]:
    """Drop entirely empty columns that have no header name (trailing delimiters)."""
    drop = []
    for k, name in enumerate(frame.columns):
        unnamed = (not has_header) or k >= header_width or name == f"column {k + 1}"
        if unnamed and len(frame) and frame[name].isna().all() and frame.shape[1] - len(drop) > 1:
            drop.append(name)
    if not drop:
        return frame, 0
    return frame.drop(columns=drop), len(drop)


def _layout_note(delimiter: str, decimal: str, has_header: bool, rows: int, cols: int) -> str:
    parts = [f"Found {rows:,} rows and {cols:,} column{'s' if cols != 1 else ''}"]
    if cols > 1:
        parts.append(f", values separated by {_DELIMITER_NAMES[delimiter]}")
    sentence = "".join(parts) + "."
    if decimal == ",":
        sentence += " Decimal commas (like 2,5) were read as decimal numbers."
    if has_header:
        sentence += " The first line was read as column names."
    else:
        sentence += (
            " The first line holds numbers, so it was read as data; the columns are named "
            "“column 1”, “column 2”, …"
        )
    return sentence


def _ragged_note(counts: np.ndarray, line_numbers: np.ndarray | None, width: int) -> str | None:
    bad = np.flatnonzero(counts != width)
    if not bad.size:
        return None
    first = int(bad[0])
    if line_numbers is not None and first < len(line_numbers):
        where = f"file line {int(line_numbers[first])}"
    else:
        where = f"data row {first + 1}"
    n = int(bad.size)
    return (
        f"{n:,} line{'s' if n > 1 else ''} ha{'ve' if n > 1 else 's'} a different number of "
        f"values from the {width} expected (the first is {where}, with {counts[first]}). "
        "Missing values were left empty and extra values put in extra columns."
    )


def _numeric_values(series: pd.Series, decimal: str) -> np.ndarray:
    """Shape (n_rows,) float64: each cell as a finite number, else NaN."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(len(series), np.nan)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
        if decimal == ",":
            text = text.str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.array(values, dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# ------------------------------------------------------------------------------- selecting


def select_columns(
    table: ParsedTable,
    columns: Sequence[str],
    label_column: str | None = None,
    *,
    standardise: bool = False,
    cap: int = INTERACTIVE_CAP,
    seed: int = 0,
) -> Selection:
    """Take the chosen columns as a clean float array for EM.

    Rows with a missing, non-numeric or infinite value in a chosen column are dropped and
    counted. Above ``cap`` usable rows a random subsample of ``cap`` rows is kept, drawn with
    ``np.random.default_rng(seed)`` (same seed, same rows, in file order).

    Parameters
    ----------
    table : ParsedTable
    columns : sequence of str
        One column name (1-D) or two (2-D).
    label_column : str or None
        A column of known groups to compare the clusters with later.
    standardise : bool
        Shift and scale each chosen column to mean 0 and standard deviation 1 (after
        dropping and subsampling).
    cap : int
        The most rows kept; at least 2.
    seed : int
        Seed of the subsample.

    Returns
    -------
    Selection
        ``X`` has shape (n, len(columns)).

    Raises
    ------
    UploadError
        Wrong number of columns, unknown or repeated names, a text column, fewer than 2
        usable rows, or a constant column asked to be standardised.
    """
    if cap < 2:
        raise ValueError(f"cap must be at least 2, got {cap}")
    columns = list(columns)
    frame = table.frame
    if len(columns) == 2 and frame.shape[1] < 2:
        raise UploadError(
            f"This table has only one column (“{frame.columns[0]}”), so it can only be shown "
            "in 1-D. Choose 1-D, or upload a file with at least two numeric columns."
        )
    if len(columns) not in (1, 2):
        raise UploadError(
            f"Choose one column (for 1-D) or two columns (for 2-D); {len(columns)} were chosen."
        )
    for name in [*columns, *([label_column] if label_column is not None else [])]:
        if name not in frame.columns:
            raise UploadError(
                f"There is no column named “{name}” in this table. Choose one of: "
                + _list_names(frame.columns)
                + "."
            )
    if len(set(columns)) != len(columns):
        raise UploadError(f"Both axes use the column “{columns[0]}”. Choose two different columns.")
    if label_column is not None and label_column in columns:
        raise UploadError(
            f"“{label_column}” is chosen both as a feature and as the label column. Choose a "
            "different label column, or none."
        )

    values = [_numeric_values(frame[name], table.decimal) for name in columns]
    for name, v in zip(columns, values, strict=True):
        if np.count_nonzero(np.isfinite(v)) < 2:
            numeric = table.numeric_columns
            hint = (
                "Choose one of the numeric columns: " + _list_names(numeric) + "."
                if numeric
                else "This table has no numeric column."
            )
            raise UploadError(f"Column “{name}” does not hold numbers. {hint}")
    X = np.column_stack(values)
    usable = np.isfinite(X).all(axis=1)
    keep = np.flatnonzero(usable)
    dropped = np.flatnonzero(~usable)
    sentences: list[str] = []
    if dropped.size:
        sentences.append(
            f"Dropped {dropped.size:,} row{'s' if dropped.size > 1 else ''} with missing, "
            f"non-numeric or infinite values in the chosen column{'s' if len(columns) > 1 else ''} "
            f"({_where(dropped, table.line_numbers)})."
        )
    if keep.size < 2:
        which = "both chosen columns" if len(columns) == 2 else f"the column “{columns[0]}”"
        raise UploadError(
            f"Only {keep.size} row{'' if keep.size == 1 else 's'} ha"
            f"{'s' if keep.size == 1 else 've'} a number in {which}; at least 2 rows are "
            "needed to fit a mixture. "
            + (sentences[0] + " " if sentences else "")
            + "Choose other columns or fix the missing values in the file."
        )

    subsampled_from = None
    if keep.size > cap:
        rng = np.random.default_rng(seed)
        subsampled_from = int(keep.size)
        keep = keep[np.sort(rng.choice(keep.size, size=cap, replace=False))]
        sentences.append(
            f"The data has {subsampled_from:,} usable rows, more than the interactive limit "
            f"of {cap:,}, so a random subsample of {cap:,} rows is used (seed {seed}: the "
            "same seed gives the same rows)."
        )
    X = X[keep]

    problem = None
    if standardise:
        X = _standardise(X, columns)
    elif (largest := float(np.max(np.abs(X)))) > FIT_MAX_ABS_VALUE:
        problem = too_large_message(largest)

    labels = label_names = None
    if label_column is not None:
        labels, label_names = _label_codes(frame[label_column].iloc[keep])
    return Selection(
        X=np.ascontiguousarray(X, dtype=np.float64),
        feature_names=tuple(columns),
        labels=labels,
        label_names=label_names,
        n_dropped=int(dropped.size),
        message=" ".join(sentences) or None,
        standardised=bool(standardise),
        subsampled_from=subsampled_from,
        problem=problem,
    )


def too_large_message(largest: float) -> str:
    """Why values up to ``largest`` (beyond :data:`FIT_MAX_ABS_VALUE`) cannot be fitted."""
    return (
        f"These values are too large to fit: they reach {largest:.3g}, and the fit can only "
        f"work with values up to {FIT_MAX_ABS_VALUE:.0e} (the squares of larger ones "
        "overflow). Tick “Standardise” to rescale each column to mean 0 and standard "
        "deviation 1, or divide the column by a power of ten in the file."
    )


def _standardise(X: np.ndarray, columns: list[str]) -> np.ndarray:
    """Shape (n, D) -> (n, D): mean 0, std 1 per column, without overflow for huge values."""
    constant = X.max(axis=0) == X.min(axis=0)
    if constant.any():
        name = columns[int(np.flatnonzero(constant)[0])]
        raise UploadError(
            f"Column “{name}” has the same value in every usable row, so it cannot be "
            "standardised. Choose another column, or untick “Standardise”."
        )
    scale = np.max(np.abs(X), axis=0)
    scaled = X / scale
    centred = scaled - scaled.mean(axis=0)
    return centred / centred.std(axis=0)


def _label_codes(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes (n,) int64 in order of first appearance, and the label text for each code."""
    text = [_label_text(v) for v in series.astype(object).tolist()]
    codes, uniques = pd.factorize(np.asarray(text, dtype=object), sort=False)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)


def _label_text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "(missing)"
    if isinstance(value, float | np.floating) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def _where(rows: np.ndarray, line_numbers: np.ndarray | None) -> str:
    """Name the first few rows: "file lines 6, 18, 41" or "data rows 5, 17, 40 (…)"."""
    shown = rows[:_LISTED]
    more = f" and {rows.size - _LISTED:,} more" if rows.size > _LISTED else ""
    if line_numbers is not None:
        listed = ", ".join(str(int(line_numbers[r])) for r in shown)
        return f"file line{'s' if rows.size > 1 else ''} {listed}{more}"
    listed = ", ".join(str(int(r) + 1) for r in shown)
    return (
        f"data row{'s' if rows.size > 1 else ''} {listed}{more}, counting from 1 at the first "
        "row below the header"
    )


def _list_names(names: Iterable[object], limit: int = 10) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(f"“{n}”" for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


# ---------------------------------------------------------------------------------- export


def escape_formula(cell: str) -> str:
    """Defuse a spreadsheet formula: prefix ``'`` to text starting with = + - @ tab or CR.

    Text that is a plain number ("-1.5", "+3") is returned unchanged.

    Parameters
    ----------
    cell : str

    Returns
    -------
    str
    """
    if cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def responsibilities_csv(
    X: np.ndarray,
    feature_names: Sequence[str],
    resp: np.ndarray,
    labels_hard: np.ndarray,
    label_values: Sequence[object] | np.ndarray | None = None,
) -> str:
    """The points with their responsibilities and hard labels, as CSV text.

    Columns: the feature names, ``resp_1`` … ``resp_K``, ``hard_label`` (the component with
    the largest responsibility, numbered 1 … K like the ``resp_k`` columns) and, when
    ``label_values`` is given, ``label``. Every text cell and header that starts with = + - @,
    a tab or a carriage return gets a leading ``'`` so spreadsheets do not run it as a
    formula; numbers are written as numbers. Non-finite numbers are written as empty cells.

    Parameters
    ----------
    X : numpy.ndarray
        Shape (N, D), the points.
    feature_names : sequence of str
        Length D.
    resp : numpy.ndarray
        Shape (N, K), responsibilities.
    labels_hard : numpy.ndarray
        Shape (N,), 0-based component indices (as returned by ``gmm_core.predict``).
    label_values : sequence or numpy.ndarray, optional
        Shape (N,), the user's label for each point (text or numbers).

    Returns
    -------
    str
        CSV with a header line and N data lines, "\\n" line endings.
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    labels_hard = np.asarray(labels_hard)
    if X.ndim == 1:
        X = X[:, None]
    n, d = X.shape
    if len(feature_names) != d:
        raise ValueError(f"{len(feature_names)} feature names for {d} columns of X")
    if resp.ndim != 2 or resp.shape[0] != n:
        raise ValueError(f"resp has shape {resp.shape}, expected ({n}, K)")
    if labels_hard.shape != (n,):
        raise ValueError(f"labels_hard has shape {labels_hard.shape}, expected ({n},)")
    header = [escape_formula(str(name)) for name in feature_names]
    header += [f"resp_{k + 1}" for k in range(resp.shape[1])] + ["hard_label"]
    arrays: list[Any] = [X[:, j] for j in range(d)]
    arrays += [resp[:, k] for k in range(resp.shape[1])]
    arrays.append(labels_hard.astype(np.int64) + 1)
    if label_values is not None:
        values = list(label_values)
        if len(values) != n:
            raise ValueError(f"label_values has {len(values)} entries, expected {n}")
        header.append("label")
        arrays.append(pd.Series([_export_cell(v) for v in values], dtype=object))
    columns = {f"c{j}": a for j, a in enumerate(arrays)}
    out = pd.DataFrame(columns)
    for j in range(d + resp.shape[1]):
        col = out[f"c{j}"]
        out[f"c{j}"] = col.where(np.isfinite(col), np.nan)
    out.columns = header
    return out.to_csv(index=False, lineterminator="\n", na_rep="")


def _export_cell(value: object) -> object:
    """A label cell for export: finite numbers stay numbers, text is escaped."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else ""
    if value is None or value is pd.NA:
        return ""
    return escape_formula(str(value))


def params_json(
    params_dict: dict[str, Any],
    *,
    log_likelihood: float,
    iteration: int,
    settings: dict[str, Any],
) -> str:
    """The fitted parameters, log-likelihood, iteration and settings as pretty JSON.

    Parameters
    ----------
    params_dict : dict
        As ``GMMParams.to_dict()``: "weights" (K,), "means" (K, D), "covariances" (K, D, D)
        as nested lists (NumPy arrays are accepted too).
    log_likelihood : float
        Total log-likelihood of the data under the parameters.
    iteration : int
        The EM iteration the parameters come from.
    settings : dict
        The run's settings (K, covariance type, init method, seed, dataset name, …).

    Returns
    -------
    str
        Indented JSON, a list of numbers on one line. NaN and ±inf are written as null
        (strict JSON has no NaN).
    """
    document = {
        **{key: _jsonable(value) for key, value in params_dict.items()},
        "log_likelihood": _jsonable(log_likelihood),
        "iteration": _jsonable(iteration),
        "settings": _jsonable(settings),
    }
    return _dumps(document, "") + "\n"


def _dumps(value: Any, indent: str) -> str:
    """Pretty JSON: objects and nested lists indented, lists of scalars on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{_scalar(str(k))}: {_dumps(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = [inner + _dumps(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(", ", ": "))


def _jsonable(value: Any) -> Any:
    """Plain JSON values: arrays to lists, NumPy scalars to Python, non-finite to None."""
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)
