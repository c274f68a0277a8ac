"""AppTests of the model pages (/choose-k, /restarts, /kmeans-vs-gmm) and of the steppers'
"sample from the model" and "unusual points" panels (issue 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import gmm_core
from gmm_core import datasets

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def open_page(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=300)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "error")
             for e in at.get(kind)]
    return "\n".join(parts)


def plotly_figures(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


# --------------------------------------------------------------------------- /choose-k
@pytest.fixture(scope="module")
def choose_k() -> AppTest:
    return open_page("pages/choose-k.py", {"dataset": "old_faithful"})


def test_choose_k_explains_and_picks_k2_for_full_by_bic(choose_k: AppTest) -> None:
    words = texts(choose_k)
    assert "raw likelihood always asks for more" in words
    assert "BIC" in words
    assert "AIC" in words
    assert "held-out likelihood" in words
    assert "best of 3 starts" in words
    best = next(df.value for df in choose_k.dataframe if "covariance" in df.value.columns
                and "BIC" in df.value.columns)
    assert int(best.set_index("covariance").loc["full", "BIC"]) == 2
    assert not choose_k.error
    assert not choose_k.warning


def test_choose_k_chart_bic_equals_gmm_core_bic_of_the_replayed_fit(choose_k: AppTest) -> None:
    fig = plotly_figures(choose_k)[0]
    full = next(t for t in fig["data"] if t.get("name") == "full" and t.get("xaxis") in
                (None, "x"))
    X = datasets.load("old_faithful").X
    table = next(df.value for df in choose_k.dataframe if "seed" in df.value.columns)
    for k, bic in list(zip(full["x"], full["y"], strict=True))[:6]:
        row = table[(table["covariance"] == "full") & (table["K"] == k)].iloc[0]
        # Replay the reported start exactly as the stepper link does.
        params0 = gmm_core.initialize(X, k, "kmeans++", np.random.default_rng(int(row["seed"])))
        history = gmm_core.run_em(X, params0, rule="loglik_change", tol=1e-3, max_iter=100)
        assert bic == pytest.approx(gmm_core.bic(X, history.final.params, "full"), rel=1e-9)


def test_choose_k_link_round_trip_and_bad_values() -> None:
    at = open_page("pages/choose-k.py", {"dataset": "iris", "folds": "4", "starts": "2",
                                         "seed": "7"})
    assert at.selectbox(key="choose_k.dataset").value == "iris"
    assert at.slider(key="choose_k.folds").value == 4
    assert at.slider(key="choose_k.starts").value == 2
    assert at.query_params["folds"] == ["4"] or at.query_params["folds"] == "4"
    bad = open_page("pages/choose-k.py", {"dataset": "old_faithful", "folds": "99"})
    shown = " ".join(w.value for w in bad.warning)
    assert "folds" in shown
    assert "ignored" in shown
    assert bad.slider(key="choose_k.folds").value == 5


def open_from_choose_k(target: object) -> AppTest:
    """/choose-k with a pending click on ``target`` (a stepper link): the app after it."""
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/choose-k.py").run()
    assert not at.exception
    at.session_state["choose_k.pending.open"] = target
    at.run()
    assert not at.exception, at.exception
    return at


def test_pending_click_opens_the_stepper_at_that_model() -> None:
    from gmm_app.declared import Settings
    from gmm_app.model_pages import open_in_stepper

    base = Settings.defaults("choose_k", "old_faithful")
    target = open_in_stepper(base, 2, "full", "kmeans++", 1, tol=1e-3, max_iter=100,
                             rule="loglik_change")
    assert target.page == "em2d"
    query = target.to_query()
    assert (query["dataset"], query["K"], query["cov"], query["seed"], query["rule"]) == (
        "old_faithful", "2", "full", "1", "loglik_change")
    at = open_from_choose_k(target)
    assert at.session_state["em2d.K"] == 2
    assert at.session_state["em2d.cov"] == "full"
    assert at.session_state["em2d.seed"] == 1
    assert any("Old Faithful" in h.value for h in at.subheader)


# --------------------------------------------------------------------------- /restarts
def test_restarts_group_the_old_faithful_optima() -> None:
    at = open_page("pages/restarts.py", {"dataset": "old_faithful", "K": "2", "cov": "full",
                                         "restarts": "20"})
    lines = re.findall(r"(\d+) of 20 starts reached (\S+)", texts(at))
    assert lines, texts(at)
    count, value = lines[0]
    assert value == "\u22121130.26"
    assert int(count) > 10
    assert sum(int(c) for c, _ in lines) <= 20
    table = next(df.value for df in at.dataframe)
    assert table["final log-likelihood"].iloc[0] == pytest.approx(-1130.26)
    assert table["starts"].iloc[0] == int(count)
    figs = plotly_figures(at)
    assert len(figs) == 2  # the histogram and the gallery


# --------------------------------------------------------------------------- /kmeans-vs-gmm
def test_kmeans_page_steps_and_hardens_at_the_smallest_variance() -> None:
    at = open_page("pages/kmeans-vs-gmm.py", {"dataset": "anisotropic", "sigma2": "0.0001"})
    at.button(key="kmeans_gmm.button.end").click().run()
    assert not at.exception
    figs = plotly_figures(at)
    assert "converged" in figs[0]["layout"]["title"]["text"]
    assert "agree on 100.0 % of the points" in texts(at)
    at.button(key="kmeans_gmm.button.reset").click().run()
    at.button(key="kmeans_gmm.button.next").click().run()
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)[:2]]
    assert "assign each point to its nearest centre" in titles[0]
    assert "E-step" in titles[1]


def test_kmeans_and_learned_mixture_disagree_on_elongated_clusters() -> None:
    at = open_page("pages/kmeans-vs-gmm.py", {"dataset": "anisotropic", "sigma2": "learned",
                                              "step": "400"})
    share = float(re.search(r"agree on ([\d.]+) %", texts(at)).group(1))
    assert share < 99.0
    assert any(e.label == "Sample from the model" for e in at.expander)


# --------------------------------------------------------------------------- stepper panels
def test_stepper_panels_sample_and_flag() -> None:
    at = open_page("pages/em-2d.py", {"dataset": "old_faithful", "K": "2", "step": "60",
                                      "unusual": "5", "sample_n": "300"})
    labels = [e.label for e in at.expander]
    assert "Sample from the model" in labels
    assert "Unusual points" in labels
    words = texts(at)
    match = re.search(r"(\d+) of 272 points \(([\d.]+) %\) have a log density below", words)
    assert match, words
    assert abs(int(match.group(1)) / 272 - 0.05) <= 1 / 272
    stage = re.search(r"Stage 1, z from \u03c0: (\d+) from component 1.*?, (\d+) from component 2",
                      words)
    assert stage
    assert int(stage.group(1)) + int(stage.group(2)) == 300


def test_one_d_stepper_has_the_sample_histogram() -> None:
    # The panels are lazy (built only while open); a link that sets one of their settings
    # opens them.
    at = open_page("pages/em-1d.py", {"K": "3", "step": "10", "sample_n": "400"})
    figs = plotly_figures(at)
    hist = next(f for f in figs if any(t.get("type") == "bar" for t in f["data"]))
    assert any(t.get("name") == "data" for t in hist["data"])
