"""AppTests of the model pages (/choose-k, /restarts, /kmeans-vs-gmm) on 1-D data: built-in
1-D sets, the 1-D/2-D choice, and clicks that open the 1-D stepper (issue 8)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gmm_core import datasets
from tests.test_app_models import open_from_choose_k, open_page, plotly_figures, texts

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def query_value(at: AppTest, key: str) -> str | None:
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


# --------------------------------------------------------------------------- /choose-k
@pytest.mark.parametrize("name", datasets.list_datasets(1))
def test_choose_k_runs_on_every_builtin_1d_set(name: str) -> None:
    at = open_page("pages/choose-k.py", {"dataset": name, "starts": "1", "folds": "2"})
    assert at.radio(key="choose_k.dim").value == "1"
    assert at.selectbox(key="choose_k.dataset").value == name
    assert not at.error
    assert not at.warning
    fig = plotly_figures(at)[0]
    names = {t.get("name") for t in fig["data"]}
    assert {"variable variance", "equal variance"} <= names
    assert not names & {"diagonal", "spherical"}
    # A 1-D link needs no dimension: the data set's name implies it.
    assert query_value(at, "dataset") == name
    assert query_value(at, "dim") is None


def test_choose_k_picks_two_components_on_two_gaussians_by_bic() -> None:
    at = open_page("pages/choose-k.py", {"dataset": "two_gaussians_1d"})
    best = next(df.value for df in at.dataframe if "covariance" in df.value.columns
                and "BIC" in df.value.columns)
    assert int(best.set_index("covariance").loc["variable variance", "BIC"]) == 2
    assert "BIC: **K = 2**" in texts(at)
    counts = next(e for e in at.expander if e.label == "Free parameters of each model")
    assert counts is not None
    # Free parameters in 1-D (hand count): K-1 weights + K means + K variances = 3K - 1.
    table = next(df.value for df in at.dataframe if "K=1" in df.value.columns)
    row = table.set_index("covariance").loc["variable variance"]
    assert [int(row[f"K={k}"]) for k in (1, 2, 3)] == [2, 5, 8]


def test_the_dimension_choice_switches_the_data_sets() -> None:
    at = open_page("pages/choose-k.py", {"starts": "1", "folds": "2"})
    assert at.radio(key="choose_k.dim").value == "2"
    assert at.selectbox(key="choose_k.dataset").value == "blobs"
    at.radio(key="choose_k.dim").set_value("1").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="choose_k.dataset")
    assert box.value == "three_gaussians_1d"
    assert set(box.options) >= {datasets.describe(n).title for n in datasets.list_datasets(1)}
    assert not set(box.options) & {datasets.describe(n).title
                                  for n in datasets.list_datasets(2)}
    assert query_value(at, "dataset") == "three_gaussians_1d"


def test_a_click_on_a_1d_model_opens_the_1d_stepper() -> None:
    from gmm_app.declared import Settings
    from gmm_app.model_pages import open_in_stepper

    base = Settings.defaults("choose_k", "galaxies")
    assert base.n_features == 1
    target = open_in_stepper(base, 3, "tied", "kmeans++", 4, tol=1e-3, max_iter=100,
                             rule="loglik_change")
    assert target.page == "em1d"
    query = target.to_query()
    assert (query["dataset"], query["K"], query["cov"], query["seed"], query["init"]) == (
        "galaxies", "3", "tied", "4", "kmeans++")
    at = open_from_choose_k(target)
    assert at.session_state["em1d.dataset"] == "galaxies"
    assert at.session_state["em1d.K"] == 3
    assert at.session_state["em1d.cov"] == "tied"
    assert any("Galaxies" in h.value for h in at.subheader)


# --------------------------------------------------------------------------- /restarts
def test_restarts_on_1d_data_show_density_panels_over_histograms() -> None:
    at = open_page("pages/restarts.py", {"dataset": "two_gaussians_1d", "K": "2",
                                         "cov": "tied", "restarts": "12"})
    assert not at.error
    assert at.radio(key="restarts.cov").options == ["variable variance", "equal variance"]
    lines = re.findall(r"(\d+) of 12 starts reached (\S+)", texts(at))
    assert lines, texts(at)
    hist, gallery = plotly_figures(at)[:2]
    kinds = [t.get("type") for t in gallery["data"]]
    assert kinds.count("bar") == 12  # one histogram per panel
    curves = [t for t in gallery["data"] if t.get("mode") == "lines"]
    assert len(curves) == 12
    seeds = {t["customdata"][0][0] for t in curves}
    assert len(seeds) == 12
    # The data's histogram is a density: its bars' area is 1.
    bars = next(t for t in gallery["data"] if t.get("type") == "bar")
    assert sum(np.asarray(bars["y"]) * np.asarray(bars["width"])) == pytest.approx(1.0)


def test_a_restart_click_opens_the_1d_stepper() -> None:
    from gmm_app.declared import Settings
    from gmm_app.model_pages import open_in_stepper

    at = open_page("pages/restarts.py", {"dataset": "galaxies", "K": "3", "restarts": "16"})
    # One line per optimum: starts that stopped a little apart at one optimum are grouped.
    values = [v for _, v in re.findall(r"(\d+) of 16 starts reached (\S+)", texts(at))]
    assert values
    assert len(set(values)) == len(values), values
    base = Settings.defaults("restarts", "galaxies")
    target = open_in_stepper(base, 3, "full", "random_from_data", 5, tol=1e-3, max_iter=500,
                             rule="aitken")
    at.session_state["restarts.pending.open"] = target
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["em1d.dataset"] == "galaxies"
    assert at.session_state["em1d.seed"] == 5
    assert at.session_state["em1d.K"] == 3


# --------------------------------------------------------------------------- /kmeans-vs-gmm
def test_kmeans_page_in_1d_hardens_at_the_smallest_variance() -> None:
    at = open_page("pages/kmeans-vs-gmm.py", {"dataset": "two_gaussians_1d",
                                              "sigma2": "0.0001"})
    at.button(key="kmeans_gmm.button.end").click().run()
    assert not at.exception, at.exception
    km, em = plotly_figures(at)[:2]
    assert "converged" in km["layout"]["title"]["text"]
    assert "agree on 100.0 % of the points" in texts(at)
    boundary = next(t for t in km["data"] if t.get("name") == "boundary")
    centres = next(t for t in km["data"] if t.get("name") == "centre")
    c = np.sort(centres["x"])
    xs = [v for v in boundary["x"] if v is not None]
    assert xs == pytest.approx([(c[0] + c[1]) / 2] * 2)
    assert len([t for t in em["data"] if str(t.get("name")).startswith("component")]) == 2


def test_kmeans_page_in_1d_learned_variances() -> None:
    at = open_page("pages/kmeans-vs-gmm.py", {"dataset": "calm_and_crisis_returns",
                                              "sigma2": "learned", "step": "400"})
    assert not at.error
    assert "halfway between neighbouring centres" in texts(at)
    assert re.search(r"agree on ([\d.]+) %", texts(at))
    assert any(e.label == "Sample from the model" for e in at.expander)


# --------------------------------------------------------------------------- 1-D uploads
def _upload_1d_script() -> None:  # pragma: no cover - runs inside AppTest
    import numpy as np
    import streamlit as st

    from gmm_app import state
    from gmm_app.model_pages import render_choose_k

    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(-4, 1, 150), rng.normal(4, 1, 150)]).reshape(-1, 1)
    if "test.uploaded" not in st.session_state:  # once, like "Use this data"
        st.session_state["test.uploaded"] = True
        state.use_uploaded_dataset(x, "my.csv", ["height"])
    render_choose_k()


def test_a_1d_upload_is_offered_after_choosing_1d() -> None:
    at = AppTest.from_function(_upload_1d_script, default_timeout=300)
    at.query_params.update({"starts": "1", "folds": "2"})
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="choose_k.dim").value == "2"
    assert "Your data: my.csv" not in at.selectbox(key="choose_k.dataset").options
    at.radio(key="choose_k.dim").set_value("1").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="choose_k.dataset")
    assert box.value == "your-data"  # the upload of that dimension is chosen
    assert "Your data: my.csv" in box.options
    best = next(df.value for df in at.dataframe if "covariance" in df.value.columns
                and "BIC" in df.value.columns)
    assert int(best.set_index("covariance").loc["variable variance", "BIC"]) == 2
    assert not at.error


def test_switching_restarts_to_1d_keeps_only_1d_covariance_types() -> None:
    at = open_page("pages/restarts.py", {"dataset": "old_faithful", "K": "2", "cov": "diag",
                                         "restarts": "12"})
    assert at.radio(key="restarts.cov").value == "diag"
    at.radio(key="restarts.dim").set_value("1").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="restarts.dataset").value == "three_gaussians_1d"
    assert at.radio(key="restarts.cov").value == "full"
    assert at.slider(key="restarts.K").value == 3  # K follows the new data set
    assert not at.error
    assert query_value(at, "dataset") == "three_gaussians_1d"
