"""The "Your data" page, driven headless with ``streamlit.testing.v1.AppTest``.

The page is opened through ``app.py`` (``st.switch_page`` needs the app's navigation).
Expected values come from the files themselves (read with the csv module or numpy), from
scipy and scikit-learn, or from the parser's own message (the page must show it unchanged
and escaped); never from the page's code.

AppTest keeps requesting the page given to ``at.switch_page``; after **Use this data**
switches pages inside the script, the test switches to the stepper page itself (as a browser
simply stays there) and runs it twice: the first run after a switch re-creates every widget
in AppTest (its widget ids change), the second is an ordinary rerun.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from gmm_app import figures, state, your_data
from gmm_app.data import LoadedData
from gmm_app.upload import UploadError, parse_table, parse_text
from gmm_core import initialize, run_em
from tests.test_app_pages import spec_argument

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
CORPUS = ROOT / "tests" / "data" / "upload"
OLD_FAITHFUL = ROOT / "gmm_core" / "datasets" / "data" / "old_faithful.csv"
IRIS = ROOT / "gmm_core" / "datasets" / "data" / "iris.csv"
INJECTIONS = ("<img src=x onerror=alert(1)>", "[x](javascript:alert(1))")
EVIL_FILE_NAME = "<b>x</b>[y](javascript:alert(1))![i](http://127.0.0.1:9/i.png).csv"
_PUNCT = r"!-/:-@\[-`{-~"


# --------------------------------------------------------------------------- helpers
def unescape(markdown: str) -> str:
    """Inverse of backslash escaping (and the invisible word joiners): the text shown."""
    return re.sub(rf"\\([{_PUNCT}])", r"\1", markdown).replace("\u2060", "")


def unescaped_punctuation(markdown: str) -> list[str]:
    """ASCII punctuation in ``markdown`` that is not backslash-escaped (could be syntax)."""
    found = []
    for match in re.finditer(rf"\\[{_PUNCT}]|[{_PUNCT}]", markdown):
        if not match.group(0).startswith("\\"):
            found.append(match.group(0))
    return found


def decode(value: object) -> np.ndarray:
    """A Plotly JSON array: a list, or base64 ``{"dtype", "bdata"}`` as Plotly 7 writes it."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value, dtype=float)


def chart(at: AppTest, key: str) -> dict:
    """The figure JSON of the stepper's chart with the given key: an ``st.plotly_chart`` or a
    chart component (whose ``spec`` argument is the figure JSON)."""
    for el in at.get("plotly_chart"):
        if el.proto.id.endswith(f"-{key}"):
            return json.loads(el.proto.spec)
    for el in at.get("component_instance"):
        if el.proto.id.endswith(f"-{key}"):
            return json.loads(spec_argument(el.proto))
    raise AssertionError(f"no chart with key {key}")


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def open_your_data() -> AppTest:
    at = ok(AppTest.from_file(APP, default_timeout=90).run())
    return ok(at.switch_page("pages/your-data.py").run())


def upload(at: AppTest, name: str, raw: bytes) -> AppTest:
    at.get("file_uploader")[0].set_value((name, raw, "text/csv"))
    return ok(at.run())


def paste(at: AppTest, text: str) -> AppTest:
    ok(at.radio(key="your_data.source").set_value(your_data.SOURCE_PASTE).run())
    return ok(at.text_area(key="your_data.paste").input(text).run())


def selectbox(at: AppTest, label: str):
    matches = [s for s in at.selectbox if s.label == label]
    assert len(matches) == 1, [s.label for s in at.selectbox]
    return matches[0]


def use_this_data(at: AppTest, title: str) -> AppTest:
    """Click **Use this data**: the script switches to the stepper page titled ``title``."""
    ok(at.button(key="your_data.use").click().run())
    assert at.subheader[0].value.startswith(f"{title} \u00b7 your data")
    return at


def stay_on(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    ok(at.run())
    return ok(at.run())


def status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("##### "))[6:]


def shown_markdown(at: AppTest) -> list[str]:
    """The Markdown source of every text element that renders Markdown."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return [str(e.value) for kind in kinds for e in at.get(kind)]


# --------------------------------------------------------------------------- the main flow
def test_upload_preview_choose_use_and_step_on_em_2d() -> None:
    raw = OLD_FAITHFUL.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode())))
    header, body = rows[0], rows[1:]
    at = open_your_data()
    assert any("up to 50 MB" in m for m in shown_markdown(at))
    uploader = at.get("file_uploader")[0]
    assert uploader.proto.max_upload_size_mb == 50
    assert set(uploader.proto.type) == {".csv", ".tsv", ".txt"}

    upload(at, "old_faithful.csv", raw)
    assert not at.error
    preview = at.dataframe[0].value
    assert list(preview.columns) == header
    assert preview.shape == (your_data.PREVIEW_ROWS, 2)
    expected = np.array(body[: your_data.PREVIEW_ROWS], dtype=float)
    assert np.array_equal(preview.to_numpy(dtype=float), expected)
    assert f"**{len(body)} rows \u00d7 2 columns**" in [m.value for m in at.markdown][2]
    notes = unescape(at.caption[0].value)
    assert "UTF-8" in notes
    assert "separated by commas" in notes
    assert "read as column names" in notes
    assert selectbox(at, "Horizontal axis (x)").value == "eruptions"
    assert selectbox(at, "Vertical axis (y)").value == "waiting"
    assert unescape(at.success[0].value) == (
        "Ready: 272 points in 2-D from “eruptions” and “waiting”."
    )

    use_this_data(at, "EM in 2-D")
    assert at.subheader[0].value == "EM in 2-D \u00b7 your data \u00b7 N = 272"
    box = at.selectbox(key="em2d.dataset")
    assert box.value == state.UPLOADED
    assert "Your data: old_faithful.csv" in box.options
    points = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]
    data = np.array(body, dtype=float)
    assert np.allclose(decode(points["x"]), data[:, 0])
    assert np.allclose(decode(points["y"]), data[:, 1])

    stay_on(at, "pages/em-2d.py")
    assert at.subheader[0].value == "EM in 2-D \u00b7 your data \u00b7 N = 272"
    assert status(at).startswith("Start (iteration 0)")
    k = at.slider(key="em2d.K").value
    start = chart(at, "em2d.chart")
    ok(at.button(key="em2d.button.E").click().run())
    assert status(at).startswith("Iteration 1 \u00b7 after E-step")
    ok(at.button(key="em2d.button.M").click().run())
    assert status(at).startswith("Iteration 1 \u00b7 after M-step")
    after_m = chart(at, "em2d.chart")
    for i in figures.ellipse_trace_indices(k):
        assert not np.allclose(decode(after_m["data"][i]["x"]), decode(start["data"][i]["x"]))
    assert decode(after_m["data"][figures.TRACE_POINTS]["x"]).size == 272
    shown_status = status(at)

    # Back on "Your data": the data in use, and the fit of the step shown, to download.
    stay_on(at, "pages/your-data.py")
    assert unescape(at.markdown[1].value) == (
        "EM in 2-D has your data “old_faithful.csv”: 272 points, “eruptions” and “waiting”."
    )
    assert at.caption[0].value == f"Fit shown on EM in 2-D: {shown_status}"
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Parameters (JSON)", "Points and responsibilities (CSV)"]
    assert not any(b.proto.disabled for b in at.get("download_button"))


def test_pasted_single_column_goes_to_em_1d() -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(-2, 0.5, 25), rng.normal(3, 0.7, 15)])
    text = "speed\n" + "\n".join(f"{v:.4f}" for v in values)
    at = paste(open_your_data(), text)
    assert not at.error
    assert not [r for r in at.radio if r.label == "Fit in"]  # one numeric column: 1-D only
    assert any("1-D: the table has one numeric column" in m.value for m in at.markdown)
    assert selectbox(at, "Column").value == "speed"
    use_this_data(at, "EM in 1-D")
    assert at.subheader[0].value == "EM in 1-D \u00b7 your data \u00b7 N = 40"
    box = at.selectbox(key="em1d.dataset")
    assert box.value == state.UPLOADED
    assert f"Your data: {your_data.PASTED_NAME}" in box.options
    stay_on(at, "pages/em-1d.py")
    ok(at.button(key="em1d.button.iterate").click().run())
    assert status(at).startswith("Iteration 1 \u00b7 after M-step")


def test_two_numeric_columns_can_still_be_fitted_in_1d() -> None:
    at = upload(open_your_data(), "old_faithful.csv", OLD_FAITHFUL.read_bytes())
    fit_in = next(r for r in at.radio if r.label == "Fit in")
    ok(fit_in.set_value(your_data.DIMENSION_1D).run())
    ok(selectbox(at, "Column").set_value("waiting").run())
    assert unescape(at.success[0].value) == "Ready: 272 points in 1-D from “waiting”."
    use_this_data(at, "EM in 1-D")
    assert at.subheader[0].value == "EM in 1-D \u00b7 your data \u00b7 N = 272"


# --------------------------------------------------------------------------- bad input
BAD_FILES = [
    "empty.csv",
    "header_only.csv",
    "one_row.csv",
    "text_only.csv",
    "binary.png",
    "spreadsheet.xlsx",
    "utf16.csv",
    "nul_bytes.csv",
    "whitespace_only.csv",
    "unclosed_quote.csv",
]


@pytest.mark.parametrize("file", BAD_FILES)
def test_a_bad_file_shows_the_parsers_message_and_nothing_else(file: str) -> None:
    raw = (CORPUS / file).read_bytes()
    # The uploader accepts only .csv / .tsv / .txt names (Streamlit enforces it), so other
    # files arrive renamed, as a user would do.
    name = file if file.endswith((".csv", ".tsv", ".txt")) else file + ".csv"
    with pytest.raises(UploadError) as expected:
        parse_table(raw, name)
    at = upload(open_your_data(), name, raw)
    assert [unescape(e.value) for e in at.error] == [str(expected.value)]
    assert not at.dataframe  # no preview
    assert not [b for b in at.button if b.label == your_data.USE_LABEL]


@pytest.mark.parametrize(
    "text",
    [
        "   \n\t\n  ",
        "name,city\nAnna,Oslo\nBen,Rome\n",
        "x,y\n1,2\n",
        "x;y\n1;2\n3;4;5;6;7;8\n9;10\n" * 3 + '"unclosed,1\n',
    ],
    ids=["blank", "no-numbers", "one-row", "unclosed-quote"],
)
def test_bad_pasted_text_shows_the_parsers_message(text: str) -> None:
    with pytest.raises(UploadError) as expected:
        parse_text(text)
    at = paste(open_your_data(), text)
    assert [unescape(e.value) for e in at.error] == [str(expected.value)]
    assert not at.dataframe


def test_columns_without_a_common_row_are_refused_with_a_message() -> None:
    at = paste(open_your_data(), "x,y\n1,\n2,\n,3\n,4\n")
    assert at.dataframe  # the table is readable ...
    errors = [unescape(e.value) for e in at.error]
    assert len(errors) == 1  # ... but no row has both values
    assert errors[0].startswith("Only 0 rows have a number in both chosen columns")
    assert not [b for b in at.button if b.label == your_data.USE_LABEL]


def test_dropped_rows_are_counted_and_named() -> None:
    # missing_values.csv: rows on file lines 3 (NA), 4 (empty y) and 6 (y = "abc") lack a
    # number in x or y; lines 2, 5, 7 and 8 are complete.
    raw = (CORPUS / "missing_values.csv").read_bytes()
    at = upload(open_your_data(), "missing_values.csv", raw)
    assert selectbox(at, "Horizontal axis (x)").value == "x"
    assert selectbox(at, "Vertical axis (y)").value == "y"
    warning = unescape(at.warning[0].value)
    assert warning.startswith("Dropped 3 rows with missing, non-numeric or infinite values")
    assert "file lines 3, 4, 6" in warning
    assert unescape(at.success[0].value).startswith("Ready: 4 points in 2-D")


def test_non_finite_values_are_empty_in_the_preview() -> None:
    at = upload(open_your_data(), "inf_nan.csv", (CORPUS / "inf_nan.csv").read_bytes())
    preview = at.dataframe[0].value
    # x: 1, inf, NaN, 1e400 (overflows to inf), 1e308, -Infinity, 8
    assert preview["x"].tolist() == ["1", "", "", "", "1e+308", "", "8"]
    assert preview["y"].tolist() == ["2", "3", "4", "5", "6", "7", "9"]
    warning = unescape(at.warning[0].value)
    assert warning.startswith("Dropped 4 rows")
    for text in shown_markdown(at):
        assert not re.search(r"\b(nan|inf)\b", unescape(text), re.IGNORECASE), text


def test_more_rows_than_the_cap_are_subsampled_reproducibly() -> None:
    n = your_data.INTERACTIVE_CAP + 123
    values = np.arange(2 * n, dtype=np.int64).reshape(n, 2)
    raw = b"a,b\n" + "\n".join(f"{a},{b}" for a, b in values).encode() + b"\n"
    at = upload(open_your_data(), "big.csv", raw)
    assert not at.error
    seed_input = at.number_input(key="your_data.subsample_seed")
    assert seed_input.value == 0
    message = unescape(at.warning[0].value)
    assert f"{n:,} usable rows" in message
    assert "random subsample of 200,000 rows" in message
    assert "seed 0" in message
    assert unescape(at.success[0].value).startswith("Ready: 200,000 points in 2-D")
    ok(seed_input.set_value(7).run())
    assert "seed 7" in unescape(at.warning[0].value)


def test_a_thousand_columns_are_previewed_and_offered() -> None:
    names = [f"c{j}" for j in range(1000)]
    lines = [",".join(names)] + [",".join(str(i * 1000 + j) for j in range(1000)) for i in range(5)]
    at = upload(open_your_data(), "wide.csv", "\n".join(lines).encode())
    assert not at.error
    assert at.dataframe[0].value.shape == (5, 1000)
    assert list(at.dataframe[0].value.columns) == names
    assert selectbox(at, "Horizontal axis (x)").options == names
    assert unescape(at.success[0].value) == "Ready: 5 points in 2-D from “c0” and “c1”."


def test_values_the_fit_refuses_are_not_ready_until_standardised() -> None:
    # The lecturer's file: values up to 7e300 in x. The fit itself refuses such data (its
    # squares overflow), so the page must not say "Ready" nor let it reach the stepper.
    text = "x,y\n1.288e300,1.449\n5.066e300,2.235\n7e300,0.5\n-3e299,4.25\n"
    X = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    with pytest.raises(ValueError, match="squares overflow"):
        run_em(X, initialize(X, 2, "random_from_data", np.random.default_rng(0)), max_iter=1)

    at = paste(open_your_data(), text)
    assert not at.success
    assert not at.warning
    reason = (
        "These values are too large to fit: they reach 7e+300, and the fit can only work "
        "with values up to 1e+150 (the squares of larger ones overflow). Tick “Standardise” "
        "to rescale each column to mean 0 and standard deviation 1, or divide the column by "
        "a power of ten in the file."
    )
    assert [unescape(e.value) for e in at.error] == [reason]
    button = at.button(key="your_data.use")
    assert button.label == your_data.USE_LABEL
    assert button.proto.disabled
    assert unescape(button.proto.help) == reason
    with pytest.raises(AppTestError, match="disabled"):  # as in a browser: no click
        button.click()

    ok(at.checkbox(key="your_data.standardise").check().run())
    assert not at.error
    assert unescape(at.success[0].value).endswith("(standardised).")
    assert not at.button(key="your_data.use").proto.disabled
    use_this_data(at, "EM in 2-D")
    stay_on(at, "pages/em-2d.py")
    assert not at.error
    ok(at.button(key="em2d.button.E").click().run())
    assert status(at).startswith("Iteration 1 \u00b7 after E-step")
    # scikit-learn's scaler overflows on X itself; standardising ignores a column's unit.
    expected = StandardScaler().fit_transform(X / np.array([1e300, 1.0]))
    points = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]
    assert np.allclose(decode(points["x"]), expected[:, 0])
    assert np.allclose(decode(points["y"]), expected[:, 1])


def test_values_up_to_the_fits_limit_are_ready_as_they_are() -> None:
    # 1e150 itself: the fit accepts it (its square, 1e300, is finite); no standardising asked.
    text = "x,y\n1e150,1\n-5e149,2\n2e149,7\n7e149,3\n"
    X = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    assert np.isfinite(X.astype(np.float64) ** 2).all()
    at = paste(open_your_data(), text)
    assert not at.error
    assert not at.warning
    assert unescape(at.success[0].value) == "Ready: 4 points in 2-D from “x” and “y”."
    assert not at.button(key="your_data.use").proto.disabled


# --------------------------------------------------------------------------- user text
def test_injection_names_and_file_name_are_shown_literally() -> None:
    raw = (CORPUS / "injection_names.csv").read_bytes()
    at = upload(open_your_data(), EVIL_FILE_NAME, raw)
    assert not at.error
    preview = at.dataframe[0].value
    assert list(preview.columns)[:2] == list(INJECTIONS)  # st.dataframe shows plain text
    x, y = selectbox(at, "Horizontal axis (x)"), selectbox(at, "Vertical axis (y)")
    assert (x.value, y.value) == INJECTIONS
    assert INJECTIONS[0] in x.options
    with_user_text = [t for t in shown_markdown(at) if INJECTIONS[0] in unescape(t)]
    assert with_user_text
    for text in with_user_text:
        assert not unescaped_punctuation(text), text
    summary = unescape(at.success[0].value)
    assert summary == f"Ready: 2 points in 2-D from “{INJECTIONS[0]}” and “{INJECTIONS[1]}”."

    use_this_data(at, "EM in 2-D")
    assert f"Your data: {EVIL_FILE_NAME}" in at.selectbox(key="em2d.dataset").options
    # Two points, fewer than K = 3: the stepper says so instead of fitting.
    assert [e.value for e in at.error] == [
        "EM could not start: n_components = 3 is more than the 2 data points; lower K."
    ]
    stay_on(at, "pages/your-data.py")
    box = at.markdown[1].value
    assert not unescaped_punctuation(box)
    assert unescape(box).startswith(f"EM in 2-D has your data “{EVIL_FILE_NAME}”")


def test_a_message_quoting_a_file_name_is_escaped() -> None:
    at = upload(open_your_data(), EVIL_FILE_NAME, b"")
    (error,) = at.error
    assert not unescaped_punctuation(error.value)
    with pytest.raises(UploadError) as expected:
        parse_table(b"", EVIL_FILE_NAME)
    assert unescape(error.value) == str(expected.value)
    # The autolink pattern "http:" is broken by an invisible word joiner.
    assert "http\u2060" in error.value


def test_label_column_and_standardise_reach_the_stepper() -> None:
    at = upload(open_your_data(), "iris.csv", IRIS.read_bytes())
    ok(selectbox(at, "Horizontal axis (x)").set_value("petal_length").run())
    ok(selectbox(at, "Vertical axis (y)").set_value("petal_width").run())
    ok(selectbox(at, "Label column (optional)").set_value("species").run())
    ok(at.checkbox(key="your_data.standardise").check().run())
    assert unescape(at.success[0].value) == (
        "Ready: 150 points in 2-D from “petal_length” and “petal_width” (3 labels, standardised)."
    )
    use_this_data(at, "EM in 2-D")
    iris = pd.read_csv(IRIS)
    expected = StandardScaler().fit_transform(iris[["petal_length", "petal_width"]])
    points = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]
    assert np.allclose(decode(points["x"]), expected[:, 0])
    assert np.allclose(decode(points["y"]), expected[:, 1])


def test_forget_this_data_removes_it_from_the_stepper() -> None:
    at = upload(open_your_data(), "old_faithful.csv", OLD_FAITHFUL.read_bytes())
    use_this_data(at, "EM in 2-D")
    stay_on(at, "pages/your-data.py")
    ok(at.button(key="your_data.forget.2").click().run())
    assert not any("has your data" in m.value for m in at.markdown)
    stay_on(at, "pages/em-2d.py")
    assert state.UPLOADED not in at.selectbox(key="em2d.dataset").options


# --------------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize(
    "text",
    [
        *INJECTIONS,
        "![i](http://127.0.0.1:9/x.png)",
        ":smile: :red[red] :material/home: $x^2$ **b** _i_ `c`",
        "# head\n- item\n1. item\n> quote\n|a|b|\n---",
        "www.example.com mail me@example.com https://example.com",
        "back\\slash &lt; &amp; <!-- c --> ~~s~~",
        "",
    ],
)
def test_md_escape_leaves_no_markdown_syntax_and_keeps_the_text(text: str) -> None:
    escaped = your_data.md_escape(text)
    assert not unescaped_punctuation(escaped)
    assert unescape(escaped) == text


def test_md_escape_breaks_autolinks_invisibly() -> None:
    escaped = your_data.md_escape("www.a.org http://b.org me@c.org")
    assert "www\u2060" in escaped
    assert "http\u2060" in escaped
    assert "me\u2060\\@" in escaped


def test_preview_frame_writes_numbers_and_leaves_non_finite_cells_empty() -> None:
    frame = pd.DataFrame(
        {
            "a": [1.0, np.nan, np.inf, -np.inf, 2.5, 1e20],
            "b": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
            "c": ["x", None, "nan", " -Inf ", "=1+1", "7"],
        }
    )
    out = your_data.preview_frame(frame, n_rows=5)
    assert list(out.columns) == ["a", "b", "c"]
    assert out["a"].tolist() == ["1", "", "", "", "2.5"]
    assert out["b"].tolist() == ["1", "", "3", "4", "5"]
    assert out["c"].tolist() == ["x", "", "", "", "=1+1"]


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("old_faithful.csv", "old_faithful"),
        ("my data (2).TSV", "my_data_2"),
        ("../../etc/passwd", "etc_passwd"),
        (EVIL_FILE_NAME, "b_x_b_y_javascript_alert_1_i_http_127.0.0.1_9_i.png"),
        ("“”.csv", "data"),
    ],
)
def test_download_stem_is_a_safe_file_name(name: str, stem: str) -> None:
    assert your_data.download_stem(name) == stem


# --------------------------------------------------------------------------- download files
def _scipy_log_joint(X: np.ndarray, params) -> np.ndarray:
    cols = [
        np.log(w) + multivariate_normal(mean=m, cov=c).logpdf(X)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ]
    return np.column_stack(cols)


def _fitted_run(rng_seed: int = 1):
    rng = np.random.default_rng(rng_seed)
    X = np.vstack([rng.normal([0, 0], 1, (40, 2)), rng.normal([5, 4], 0.8, (30, 2))])
    params0 = initialize(X, 2, "kmeans++", np.random.default_rng(0))
    history = run_em(X, params0, max_iter=5)
    settings = state.Settings.defaults("em2d").replace(
        knobs={}, dataset=state.UPLOADED, n_components=2, init_method="kmeans++", max_iter=5
    )
    data = LoadedData(
        X=X,
        dataset=state.UPLOADED,
        title="Your data: =cmd|x.csv",
        feature_names=("=a", "b"),
        description="",
        trusted=False,
        true_params=None,
        key="upload:test",
    )
    return X, history, settings, data


def test_params_document_holds_the_shown_step_and_the_settings() -> None:
    X, history, settings, data = _fitted_run()
    cursor = 4  # init, E, M, E, M: after the second M-step
    document = json.loads(your_data.params_document(data, settings, history, cursor))
    params = history.steps[cursor].params
    assert np.allclose(document["weights"], params.weights)
    assert np.allclose(document["means"], params.means)
    assert np.allclose(document["covariances"], params.covariances)
    expected_ll = logsumexp(_scipy_log_joint(X, params), axis=1).sum()
    assert document["log_likelihood"] == pytest.approx(expected_ll, rel=1e-9)
    assert document["iteration"] == 2
    assert document["settings"]["n_components"] == 2
    assert document["settings"]["init_method"] == "kmeans++"
    assert document["settings"]["phase"] == "M"
    assert document["settings"]["features"] == ["=a", "b"]
    assert document["settings"]["n_points"] == 70


def test_points_document_has_responsibilities_hard_labels_and_escaped_labels() -> None:
    X, history, _, _ = _fitted_run()
    params = history.steps[-1].params
    labels = np.array([0] * 40 + [1] * 30)
    text = your_data.points_document(X, ("=a", "b"), params, labels, ("=SUM(A1)", "@b"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["'=a", "b", "resp_1", "resp_2", "hard_label", "label"]
    body = rows[1:]
    assert len(body) == 70
    values = np.array([r[:5] for r in body], dtype=float)
    log_joint = _scipy_log_joint(X, params)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    assert np.allclose(values[:, :2], X)
    assert np.allclose(values[:, 2:4], resp, atol=1e-12)
    assert np.array_equal(values[:, 4], resp.argmax(axis=1) + 1)
    assert [r[5] for r in body] == ["'=SUM(A1)"] * 40 + ["'@b"] * 30


def test_label_column_is_shown_with_its_agreement_with_the_clusters() -> None:
    at = upload(open_your_data(), "iris.csv", IRIS.read_bytes())
    ok(selectbox(at, "Horizontal axis (x)").set_value("petal_length").run())
    ok(selectbox(at, "Vertical axis (y)").set_value("petal_width").run())
    ok(selectbox(at, "Label column (optional)").set_value("species").run())
    use_this_data(at, "EM in 2-D")
    stay_on(at, "pages/em-2d.py")
    assert at.slider(key="em2d.K").value == 3  # K follows the data: three labels
    iris = pd.read_csv(IRIS)
    species = sorted(iris["species"].unique())
    # Marker shapes: one shape per species, the same shape within a species.
    symbols = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]["marker"]["symbol"]
    assert len(symbols) == 150
    by_species = {name: {s for s, sp in zip(symbols, iris["species"], strict=True) if sp == name}
                  for name in species}
    assert all(len(shapes) == 1 for shapes in by_species.values())
    assert len({next(iter(s)) for s in by_species.values()}) == 3
    assert any("Marker shapes show your labels" in unescape(c.value) for c in at.caption)
    ok(at.toggle(key="em2d.shapes").set_value(False).run())  # a display option: shapes off
    assert "symbol" not in chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]["marker"]
    assert at.query_params["shapes"] in ("0", ["0"])
    ok(at.toggle(key="em2d.shapes").set_value(True).run())

    ok(at.button(key="em2d.button.run").click().run())
    table = next(d.value for d in at.dataframe if "your label" in d.value.columns)
    assert list(table["your label"]) == species
    counts = table.drop(columns="your label").to_numpy()
    np.testing.assert_array_equal(counts.sum(axis=1), iris["species"].value_counts()[species])
    # The shown index is the adjusted Rand index of the shown table (scikit-learn as oracle).
    rows, cols = np.nonzero(counts)
    a = np.repeat(rows, counts[rows, cols])
    b = np.repeat(cols, counts[rows, cols])
    expected = adjusted_rand_score(a, b)
    shown = next(m.value for m in at.markdown if m.value.startswith("Adjusted Rand index"))
    value = float(re.search(r"\*\*([0-9.]+)\*\*", shown).group(1))
    assert value == pytest.approx(expected, abs=1e-3)
    assert value > 0.3  # far better than chance (petal sizes separate the species)
