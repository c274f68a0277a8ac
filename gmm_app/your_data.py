"""The "Your data" page: upload or paste a table, pick columns, send it to a stepper page.

Flow of a run of the page (:func:`render_your_data`):

1. If this session already sent data to a stepper page, a box at the top names it, links to
   the page, and offers the current fit as downloads (:func:`gmm_app.export.render_downloads`).
2. The user uploads a CSV / TSV / TXT file (at most :data:`~gmm_app.upload.MAX_UPLOAD_MB`
   MB) or pastes text. :mod:`gmm_app.upload` reads it; the page shows a preview (first rows,
   row and column counts, what the parser decided) or the parser's message.
3. The user picks one numeric column (1-D) or two (2-D), optionally a label column and
   standardising; the page says which rows were dropped and whether a subsample was taken.
4. **Use this data** stores the points in this session
   (:func:`gmm_app.state.use_uploaded_dataset`) and switches to "EM in 2-D" or "EM in 1-D",
   where the data set is listed as "Your data: <name>".

Safety rules kept here:

* User text (file name, column names, cells, parser messages that quote them) never reaches
  HTML or live Markdown: it goes through :func:`md_escape` or into widgets that show plain
  text (``st.dataframe``, ``st.selectbox`` options).
* Nothing about the upload is kept in module globals or ``st.cache_resource``. The parse is
  cached with ``st.cache_data`` keyed by a SHA-256 of the uploaded bytes (or pasted text),
  so another session can only hit the cache with the very same content.

No mathematics here: numbers come from :mod:`gmm_core`, parsing from :mod:`gmm_app.upload`,
the download files from :mod:`gmm_app.export` (``download_stem``, ``params_document``,
``points_document`` and ``render_downloads`` are re-exported here for existing callers).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from gmm_app import engine, janitor, routing, state
from gmm_app.data import DataError, LoadedData, load_data
from gmm_app.export import download_stem, params_document, points_document, render_downloads
from gmm_app.formatting import md_escape
from gmm_app.upload import (
    INTERACTIVE_CAP,
    MAX_PASTE_CHARS,
    MAX_ROWS,
    MAX_UPLOAD_MB,
    ParsedTable,
    Selection,
    UploadError,
    parse_table,
    parse_text,
    select_columns,
)
from gmm_core import EMHistory

__all__ = [
    "FILE_TYPES",
    "PASTED_NAME",
    "PREVIEW_ROWS",
    "STEPPER_PAGES",
    "TablePreview",
    "download_stem",
    "md_escape",
    "params_document",
    "points_document",
    "preview_frame",
    "render_downloads",
    "render_your_data",
    "stepper_page",
]

STEPPER_PAGES: dict[int, str] = {n: state.page_of(n).path for n in (1, 2)}
"""The ``url_path`` of the stepper page of each dimension (from :data:`gmm_app.declared.PAGES`)."""
FILE_TYPES: tuple[str, ...] = ("csv", "tsv", "txt")
"""File extensions the uploader accepts."""
PASTED_NAME = "pasted data"
"""Name of a data set pasted into the text area."""
PREVIEW_ROWS = 20
"""Rows shown in the preview table."""

SOURCE_UPLOAD = "Upload a file"
SOURCE_PASTE = "Paste the data"
USE_LABEL = "Use this data"
DIMENSION_2D = "2-D: two columns"
DIMENSION_1D = "1-D: one column"
NO_LABEL_TEXT = "(none)"

# Widget keys of this page come from gmm_app.state (key(...)). Column widgets get a suffix
# derived from the column names, so that a different table starts with fresh choices.
_PAGE = "your_data"
_CACHE_TTL_S = 30 * 60  # parsed uploads stay in the server's memory for at most this long

_NON_FINITE_TEXT = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


# --------------------------------------------------------------------------- pure helpers
def _cell_text(value: Any) -> str:
    """One preview cell as text: numbers as written, missing and non-finite values empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    text = str(value)
    return "" if _NON_FINITE_TEXT.fullmatch(text.strip()) else text


def preview_frame(frame: pd.DataFrame, n_rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows of a parsed table as text, for ``st.dataframe``.

    Missing and non-finite values (NaN, ±inf, and text cells reading "nan" or "inf") become
    empty cells, so the preview never shows them as if they were numbers.

    Parameters
    ----------
    frame : pandas.DataFrame
        Shape (n, c), as :attr:`gmm_app.upload.ParsedTable.frame`.
    n_rows : int
        How many rows to keep.

    Returns
    -------
    pandas.DataFrame
        Shape (min(n, n_rows), c), the same column names, every cell a ``str``.
    """
    head = frame.head(n_rows)
    columns = {
        str(name): pd.Series([_cell_text(v) for v in head.iloc[:, j].tolist()], dtype=object)
        for j, name in enumerate(head.columns)
    }
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(head)))
    out.columns = [str(c) for c in head.columns]
    return out


def stepper_page(n_features: int) -> Any:
    """The ``st.Page`` of the "EM in 1-D" or "EM in 2-D" page, as the app's navigation has it.

    A page object (rather than a file path) works for ``st.switch_page`` and ``st.page_link``
    whatever the main script is: ``app.py``, or a page file opened directly.
    """
    return routing.page(state.page_of(n_features).id)


# --------------------------------------------------------------------------- cached reading
@dataclass(frozen=True)
class TablePreview:
    """What the page shows about a parsed table (small: cheap to cache and copy).

    Attributes
    ----------
    head : pandas.DataFrame
        Shape (min(n_rows, PREVIEW_ROWS), n_columns), text cells (see :func:`preview_frame`).
    n_rows, n_columns : int
    columns : tuple of str
        All column names, in table order.
    numeric_columns : tuple of str
        The columns that hold numbers.
    notes : tuple of str
        The parser's sentences (encoding, delimiter, decimal mark, header, ragged lines).
    """

    head: pd.DataFrame
    n_rows: int
    n_columns: int
    columns: tuple[str, ...]
    numeric_columns: tuple[str, ...]
    notes: tuple[str, ...]


def _key(*parts: str) -> str:
    return state.widget_key(_PAGE, *parts)


# The leading-underscore argument is not hashed by Streamlit: ``content_key`` (a SHA-256 of
# it, computed by the caller) stands for it, so each cache entry is keyed by the content.
@st.cache_data(max_entries=4, ttl=_CACHE_TTL_S, show_spinner="Reading the data\u2026")
def _parsed(content_key: str, name: str, _content: bytes | str) -> ParsedTable:
    if isinstance(_content, str):
        return parse_text(_content)
    return parse_table(_content, name)


@st.cache_data(max_entries=8, ttl=_CACHE_TTL_S, show_spinner=False)
def _preview(content_key: str, name: str, _content: bytes | str) -> TablePreview:
    table = _parsed(content_key, name, _content)
    return TablePreview(
        head=preview_frame(table.frame),
        n_rows=int(table.frame.shape[0]),
        n_columns=int(table.frame.shape[1]),
        columns=tuple(str(c) for c in table.frame.columns),
        numeric_columns=tuple(table.numeric_columns),
        notes=tuple(table.notes),
    )


@st.cache_data(max_entries=8, ttl=_CACHE_TTL_S, show_spinner="Preparing the columns\u2026")
def _selection(
    content_key: str,
    name: str,
    _content: bytes | str,
    columns: tuple[str, ...],
    label_column: str | None,
    standardise: bool,
    seed: int,
) -> Selection:
    table = _parsed(content_key, name, _content)
    return select_columns(table, columns, label_column, standardise=standardise, seed=seed)


# --------------------------------------------------------------------------- the page
# The parsed uploads leave the server's memory once no one has been connected for a while.
for _cache in (_parsed, _preview, _selection):
    janitor.register(_cache.clear)


def render_your_data() -> None:
    """Draw the "Your data" page."""
    janitor.ensure_started()
    st.subheader("Your data", anchor=False)
    st.markdown(
        "Fit a mixture to your own measurements: upload a table of numbers (**CSV, TSV or "
        f"TXT, up to {MAX_UPLOAD_MB} MB and {MAX_ROWS:,} rows**) or paste it, pick one column "
        "(1-D) or two (2-D), "
        "then step through EM on it. Commas, semicolons, tabs or spaces between values, "
        "decimal commas, a header line or none: all are read. Your data stay in this "
        "browser session; no one else sees them and nothing is saved."
    )
    routing.link_warnings(_PAGE)
    for n_features in (2, 1):
        uploaded = state.uploaded_dataset(n_features)
        if uploaded is not None:
            _in_use_box(n_features, uploaded)

    source = st.radio(
        "Data from",
        (SOURCE_UPLOAD, SOURCE_PASTE),
        horizontal=True,
        key=_key("source"),
        persist_state="session",
    )
    got = _read_input(source)
    if got is None:
        return
    content, name = got
    key = state.content_key(content)
    try:
        preview = _preview(key, name, content)
    except UploadError as err:
        st.error(md_escape(err), icon=":material/error:")
        return
    except Exception as err:  # the parser promises UploadError; never show a traceback
        _unexpected(err)
        return
    _show_preview(preview)
    choice = _column_controls(preview)
    if choice is None:
        return
    columns, label_column, standardise, seed = choice
    try:
        selection = _selection(key, name, content, columns, label_column, standardise, seed)
    except UploadError as err:
        st.error(md_escape(err), icon=":material/error:")
        return
    except Exception as err:
        _unexpected(err)
        return
    _show_selection(selection, name)


def _unexpected(err: BaseException) -> None:
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    st.error(
        md_escape(
            f"The data could not be read ({type(err).__name__}: {first}). Check that it is a "
            "plain-text table with one row of numbers per line, and try again."
        ),
        icon=":material/error:",
    )


def _read_input(source: str) -> tuple[bytes | str, str] | None:
    """The uploaded bytes or pasted text, and the data set's name; None if nothing yet."""
    if source == SOURCE_UPLOAD:
        uploaded = st.file_uploader(
            f"A CSV, TSV or TXT file, up to {MAX_UPLOAD_MB} MB",
            type=list(FILE_TYPES),
            key=_key("file"),
            max_upload_size=MAX_UPLOAD_MB,
            help="A table with one row per line. Spreadsheets: save as “CSV UTF-8” first.",
        )
        if uploaded is None:
            st.info(
                "Choose a file, or drag it onto the box above. Not sure? Try a table with "
                "two columns of numbers and a header line, like `eruptions,waiting`.",
                icon=":material/upload_file:",
            )
            return None
        return uploaded.getvalue(), uploaded.name
    text = st.text_area(
        "Paste a table: one row per line, values separated by commas, semicolons, tabs or "
        f"spaces (up to {MAX_PASTE_CHARS:,} characters; larger tables: upload a file)",
        key=_key("paste"),
        height=220,
        placeholder="eruptions,waiting\n3.6,79\n1.8,54\n3.333,74\n…",
        max_chars=MAX_PASTE_CHARS,
        help="Press Ctrl+Enter (or click outside the box) to read the text.",
        persist_state="session",
    )
    if not text:
        st.info("Paste your numbers above, then press Ctrl+Enter.", icon=":material/content_paste:")
        return None
    return text, PASTED_NAME


def _show_preview(preview: TablePreview) -> None:
    st.markdown("##### Preview")
    shown = f" \u00b7 the first {PREVIEW_ROWS} are shown" if preview.n_rows > PREVIEW_ROWS else ""
    st.markdown(
        f"**{preview.n_rows:,} rows \u00d7 {preview.n_columns:,} "
        f"column{'s' if preview.n_columns != 1 else ''}**{shown}"
    )
    if preview.notes:
        st.caption("  \n".join(md_escape(note) for note in preview.notes))
    # About 7 rows high, scrolling: the column choice below stays in view at 1280x800.
    st.dataframe(preview.head, hide_index=True, height=282 if len(preview.head) > 7 else "auto")


def _column_controls(
    preview: TablePreview,
) -> tuple[tuple[str, ...], str | None, bool, int] | None:
    """The user's choice of columns: (feature columns, label column, standardise, seed)."""
    st.markdown("##### Choose the columns")
    numeric = preview.numeric_columns
    if not numeric:  # the parser refuses such tables; kept as a guard
        st.error("This table has no column of numbers. Upload a table with numeric columns.")
        return None
    token = state.content_key("\x00".join(preview.columns)).removeprefix("text:")[:12]
    cols = st.columns([1.1, 1, 1, 1], gap="medium")
    with cols[0]:
        if len(numeric) >= 2:
            dimension = st.radio(
                "Fit in", (DIMENSION_2D, DIMENSION_1D), key=_key("dimension", str(token))
            )
        else:
            dimension = DIMENSION_1D
            st.markdown("**Fit in**  \n1-D: the table has one numeric column.")
    two_d = dimension == DIMENSION_2D
    with cols[1]:
        x = st.selectbox(
            "Horizontal axis (x)" if two_d else "Column",
            numeric,
            key=_key("x", str(token)),
        )
    y = None
    if two_d:
        with cols[2]:
            y = st.selectbox(
                "Vertical axis (y)",
                [c for c in numeric if c != x],
                key=_key("y", str(token)),
            )
    features = (x,) if y is None else (x, y)
    with cols[3 if two_d else 2]:
        label_column = st.selectbox(
            "Label column (optional)",
            [None, *[c for c in preview.columns if c not in features]],
            format_func=lambda c: NO_LABEL_TEXT if c is None else c,
            key=_key("label", str(token)),
            help="Known groups, e.g. species, to compare the clusters with. Not used by EM.",
        )
    standardise = st.checkbox(
        "Standardise (mean 0, standard deviation 1 for each column)",
        key=_key("standardise"),
        help="Puts columns on the same scale: useful when their units differ a lot.",
    )
    seed = 0
    if preview.n_rows > INTERACTIVE_CAP:
        seed = int(
            st.number_input(
                f"Seed of the random subsample (more than {INTERACTIVE_CAP:,} rows)",
                min_value=0,
                max_value=int(state.FIELD["seed"].hi or 0),
                step=1,
                key=_key("subsample_seed"),
            )
        )
    return features, label_column, bool(standardise), seed


def _show_selection(selection: Selection, name: str) -> None:
    n, d = selection.X.shape
    if selection.message:
        st.warning(md_escape(selection.message), icon=":material/info:")
    if selection.problem is not None:
        # Not ready: the button stays in place, disabled, and its tooltip says why too.
        st.error(md_escape(selection.problem), icon=":material/error:")
        st.button(USE_LABEL, type="primary", key=_key("use"), icon=":material/arrow_forward:",
                  disabled=True, help=md_escape(selection.problem))
        return
    axes = " and ".join(f"“{f}”" for f in selection.feature_names)
    extra = []
    if selection.label_names is not None:
        n_labels = len(selection.label_names)
        extra.append(f"{n_labels} label{'s' if n_labels != 1 else ''}")
    if selection.standardised:
        extra.append("standardised")
    summary = f"Ready: {n:,} points in {d}-D from {axes}" + (
        f" ({', '.join(extra)})" if extra else ""
    )
    st.success(md_escape(summary + "."), icon=":material/check_circle:")
    page = state.page_of(d).title
    if st.button(
        USE_LABEL,
        type="primary",
        key=_key("use"),
        icon=":material/arrow_forward:",
        help=f"Opens “{page}” with this data selected.",
    ):
        try:
            state.use_uploaded_dataset(
                selection.X,
                name=name,
                feature_names=selection.feature_names,
                labels=selection.labels,
                label_names=selection.label_names,
            )
        except ValueError as err:
            st.error(md_escape(err), icon=":material/error:")
            return
        st.switch_page(stepper_page(d))


# --------------------------------------------------------------------------- data in use
def _in_use_box(n_features: int, uploaded: state.UploadedData) -> None:
    page = state.page_of(n_features).title
    with st.container(border=True):
        n = uploaded.X.shape[0]
        features = " and ".join(f"“{f}”" for f in uploaded.feature_names)
        st.markdown(md_escape(f"{page} has your data “{uploaded.name}”: {n:,} points, {features}."))
        run = _current_run(n_features, uploaded)
        row = st.container(horizontal=True, gap="small", vertical_alignment="center")
        with row:
            st.page_link(
                stepper_page(n_features), label=f"Open {page}", icon=":material/arrow_forward:"
            )
            st.button(
                "Forget this data",
                key=_key("forget", str(n_features)),
                on_click=state.clear_uploaded_dataset,
                args=(n_features,),
                help=f"Removes it from {page}; the built-in data sets stay.",
            )
        if isinstance(run, str):
            st.caption(md_escape(run))
        else:
            render_downloads(n_features, *run, place="your_data")


def _stepper_settings(n_features: int) -> state.Settings | None:
    """The settings on the stepper page, or None if it has not been opened in this session."""
    try:
        return state.read_settings(n_features)
    except KeyError:  # its widgets have no values yet
        return None


def _current_run(
    n_features: int, uploaded: state.UploadedData
) -> tuple[LoadedData, state.Settings, EMHistory, int] | str:
    """The run the stepper page shows on the uploaded data, or a sentence saying why none."""
    page = state.page_of(n_features).title
    settings = _stepper_settings(n_features)
    if settings is None:
        return f"Open {page} to fit a mixture; the fit can then be downloaded here."
    if settings.dataset != state.UPLOADED:
        return (
            f"{page} shows another data set now. Choose “Your data: {uploaded.name}” there "
            "to download its fit."
        )
    try:
        data = load_data(settings, uploaded)
    except DataError as err:
        return str(err)
    problem = engine.manual_means_problem(settings)
    if problem is not None:
        return problem
    outcome = engine.compute_run(data, settings)
    if outcome.history is None:
        return outcome.error or "EM could not start on this data."
    # The run is computed lazily: reach the step the stepper shows before clamping to it
    # (the shared cache may hold less of the run than that step).
    wanted = state.get_cursor(n_features, 2 * outcome.max_iter + 1)
    outcome = engine.extend_run(data, settings, outcome, None, wanted)
    if outcome.history is None:
        return outcome.error or "EM could not start on this data."
    cursor = state.get_cursor(n_features, len(outcome.history.steps))
    return data, settings, outcome.history, cursor
