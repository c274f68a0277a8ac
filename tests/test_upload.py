"""Tests of gmm_app.upload over the corpus in tests/data/upload/.

Expected values are written out by hand from the files' contents, not produced by the code
under test; scikit-learn's StandardScaler is the oracle for standardising.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from gmm_app import upload
from gmm_app.upload import (
    INTERACTIVE_CAP,
    MAX_COLUMNS,
    MAX_UPLOAD_MB,
    UploadError,
    escape_formula,
    params_json,
    parse_table,
    parse_text,
    responsibilities_csv,
    select_columns,
)
from gmm_core import initialize, run_em

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "data" / "upload"


def load(name: str) -> upload.ParsedTable:
    return parse_table((CORPUS / name).read_bytes(), name)


def error_of(name: str) -> str:
    with pytest.raises(UploadError) as info:
        load(name)
    return str(info.value)


# ------------------------------------------------------------------------------ good files

GOOD = {
    # name: (delimiter, decimal, encoding, has_header, columns, chosen, expected X)
    "comma.csv": (
        ",", ".", "utf-8", True, ["x", "y"], ["x", "y"],
        [[1.5, 2.0], [-3.0, 4.25], [0.125, -6.0], [1000.0, 7.0]],
    ),
    "semicolon_decimal_comma.csv": (
        ";", ",", "utf-8", True, ["a", "b"], ["a", "b"],
        [[1.5, 2.25], [-3.0, 4.5], [0.125, -6.0]],
    ),
    "tab.tsv": (
        "\t", ".", "utf-8", True, ["height", "weight"], ["height", "weight"],
        [[1.70, 65.5], [1.82, 80.0], [1.65, 58.25]],
    ),
    "whitespace.txt": (
        "whitespace", ".", "utf-8", False, ["column 1", "column 2"], ["column 1", "column 2"],
        [[1.0, 2.0], [3.5, 4.0], [5.0, -6.5]],
    ),
    "bom.csv": (
        ",", ".", "utf-8-sig", True, ["x", "température"], ["x", "température"],
        [[1.0, 10.5], [2.0, 11.5], [3.0, 12.5]],
    ),
    "no_header.csv": (
        ",", ".", "utf-8", False, ["column 1", "column 2"], ["column 1", "column 2"],
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
    ),
    "quoted.csv": (
        ",", ".", "utf-8", True, ["name", "x", "y"], ["x", "y"],
        [[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]],
    ),
    "latin1.csv": (
        ";", ",", "latin-1", True, ["ville", "température"], ["température"],
        [[-5.5], [-7.25], [3.0]],
    ),
    "crlf.csv": (
        ",", ".", "utf-8", True, ["x", "y"], ["x", "y"],
        [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
    ),
    "one_column.txt": (
        ",", ".", "utf-8", True, ["velocity"], ["velocity"],
        [[9172.0], [9350.0], [9483.0], [9558.0]],
    ),
    "trailing_delimiter.csv": (
        ",", ".", "utf-8", True, ["x", "y"], ["x", "y"], [[1.0, 2.0], [3.0, 4.0]],
    ),
    "excel_sep_hint.csv": (
        ";", ",", "utf-8", True, ["x", "y"], ["x", "y"], [[1.5, 2.0], [3.0, 4.25]],
    ),
    "r_rownames.txt": (
        "whitespace", ".", "utf-8", True, ["column 1", "x", "y"], ["x", "y"],
        [[1.5, 2.0], [3.0, 4.0]],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_file_is_read_as_written(name: str) -> None:
    delimiter, decimal, encoding, has_header, columns, chosen, expected = GOOD[name]
    table = load(name)
    assert table.delimiter == delimiter
    assert table.decimal == decimal
    assert table.encoding == encoding
    assert table.has_header is has_header
    assert list(table.frame.columns) == columns
    selection = select_columns(table, chosen)
    np.testing.assert_array_equal(selection.X, np.array(expected))
    assert selection.X.dtype == np.float64
    assert selection.feature_names == tuple(chosen)
    assert selection.n_dropped == 0
    assert selection.message is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("comma.csv", ["UTF-8"]),
        ("bom.csv", ["UTF-8", "byte-order mark"]),
        ("latin1.csv", ["not valid UTF-8", "line 1", "Latin-1"]),
    ],
)
def test_notes_say_which_encoding_was_used(name: str, words: list[str]) -> None:
    note = load(name).notes[0]
    for word in words:
        assert word in note


def test_notes_describe_delimiter_decimal_and_header() -> None:
    notes = " ".join(load("semicolon_decimal_comma.csv").notes)
    assert "semicolons" in notes
    assert "Decimal commas" in notes
    assert "column names" in notes
    notes = " ".join(load("no_header.csv").notes)
    assert "“column 1”" in notes


def test_notes_explain_unusual_layouts() -> None:
    assert "“sep=;” names the delimiter" in load("excel_sep_hint.csv").notes[1]
    assert "row names" in load("r_rownames.txt").notes[1]
    notes = load("trailing_delimiter.csv").notes
    assert "Ignored 1 empty column" in notes[-1]
    assert not any("different number of values" in note for note in notes)


def test_latin1_text_cells_are_decoded() -> None:
    table = load("latin1.csv")
    assert table.frame["ville"].tolist() == ["Montréal", "Québec", "Genève"]
    assert table.numeric_columns == ("température",)


def test_quoted_fields_keep_commas_and_doubled_quotes() -> None:
    table = load("quoted.csv")
    assert table.frame["name"].tolist() == ["Smith, J.", "O'Neil", 'say "hi"']
    assert table.numeric_columns == ("x", "y")


def test_injection_column_names_come_through_literally() -> None:
    table = load("injection_names.csv")
    assert list(table.frame.columns) == [
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '=HYPERLINK("http://x")',
    ]
    selection = select_columns(table, ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"])
    np.testing.assert_array_equal(selection.X, [[1.0, 2.0], [3.0, 4.0]])


def test_line_numbers_are_file_lines() -> None:
    np.testing.assert_array_equal(load("comma.csv").line_numbers, [2, 3, 4, 5])
    np.testing.assert_array_equal(load("no_header.csv").line_numbers, [1, 2, 3])
    np.testing.assert_array_equal(load("blank_lines.csv").line_numbers, [3, 6, 7])
    np.testing.assert_array_equal(load("multiline_quoted.csv").line_numbers, [2, 4, 5])


# ---------------------------------------------------------------- dropping and messages


def test_missing_values_are_dropped_counted_and_named_by_file_line() -> None:
    table = load("missing_values.csv")
    selection = select_columns(table, ["x", "y"], "group")
    # file lines 3 (x = NA), 4 (y empty) and 6 (y = abc) go; group of line 5 is missing.
    np.testing.assert_array_equal(selection.X, [[1, 2], [5, 6], [8, 9], [10, 11]])
    assert selection.n_dropped == 3
    assert selection.message == (
        "Dropped 3 rows with missing, non-numeric or infinite values in the chosen columns "
        "(file lines 3, 4, 6)."
    )
    assert selection.label_names == ("a", "(missing)", "b")
    np.testing.assert_array_equal(selection.labels, [0, 1, 0, 2])


def test_blank_lines_do_not_shift_line_numbers() -> None:
    selection = select_columns(load("blank_lines.csv"), ["x", "y"])
    np.testing.assert_array_equal(selection.X, [[1, 2], [5, 6]])
    assert "file line 6" in selection.message


def test_multiline_quoted_field_is_one_row() -> None:
    table = load("multiline_quoted.csv")
    assert table.frame["comment"].tolist() == ["first\nsecond", "plain", "ok"]
    selection = select_columns(table, ["x", "y"])
    np.testing.assert_array_equal(selection.X, [[1, 2], [5, 6]])
    assert "file line 4" in selection.message


def test_ragged_rows_are_read_with_missing_values_and_reported() -> None:
    table = load("ragged.csv")
    assert list(table.frame.columns) == ["x", "y", "column 3"]
    ragged_note = table.notes[-1]
    assert "2 lines" in ragged_note
    assert "file line 3" in ragged_note
    selection = select_columns(table, ["x", "y"])
    np.testing.assert_array_equal(selection.X, [[1, 2], [3, 4], [7, 8], [9, 10]])
    assert selection.n_dropped == 1
    assert "file line 5" not in selection.message
    assert "file line 4" in selection.message


def test_inf_nan_and_overflow_are_missing_but_1e308_is_kept() -> None:
    table = load("inf_nan.csv")
    selection = select_columns(table, ["x", "y"])
    np.testing.assert_array_equal(selection.X, [[1, 2], [1e308, 6], [8, 9]])
    assert selection.n_dropped == 4
    assert "file lines 3, 4, 5, 7" in selection.message
    # 1e308 cannot be squared (1e308 ** 2 overflows float64): not fit as it is; say what to do.
    assert "Standardise" not in selection.message
    assert selection.problem is not None
    assert "Tick “Standardise”" in selection.problem
    assert "they reach 1e+308" in selection.problem
    standardised = select_columns(table, ["x", "y"], standardise=True)
    assert np.isfinite(standardised.X).all()
    assert standardised.problem is None


@pytest.mark.parametrize(
    ("largest", "refused"),
    [(1e150, False), (-1e150, False), (float(np.nextafter(1e150, np.inf)), True), (-2e150, True),
     (7e300, True)],
)
def test_values_whose_squares_the_fit_cannot_take_are_a_problem(
    largest: float, refused: bool
) -> None:
    # The fit's own check is the oracle: it refuses exactly the values the page refuses.
    text = f"x,y\n{largest!r},1\n1,2\n3,7\n2,3\n"
    selection = select_columns(parse_text(text), ["x", "y"])
    assert selection.X[0, 0] == largest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            run_em(selection.X, initialize(selection.X, 2, "random_from_data",
                                           np.random.default_rng(0)), max_iter=1)
            fit_refuses = False
        except ValueError as err:
            fit_refuses = "squares overflow" in str(err)
    assert fit_refuses is refused
    assert (selection.problem is not None) is refused
    if refused:
        assert selection.problem.startswith(
            f"These values are too large to fit: they reach {abs(largest):.3g}, and the fit "
            "can only work with values up to 1e+150"
        )
    assert selection.message is None


def test_message_lists_five_lines_then_counts_the_rest() -> None:
    text = "x,y\n" + "".join(f"{i},{'' if i % 2 else i}\n" for i in range(20))
    selection = select_columns(parse_text(text), ["x", "y"])
    assert selection.n_dropped == 10
    assert "(file lines 3, 5, 7, 9, 11 and 5 more)" in selection.message


def test_unknown_line_numbers_fall_back_to_data_rows() -> None:
    table = upload.ParsedTable(
        frame=pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0]}),
        encoding="utf-8",
        delimiter=",",
        has_header=True,
        decimal=".",
        notes=(),
        numeric_columns=("x",),
        line_numbers=None,
    )
    message = select_columns(table, ["x"]).message
    assert "data row 2" in message
    assert "below the header" in message


# -------------------------------------------------------------------------- bad files

BAD = {
    "empty.csv": ["empty"],
    "whitespace_only.csv": ["only blank lines or spaces", "no data"],
    "header_only.csv": ["header line", "“x”, “y”", "no data rows"],
    "binary.png": ["PNG image", "not a text table", "CSV"],
    "nul_bytes.csv": ["binary file, not text", "NUL"],
    "spreadsheet.xlsx": ["Excel workbook", "CSV"],
    "utf16.csv": ["UTF-16", "CSV UTF-8"],
    "text_only.csv": ["no numeric column", "“name”, “city”"],
    "unclosed_quote.csv": ["quotation mark", "never closed", "file line 3"],
    "one_row.csv": ["only one data row", "at least 2 rows"],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_gets_a_specific_message(name: str) -> None:
    message = error_of(name)
    assert name in message  # says which file
    for words in BAD[name]:
        assert words in message


def test_one_column_works_in_1d_but_not_2d() -> None:
    table = load("one_column.txt")
    assert select_columns(table, ["velocity"]).X.shape == (4, 1)
    with pytest.raises(UploadError, match="only one column.*1-D"):
        select_columns(table, ["velocity", "velocity"])


def test_over_limit_file_states_the_limit() -> None:
    raw = b"1,2\n" * (MAX_UPLOAD_MB * 1024 * 1024 // 4) + b"3"
    with pytest.raises(UploadError, match=rf"over the upload limit of {MAX_UPLOAD_MB} MB"):
        parse_table(raw, "big.csv")


def test_upload_limit_matches_streamlit_config() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB


def test_random_control_bytes_are_binary() -> None:
    raw = bytes(range(1, 32)) * 20
    with pytest.raises(UploadError, match="binary file"):
        parse_table(raw, "noise.bin")


def test_no_foreign_exception_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated failure deep inside pandas")

    monkeypatch.setattr(upload.pd, "read_csv", broken)
    with pytest.raises(UploadError, match="could not be read as a table"):
        load("comma.csv")
    with pytest.raises(UploadError, match="could not be read as a table"):
        parse_text("1,2\n3,4\n")


# --------------------------------------------------------------------- size and shape


def test_thousand_columns_work() -> None:
    n_cols = 1000
    header = ",".join(f"c{k}" for k in range(n_cols))
    rows = [",".join(str(r * n_cols + k) for k in range(n_cols)) for r in range(3)]
    table = parse_text("\n".join([header, *rows]))
    assert table.frame.shape == (3, n_cols)
    assert len(table.numeric_columns) == n_cols
    selection = select_columns(table, ["c0", "c999"])
    np.testing.assert_array_equal(selection.X, [[0, 999], [1000, 1999], [2000, 2999]])


def test_too_many_columns_is_refused_with_the_limit() -> None:
    line = ",".join(["1"] * (MAX_COLUMNS + 1))
    with pytest.raises(UploadError, match=rf"{MAX_COLUMNS + 1:,} columns; at most"):
        parse_table(f"{line}\n{line}\n".encode(), "wide.csv")


def test_very_long_line_is_read() -> None:
    long_text = "a" * 1_000_000
    table = parse_table(f"x,y,note\n1,2,{long_text}\n3,4,b\n".encode(), "long.csv")
    assert table.frame["note"].tolist() == [long_text, "b"]
    np.testing.assert_array_equal(select_columns(table, ["x", "y"]).X, [[1, 2], [3, 4]])


def test_whitespace_with_decimal_commas() -> None:
    table = parse_text("1,5 2,5\n3,25 -4,75\n")
    assert (table.delimiter, table.decimal) == ("whitespace", ",")
    np.testing.assert_array_equal(
        select_columns(table, ["column 1", "column 2"]).X, [[1.5, 2.5], [3.25, -4.75]]
    )


def test_pasted_spreadsheet_cells_with_tabs() -> None:
    table = parse_text("waiting\teruptions\n79\t3,6\n54\t1,8\n")
    assert (table.delimiter, table.decimal, table.encoding) == ("\t", ",", "utf-8")
    np.testing.assert_array_equal(
        select_columns(table, ["waiting", "eruptions"]).X, [[79, 3.6], [54, 1.8]]
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "only blank lines"),
        ("  \n\t\n", "only blank lines"),
        ("x,y", "no data rows.*paste it again"),
        ("sep=;\n", "only the line “sep=;”, no data. Paste a table"),
        ("a\x00b\n", "binary"),
    ],
)
def test_bad_pasted_text(text: str, words: str) -> None:
    with pytest.raises(UploadError, match=words) as info:
        parse_text(text)
    assert str(info.value).startswith("The pasted text")


# ---------------------------------------------------------------------- select_columns


@pytest.fixture
def table() -> upload.ParsedTable:
    return parse_text("x,y,g\n1,10,a\n2,30,b\n4,20,a\n8,60,b\n")


@pytest.mark.parametrize(
    ("columns", "label", "words"),
    [
        (["x", "y", "g"], None, r"one column \(for 1-D\) or two columns \(for 2-D\); 3 were"),
        ([], None, "0 were chosen"),
        (["x", "x"], None, "Choose two different columns"),
        (["nope"], None, "no column named “nope”"),
        (["x"], "nope", "no column named “nope”"),
        (["g"], None, "does not hold numbers.*“x”, “y”"),
        (["x", "y"], "x", "both as a feature and as the label column"),
    ],
)
def test_selection_errors(
    table: upload.ParsedTable, columns: list[str], label: str | None, words: str
) -> None:
    with pytest.raises(UploadError, match=words):
        select_columns(table, columns, label)


def test_fewer_than_two_usable_rows() -> None:
    table = parse_text("x,y\n1,2\n,3\n4,\n")
    with pytest.raises(UploadError, match="Only 1 row has a number in both chosen columns"):
        select_columns(table, ["x", "y"])


def test_standardise_matches_scikit_learn(table: upload.ParsedTable) -> None:
    selection = select_columns(table, ["x", "y"], standardise=True)
    expected = StandardScaler().fit_transform(np.array([[1, 10], [2, 30], [4, 20], [8, 60]]))
    np.testing.assert_allclose(selection.X, expected, rtol=1e-12, atol=1e-12)
    assert selection.standardised


def test_standardising_a_constant_column_is_refused() -> None:
    table = parse_text("x,y\n1,5\n2,5\n3,5\n")
    with pytest.raises(UploadError, match="“y” has the same value in every usable row"):
        select_columns(table, ["x", "y"], standardise=True)


def test_numeric_labels_are_named_as_written() -> None:
    table = parse_text("x,y,k\n1,2,3\n2,3,1\n3,4,3\n4,5,\n")
    selection = select_columns(table, ["x", "y"], "k")
    assert selection.label_names == ("3", "1", "(missing)")
    np.testing.assert_array_equal(selection.labels, [0, 1, 0, 2])


def test_subsample_above_the_cap_is_reproducible() -> None:
    n, cap, seed = 1000, 50, 7
    table = parse_text("v\n" + "\n".join(str(i) for i in range(n)))
    first = select_columns(table, ["v"], cap=cap, seed=seed)
    again = select_columns(table, ["v"], cap=cap, seed=seed)
    other = select_columns(table, ["v"], cap=cap, seed=seed + 1)
    values = first.X[:, 0]
    assert first.X.shape == (cap, 1)
    assert first.subsampled_from == n
    np.testing.assert_array_equal(first.X, again.X)
    assert not np.array_equal(first.X, other.X)
    assert len(set(values)) == cap
    assert set(values) <= set(range(n))
    assert np.all(np.diff(values) > 0)  # kept in file order
    expected = np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))
    np.testing.assert_array_equal(values, expected)
    assert "1,000 usable rows" in first.message
    assert "random subsample of 50 rows" in first.message
    assert "seed 7" in first.message


def test_no_subsample_at_or_below_the_cap() -> None:
    table = parse_text("v\n1\n2\n3\n")
    selection = select_columns(table, ["v"], cap=3)
    assert selection.subsampled_from is None
    assert INTERACTIVE_CAP == 200_000


# ---------------------------------------------------------------------------- exports


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("-2e-3", "-2e-3"),
        ("setosa", "setosa"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_escape_formula(cell: str, expected: str) -> None:
    assert escape_formula(cell) == expected


def test_responsibilities_csv_round_trips_and_escapes() -> None:
    X = np.array([[1.0, -2.5], [0.1, np.nan], [-1e-20, 3.0]])
    resp = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])
    text = responsibilities_csv(
        X, ["=cmd()", "y"], resp, np.array([1, 0, 0]), ["=HYPERLINK(1)", -3, "@x"]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["'=cmd()", "y", "resp_1", "resp_2", "hard_label", "label"]
    assert rows[1] == ["1.0", "-2.5", "0.25", "0.75", "2", "'=HYPERLINK(1)"]
    assert rows[2] == ["0.1", "", "1.0", "0.0", "1", "-3"]  # NaN is an empty cell
    assert rows[3] == ["-1e-20", "3.0", "0.5", "0.5", "1", "'@x"]
    assert len(rows) == 4


def test_responsibilities_csv_without_labels_and_exact_floats() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 1))
    resp = rng.dirichlet(np.ones(3), size=5)
    text = responsibilities_csv(X, ["v"], resp, resp.argmax(axis=1))
    back = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    np.testing.assert_array_equal(back[:, 0], X[:, 0])
    np.testing.assert_array_equal(back[:, 1:4], resp)
    np.testing.assert_array_equal(back[:, 4], resp.argmax(axis=1) + 1)
    assert text.splitlines()[0] == "v,resp_1,resp_2,resp_3,hard_label"


def test_responsibilities_csv_checks_shapes() -> None:
    with pytest.raises(ValueError, match="resp has shape"):
        responsibilities_csv(np.zeros((3, 2)), ["a", "b"], np.zeros((2, 2)), np.zeros(3, int))
    with pytest.raises(ValueError, match="feature names"):
        responsibilities_csv(np.zeros((3, 2)), ["a"], np.zeros((3, 2)), np.zeros(3, int))


def test_params_json_is_strict_and_complete() -> None:
    params = {
        "weights": [0.25, 0.75],
        "means": np.array([[0.0, 1.0], [2.0, 3.0]]),
        "covariances": [[[1.0, 0.0], [0.0, float("nan")]], [[2.0, 0.5], [0.5, float("inf")]]],
    }
    text = params_json(
        params,
        log_likelihood=float("-inf"),
        iteration=np.int64(4),
        settings={"n_components": 2, "dataset": "my “data”.csv", "tol": np.float64(1e-3)},
    )

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} written to JSON")

    document = json.loads(text, parse_constant=refuse)
    assert document == {
        "weights": [0.25, 0.75],
        "means": [[0.0, 1.0], [2.0, 3.0]],
        "covariances": [[[1.0, 0.0], [0.0, None]], [[2.0, 0.5], [0.5, None]]],
        "log_likelihood": None,
        "iteration": 4,
        "settings": {"n_components": 2, "dataset": "my “data”.csv", "tol": 0.001},
    }
    assert '\n  "weights": [0.25, 0.75],\n' in text  # pretty: indented, short lists inline
