"""'Show the code': the textbook lines of the last half-step and the numbers they gave."""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal

from gmm_app.code_panel import body_source
from gmm_core import datasets, initialize, textbook
from tests.test_app_pages import click, open_page

QUERY = {"dataset": "old_faithful", "K": "2", "init": "kmeans", "seed": "0", "tab": "code"}


def test_body_source_is_the_code_without_the_docstring() -> None:
    code = body_source(textbook.m_step)
    assert code.startswith("def m_step(")
    assert "N_k = gamma.sum(axis=0)" in code
    assert "Parameters" not in code  # the docstring's sections are gone
    compile(code, "<m_step>", "exec")


def num(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def scipy_resp(X: np.ndarray, params) -> np.ndarray:
    dens = np.column_stack([
        w * multivariate_normal(m, c).pdf(X)
        for w, m, c in zip(params.weights, params.means, params.covariances, strict=True)
    ])
    return dens / dens.sum(axis=1, keepdims=True)


def test_the_code_tab_shows_the_e_step_then_the_m_step_with_their_numbers() -> None:
    at = open_page("pages/em-2d.py", QUERY)
    X = datasets.load("old_faithful").X
    p0 = initialize(X, 2, "kmeans", np.random.default_rng(0))
    codes = [c.value for c in at.code]
    assert any("def e_step(" in c for c in codes)  # before any step: what E will run

    click(at, "em2d", "E")
    assert any("def e_step(" in c for c in (c.value for c in at.code))
    table = at.table[-1].value
    gamma = scipy_resp(X, p0)
    for _, row in table.iterrows():
        n = int(row["n"])
        np.testing.assert_allclose(num(row["\u03b3[n, 0]"]), gamma[n, 0], atol=1e-3)

    click(at, "em2d", "M")
    assert any("def m_step(" in c for c in (c.value for c in at.code))
    table = at.table[-1].value
    nk = gamma.sum(axis=0)
    np.testing.assert_allclose(table["N_k"].map(num), nk, rtol=1e-3)
    means = (gamma.T @ X) / nk[:, None]
    got = np.array([[num(v) for v in s.split(", ")] for s in table["mu[k]"]])
    np.testing.assert_allclose(got, means, rtol=1e-3)
