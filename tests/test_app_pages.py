"""The Streamlit pages, driven headless with ``streamlit.testing.v1.AppTest``.

Charts are ``live_chart`` components: the figure is read from the element's
protobuf (the ``spec`` argument, see :func:`spec_argument`). Plotly 7
writes numeric arrays as base64 ``{"dtype", "bdata"}``, and long colour lists
travel packed as ``{"packed_rgb": base64 of N x 3 bytes}``; both are decoded here
with numpy. Data sets are kept small (``d.n_samples``) so the runs stay quick.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal
from streamlit.testing.v1 import AppTest

from gmm_app import figures, state
from gmm_app.formatting import MINUS
from gmm_core import datasets, initialize, run_em

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
NAN = re.compile(r"\bnan\b", re.IGNORECASE)  # a NaN printed as a number
SMALL_2D = {"dataset": "blobs", "d.n_samples": "200", "K": "3", "seed": "0"}
SMALL_1D = {"dataset": "two_gaussians_1d", "d.n_samples": "150", "K": "2", "seed": "0"}


# --------------------------------------------------------------------------- helpers
def decode(value: object) -> np.ndarray:
    """A Plotly JSON array: a list, or base64 ``{"dtype", "bdata"}`` as Plotly 7 writes it."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.array([np.nan if v is None else v for v in value], dtype=float)


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    """Run one page file with ``query`` as the URL's parameters.

    Pages are run from their own file: with ``app.py`` as the script, AppTest
    starts every run in Streamlit's old pages-directory mode (it resets that
    mode per run), and an ``st.rerun`` inside the run then changes the page's
    script hash and so every widget's identity. Loading through ``app.py`` is
    checked separately (``test_every_page_loads_through_app_py``).
    """
    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


class _TableReader(HTMLParser):
    """Cells of the HTML tables a page writes (stdlib parser: independent of gmm_app)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(at: AppTest) -> list[pd.DataFrame]:
    """The tables the page shows: st.table elements and HTML tables written as markdown."""
    out = [t.value for t in at.table]
    for m in at.markdown:
        if f'class="{figures.TABLE_CLASS}"' in m.value:
            reader = _TableReader()
            reader.feed(m.value)
            out.append(pd.DataFrame(reader.rows[1:], columns=reader.rows[0]))
    return out


def unpack_rgb(packed: dict) -> list[str]:
    """``{"packed_rgb", "case"?}`` colours: base64 of N x 3 bytes -> N ``"#rrggbb"`` strings."""
    rgb = np.frombuffer(base64.b64decode(packed["packed_rgb"]), dtype=np.uint8).reshape(-1, 3)
    hexes = ["#" + bytes(row).hex() for row in rgb]
    return [h.upper() for h in hexes] if packed.get("case") == "upper" else hexes


def spec_argument(proto: object) -> str:
    """The ``spec`` argument of a chart component element: a bytes argument (UTF-8 JSON), or
    a string in the element's JSON arguments."""
    for arg in proto.special_args:  # type: ignore[attr-defined]
        if arg.key == "spec":
            return arg.bytes.decode("utf-8")
    return json.loads(proto.json_args)["spec"]  # type: ignore[attr-defined]


def chart(at: AppTest, key: str) -> dict:
    """The figure JSON of the chart component with the given key (colours unpacked)."""
    for el in at.get("component_instance"):
        if el.proto.id.endswith(f"-{key}"):
            fig = json.loads(spec_argument(el.proto))
            for trace in fig["data"]:
                colour = trace.get("marker", {}).get("color")
                if isinstance(colour, dict):
                    trace["marker"]["color"] = unpack_rgb(colour)
            return fig
    raise AssertionError(f"no chart with key {key}")


def click(at: AppTest, prefix: str, action: str) -> AppTest:
    at.button(key=f"{prefix}.button.{action}").click().run()
    assert not at.exception, at.exception
    return at


def status(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("##### ")).removeprefix("##### ")


def texts(at: AppTest) -> list[str]:
    """Every text shown on the page (markdown, captions, alerts, tables)."""
    out = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success")
           for e in at.get(kind)]
    out += [t.value for t in at.get("subheader")]
    out += [df.to_string() for df in tables(at)]
    return out


def ellipses(fig: dict, k: int) -> list[dict]:
    return [fig["data"][i] for i in figures.ellipse_trace_indices(k)]


def colours_2d(fig: dict) -> list[str]:
    return fig["data"][figures.TRACE_POINTS]["marker"]["color"]


# --------------------------------------------------------------------------- every page
PAGES = ["pages/home.py", "pages/em-1d.py", "pages/em-2d.py", "pages/your-data.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads_through_app_py(page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error
    assert not [w for w in at.warning if "ignored" in w.value]


def test_home_has_the_formulas_and_links() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    formulas = " ".join(x.value for x in at.latex)
    for piece in (r"\pi_k", r"\gamma_{nk}", r"\log L", r"\Sigma_k =", r"\mu_k ="):
        assert piece in formulas
    page_links = [el.proto.page for el in at.get("page_link")]
    assert any("em-2d" in p for p in page_links)
    assert any("em-1d" in p for p in page_links)
    words = " ".join(texts(at))
    assert "Soft versus hard" in words
    assert "k-means" in words


# --------------------------------------------------------------------------- 2-D stepping
def test_e_step_recolours_only_then_m_step_moves_ellipses() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    start = chart(at, "em2d.chart")
    assert status(at).startswith("Start (iteration 0)")
    assert set(colours_2d(start)) == {"#8C8C8C"}  # no responsibilities yet

    click(at, "em2d", "E")
    after_e = chart(at, "em2d.chart")
    assert status(at).startswith("Iteration 1 \u00b7 after E-step \u00b7 next: M-step")
    assert colours_2d(after_e) != colours_2d(start)
    assert len(set(colours_2d(after_e))) > 3  # blends, not three flat colours
    assert ellipses(after_e, 3) == ellipses(start, 3)
    means = figures.means_trace_index(3)
    assert after_e["data"][means] == start["data"][means]

    click(at, "em2d", "M")
    after_m = chart(at, "em2d.chart")
    assert status(at).startswith("Iteration 1 \u00b7 after M-step \u00b7 next: E-step")
    assert colours_2d(after_m) == colours_2d(after_e)
    for before, after in zip(ellipses(after_e, 3), ellipses(after_m, 3), strict=True):
        assert not np.allclose(decode(before["x"]), decode(after["x"]))


def test_back_restores_the_previous_state_exactly_and_reset_returns_to_start() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    start = chart(at, "em2d.chart")
    click(at, "em2d", "iterate")
    click(at, "em2d", "E")
    before_status, before = status(at), chart(at, "em2d.chart")
    before_table = tables(at)[0]
    click(at, "em2d", "M")
    assert chart(at, "em2d.chart") != before
    click(at, "em2d", "back")
    assert chart(at, "em2d.chart") == before
    assert status(at) == before_status
    assert tables(at)[0].equals(before_table)

    click(at, "em2d", "reset")
    assert chart(at, "em2d.chart") == start
    assert status(at).startswith("Start (iteration 0)")
    assert at.slider(key="em2d.step").value == 0


def test_run_to_convergence_ends_converged_with_a_climbing_likelihood() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "run")
    assert "converged" in status(at)
    assert any("Converged after" in i.value for i in at.info)
    ll = decode(chart(at, "em2d.chart.ll")["data"][0]["y"])
    assert ll.size == at.slider(key="em2d.step").value + 1 > 3
    assert np.all(np.isfinite(ll))
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))
    assert ll[-1] > ll[0]
    # Nothing is silently skipped at the end.
    click(at, "em2d", "E")
    assert any("EM has stopped here" in i.value for i in at.info)


def test_m_step_first_and_e_step_twice_say_what_happened() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "M")
    assert status(at).startswith("Iteration 1 \u00b7 after M-step")
    assert any("E-step was done first" in i.value for i in at.info)
    click(at, "em2d", "E")
    click(at, "em2d", "E")
    assert any("already current" in i.value for i in at.info)
    assert status(at).startswith("Iteration 2 \u00b7 after E-step")


def test_history_slider_jumps_to_any_half_step() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    at.slider(key="em2d.step").set_value(4).run()
    assert status(at).startswith("Iteration 2 \u00b7 after M-step")
    assert decode(chart(at, "em2d.chart.ll")["data"][1]["x"]).tolist() == [4]
    assert at.query_params["step"] in ("4", ["4"])  # the address bar is a link to this view


def test_changing_k_starts_a_new_run_and_says_so() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "iterate")
    at.slider(key="em2d.K").set_value(4).run()
    assert not at.exception
    assert status(at).startswith("Start (iteration 0)")
    assert any("New run started" in i.value and "K changed (3 \u2192 4)" in i.value
               for i in at.info)
    fig = chart(at, "em2d.chart")
    assert decode(fig["data"][figures.means_trace_index(4)]["x"]).size == 4
    assert len(fig["data"]) == 3 + 2 * 4 + 3


def test_changing_covariance_type_and_initialisation_start_new_runs() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "iterate")
    at.radio(key="em2d.cov").set_value("spherical").run()
    assert any("the covariance type changed (full \u2192 spherical)" in i.value for i in at.info)
    click(at, "em2d", "iterate")
    at.selectbox(key="em2d.init").set_value("kmeans++").run()
    assert any("the initialisation changed" in i.value for i in at.info)
    assert status(at).startswith("Start (iteration 0)")
    click(at, "em2d", "iterate")
    at.selectbox(key="em2d.dataset").set_value("old_faithful").run()
    assert not at.exception
    assert any("the data set changed (blobs \u2192 old_faithful)" in i.value for i in at.info)
    assert status(at).startswith("Start (iteration 0)")


def test_collapse_with_reg_covar_zero_is_explained_without_nan() -> None:
    query = {"dataset": "blobs", "d.n_samples": "30", "K": "8", "init": "random_from_data",
             "seed": "0", "reg_covar": "0.0"}
    at = open_page("pages/em-2d.py", query)
    click(at, "em2d", "run")
    assert "collapsed" in status(at)
    warning = " ".join(w.value for w in at.warning)
    assert "collapsed" in warning
    assert "reg_covar" in warning
    assert "red cross" in warning
    fig = chart(at, "em2d.chart")
    marker = fig["data"][-1]
    assert decode(marker["x"]).size == 1
    assert "collapsed here" in marker["text"][0]
    for text in texts(at):
        assert not NAN.search(text)
    assert "NaN" not in json.dumps(fig)
    click(at, "em2d", "M")  # says why no M-step is possible, no traceback
    assert not at.exception


def test_link_parameters_set_the_page_and_bad_ones_are_reported() -> None:
    at = open_page("pages/em-2d.py", {**SMALL_2D, "K": "5", "cov": "diag", "step": "3",
                                      "tol": "oops"})
    assert at.slider(key="em2d.K").value == 5
    assert at.radio(key="em2d.cov").value == "diag"
    assert status(at).startswith("Iteration 2 \u00b7 after E-step")
    # Messages are shown as Markdown with their punctuation escaped: compare the text shown.
    shown = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any("tol='oops' was ignored" in w for w in shown), shown


def test_play_then_pause() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "play")
    assert [b.label for b in at.button if b.label == "Pause"] == ["Pause"]
    assert not status(at).startswith("Start")  # the first tick already advanced
    click(at, "em2d", "pause")
    assert [b.label for b in at.button if b.label == "Play"] == ["Play"]
    assert any(i.value == "Paused." for i in at.info)


def test_manual_initialisation_waits_for_k_means_then_runs() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    at.selectbox(key="em2d.init").set_value("manual").run()
    assert any("needs K = 3 starting means; 0 given" in i.value for i in at.info)
    at.text_input(key="em2d.means").input("0, 0; 2, 2; oops").run()
    assert any("'oops' is not a number" in e.value for e in at.error)
    at.text_input(key="em2d.means").input("-3, 0; 0, 3; 3, 0").run()
    assert not at.exception
    assert status(at).startswith("Start (iteration 0)")
    means = chart(at, "em2d.chart")["data"][figures.means_trace_index(3)]
    np.testing.assert_allclose(decode(means["x"]), [-3, 0, 3])
    np.testing.assert_allclose(decode(means["y"]), [0, 3, 0])


def test_inspecting_a_point_shows_its_e_step_numbers() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    click(at, "em2d", "iterate")
    at.session_state["em2d.tab"] = "Inspect a point"  # the tab builds its widgets when open
    at.run()
    at.number_input(key="em2d.inspect").set_value(5).run()
    assert not at.exception
    breakdown = next(t for t in tables(at) if "sum" in list(t.get("k", [])))
    assert list(breakdown["k"]) == ["1", "2", "3", "sum"]
    # Independent reference: the same run (gmm_core, seeded), densities from scipy.
    X = datasets.load("blobs", n_samples=200).X
    params0 = initialize(X, 3, "random_from_data", np.random.default_rng(0))
    params = run_em(X, params0).steps[2].params
    joint = np.array([
        params.weights[k] * multivariate_normal(params.means[k], params.covariances[k]).pdf(X[5])
        for k in range(3)
    ])
    gamma = [float(v) for v in breakdown[figures.GAMMA_K][:3]]
    np.testing.assert_allclose(gamma, joint / joint.sum(), atol=6e-4)
    ring = chart(at, "em2d.chart")["data"][-2]
    np.testing.assert_allclose(decode(ring["x"]), [X[5, 0]])
    assert any(r"\gamma_" in x.value for x in at.latex)


# --------------------------------------------------------------------------- 1-D stepping
def test_1d_e_step_recolours_rug_and_areas_m_step_moves_curves() -> None:
    at = open_page("pages/em-1d.py", SMALL_1D)
    k = 2
    start = chart(at, "em1d.chart")
    assert len(start["data"]) == 2 * k + 5
    rug = figures.rug_trace_index(k)
    curves = slice(1, k + 2)  # the weighted components and the mixture
    click(at, "em1d", "E")
    after_e = chart(at, "em1d.chart")
    assert after_e["data"][rug]["marker"]["color"] != start["data"][rug]["marker"]["color"]
    assert after_e["data"][curves] == start["data"][curves]
    areas = sum(decode(a["y"]) for a in after_e["data"][-k:])
    np.testing.assert_allclose(areas, 1.0, atol=1e-9)
    click(at, "em1d", "M")
    after_m = chart(at, "em1d.chart")
    assert after_m["data"][rug] == after_e["data"][rug]
    assert after_m["data"][-k:] == after_e["data"][-k:]
    assert after_m["data"][curves] != after_e["data"][curves]
    assert status(at).startswith("Iteration 1 \u00b7 after M-step")


def test_1d_equal_variance_is_tied() -> None:
    at = open_page("pages/em-1d.py", SMALL_1D)
    at.radio(key="em1d.cov").set_value("tied").run()
    click(at, "em1d", "run")
    table = tables(at)[0]
    sigmas = set(table["\u03c3"])
    assert len(sigmas) == 1  # one shared sigma


# --------------------------------------------------------------------------- uploaded data
def _uploaded_script() -> None:  # pragma: no cover - runs inside AppTest
    import numpy as np
    import streamlit as st

    from gmm_app import state
    from gmm_app.stepper import render_stepper

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-3, 1, size=(60, 2)), rng.normal(3, 1, size=(60, 2))])
    if "test.uploaded" not in st.session_state:  # once, like "Use this data" (it resets the run)
        st.session_state["test.uploaded"] = True
        state.use_uploaded_dataset(X, "<b>my file</b>.csv", ["[x](javascript:alert(1))", "y"])
    render_stepper(2)


def test_uploaded_data_is_offered_selected_and_steppable() -> None:
    at = AppTest.from_function(_uploaded_script, default_timeout=60).run()
    assert not at.exception
    box = at.selectbox(key="em2d.dataset")
    assert box.value == state.UPLOADED
    assert "Your data: <b>my file</b>.csv" in box.options
    # User text never reaches Markdown: not in the header, not in captions.
    assert all("my file" not in t for t in texts(at))
    fig = chart(at, "em2d.chart")
    assert "&lt;" not in json.dumps(fig["layout"]["yaxis"])  # plain "y"
    assert "javascript" in fig["layout"]["xaxis"]["title"]["text"]  # shown as text
    assert decode(fig["data"][0]["x"]).size == 120
    at.slider(key="em2d.K").set_value(2).run()
    click(at, "em2d", "run")
    assert "converged" in status(at)


def _collapse_1d_script() -> None:  # pragma: no cover - runs inside AppTest
    import numpy as np
    import streamlit as st

    from gmm_app import state
    from gmm_app.stepper import render_stepper

    X = np.concatenate([np.zeros(8), np.linspace(1.0, 9.0, 40)]).reshape(-1, 1)
    if "test.uploaded" not in st.session_state:  # once, like "Use this data" (it resets the run)
        st.session_state["test.uploaded"] = True
        state.use_uploaded_dataset(X, "ties", ["x"])
    render_stepper(1)


def test_1d_collapse_on_repeated_values_is_explained() -> None:
    at = AppTest.from_function(_collapse_1d_script, default_timeout=60)
    at.query_params.update({"dataset": state.UPLOADED})
    at.run()
    at.number_input(key="em1d.reg_covar").set_value(0.0).run()
    at.selectbox(key="em1d.init").set_value("manual").run()
    at.text_input(key="em1d.means").input("0, 5, 8").run()
    at.slider(key="em1d.K").set_value(3).run()
    click(at, "em1d", "run")
    assert "collapsed" in status(at)
    assert any("collapsed" in w.value for w in at.warning)
    for text in texts(at):
        assert not NAN.search(text)
    table = tables(at)[0].to_string()
    assert MINUS not in table.split("\n")[1].split()[1]  # weights are never negative


# --------------------------------------------------------------------------- every data set
@pytest.mark.parametrize(
    ("page", "name"),
    [("pages/em-1d.py", n) for n in datasets.list_datasets(1)]
    + [("pages/em-2d.py", n) for n in datasets.list_datasets(2)],
)
def test_every_data_set_runs_to_the_end_without_nan(page: str, name: str) -> None:
    query = {"dataset": name}
    if any(k.name == "n_samples" for k in datasets.describe(name).knobs):
        query["d.n_samples"] = "150"
    at = open_page(page, query)
    prefix = "em1d" if "1d" in page else "em2d"
    assert at.selectbox(key=f"{prefix}.dataset").value == name
    click(at, prefix, "run")
    assert any(word in status(at) for word in ("converged", "stopped"))
    for text in texts(at):
        assert not NAN.search(text)
    if prefix == "em2d":
        truth = at.toggle(key="em2d.truth")
        if not truth.disabled:
            truth.set_value(True).run()
            assert not at.exception
            assert chart(at, "em2d.chart")["data"][figures.TRACE_TRUTH]["visible"] is True
        at.toggle(key="em2d.contours").set_value(True).run()
        assert chart(at, "em2d.chart")["data"][figures.TRACE_DENSITY]["visible"] is True


# --------------------------------------------------------------------------- defaults that teach
@pytest.mark.parametrize(
    ("page", "dataset", "k"),
    [("pages/em-2d.py", "old_faithful", 2), ("pages/em-2d.py", "iris", 3),
     ("pages/em-2d.py", "penguins", 3), ("pages/em-1d.py", "two_gaussians_1d", 2)],
)
def test_k_follows_the_data_set(page: str, dataset: str, k: int) -> None:
    prefix = "em1d" if "1d" in page else "em2d"
    # Opened by a link that names the data set only ...
    at = open_page(page, {"dataset": dataset})
    assert at.slider(key=f"{prefix}.K").value == k
    # ... and chosen in the list (from another data set's K).
    at = open_page(page)
    other = "blobs" if prefix == "em2d" else "three_gaussians_1d"
    assert at.selectbox(key=f"{prefix}.dataset").value == other
    at.slider(key=f"{prefix}.K").set_value(7).run()
    at.selectbox(key=f"{prefix}.dataset").set_value(dataset).run()
    assert not at.exception
    assert at.slider(key=f"{prefix}.K").value == k
    assert any("K changed (7 \u2192" in i.value for i in at.info)
    # A link that sets K wins.
    at = open_page(page, {"dataset": dataset, "K": "5"})
    assert at.slider(key=f"{prefix}.K").value == 5


def test_k_follows_the_number_of_blobs() -> None:
    at = open_page("pages/em-2d.py", {"dataset": "blobs", "d.n_samples": "200"})
    assert at.slider(key="em2d.K").value == 3
    at.slider(key="em2d.knob.blobs.n_clusters").set_value(5).run()
    assert not at.exception
    assert at.slider(key="em2d.K").value == 5


def test_a_link_to_uploaded_data_says_so_in_the_page() -> None:
    at = open_page("pages/em-2d.py", {"dataset": state.UPLOADED, "K": "4"})
    assert at.selectbox(key="em2d.dataset").value == "blobs"
    assert at.slider(key="em2d.K").value == 4
    fallback = [i.value for i in at.info if "uploaded data" in i.value]
    assert fallback
    assert "Your data" in fallback[0]
    assert any("your-data" in el.proto.page for el in at.get("page_link"))
    click(at, "em2d", "E")  # still said after a step: the view is not what the link meant
    assert any("uploaded data" in i.value for i in at.info)


def test_a_copied_link_reproduces_the_whole_view() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    at.selectbox(key="em2d.dataset").set_value("anisotropic").run()
    at.number_input(key="em2d.knob.anisotropic.n_samples").set_value(180).run()
    at.slider(key="em2d.K").set_value(4).run()
    at.radio(key="em2d.cov").set_value("diag").run()
    at.number_input(key="em2d.seed").set_value(11).run()
    at.slider(key="em2d.step").set_value(7).run()
    at.toggle(key="em2d.contours").set_value(True).run()
    at.toggle(key="em2d.truth").set_value(True).run()
    at.select_slider(key="em2d.size").set_value("large").run()
    at.session_state["em2d.tab"] = "Inspect a point"  # the tab builds its widgets when open
    at.run()
    at.number_input(key="em2d.inspect").set_value(12).run()
    at.session_state["em2d.tab"] = "Parameters"
    at.session_state["em2d.share_panel"] = True  # open "Share and download"
    at.run()
    assert not at.exception
    link = at.get("code")[0].value
    before = (status(at), chart(at, "em2d.chart"), tables(at)[0])
    assert link.startswith("/em-2d?")

    from urllib.parse import parse_qsl, urlsplit

    query = dict(parse_qsl(urlsplit(link).query))
    opened = open_page("pages/em-2d.py", query)
    assert not opened.warning
    assert status(opened) == before[0]
    assert chart(opened, "em2d.chart") == before[1]
    assert tables(opened)[0].equals(before[2])
    assert opened.toggle(key="em2d.contours").value is True
    assert opened.toggle(key="em2d.truth").value is True
    assert opened.select_slider(key="em2d.size").value == "large"
    assert opened.session_state["em2d.inspect"] == 12
    assert "tab" not in query  # the Parameters tab: the default, not written
    opened.session_state["em2d.tab"] = "Inspect a point"
    opened.run()
    assert any("Point **#12**" in m.value for m in opened.markdown)


def test_a_link_to_a_point_the_data_do_not_have_says_so() -> None:
    at = open_page("pages/em-2d.py", {**SMALL_2D, "inspect": "5000"})
    shown = [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
    assert any("inspect=5000 was ignored" in w and "0 to 199" in w for w in shown), shown
    assert at.session_state["em2d.inspect"] is None
    assert "inspect" not in at.query_params


def test_point_size_is_a_display_option_a_link_carries() -> None:
    at = open_page("pages/em-2d.py", SMALL_2D)
    normal = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]["marker"]["size"]
    at.select_slider(key="em2d.points").set_value("large").run()
    assert not at.exception
    large = chart(at, "em2d.chart")["data"][figures.TRACE_POINTS]["marker"]["size"]
    assert large > normal
    assert at.query_params["points"] in ("large", ["large"])
    assert not any("New run" in i.value for i in at.info)  # display only: the run is the same
    opened = open_page("pages/em-2d.py", {**SMALL_2D, "points": "large"})
    assert chart(opened, "em2d.chart")["data"][figures.TRACE_POINTS]["marker"]["size"] == large
