"""The stepper says converged / still climbing / saddle / collapse truthfully (AppTest).

The numbers are those of the issue: Old Faithful, K = 2, full covariances, "random data
points", seed 0. scikit-learn's rule stops after 2 iterations at -1289.17 with both
ellipses on top of each other; EM from there reaches -1130.26.
"""

from __future__ import annotations

import numpy as np
import pytest

from gmm_app.formatting import MINUS
from gmm_core import datasets, initialize, textbook
from tests.test_app_pages import click, open_page, status

FAITHFUL = {"dataset": "old_faithful", "K": "2", "cov": "full", "init": "random_from_data",
            "seed": "0"}


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


def test_defaults_run_old_faithful_to_its_maximum() -> None:
    at = open_page("pages/em-2d.py", FAITHFUL)
    click(at, "em2d", "run")

    assert "converged" in status(at)
    assert f"{MINUS}1130.26" in status(at)
    assert "Converged after 21 iteration(s)" in infos(at)
    assert "more EM would raise the log-likelihood by less than 0.001" in infos(at)


def test_scikit_learns_rule_stops_on_the_plateau_and_says_whose_rule_it_is() -> None:
    at = open_page("pages/em-2d.py", {**FAITHFUL, "rule": "loglik_change"})
    click(at, "em2d", "run")

    assert f"{MINUS}1289.17" in status(at)
    assert "Converged after 2 iteration(s)" in infos(at)
    assert "scikit-learn's rule, which can also stop on a plateau" in infos(at)


def test_a_run_cut_short_says_it_is_still_climbing() -> None:
    at = open_page("pages/em-2d.py", {**FAITHFUL, "init": "random_resp", "max_iter": "30"})
    click(at, "em2d", "run")

    # The textbook's EM from the same start: the run is leaving the plateau, its gains still
    # growing at iteration 30, so no remaining gain can be extrapolated yet.
    x = datasets.load("old_faithful").X
    _, lls = textbook.em(x, initialize(x, 2, "random_resp", np.random.default_rng(0)),
                         n_iter=30)
    assert lls[30] - lls[29] == pytest.approx(0.45, abs=0.005)
    assert lls[30] - lls[29] > lls[29] - lls[28]
    assert status(at).split(" \u00b7 ")[2] == (
        "not converged: iteration limit reached while still climbing")
    assert "Not converged: stopped at the iteration limit (30) while still climbing. The " \
        "last iteration gained 0.45, and the gains are not shrinking yet" in infos(at)
    assert "Raise 'Maximum iterations'" in infos(at)


def test_a_saddle_is_named_not_called_converged() -> None:
    at = open_page(
        "pages/em-1d.py",
        {"dataset": "two_gaussians_1d", "K": "2", "init": "random_resp", "seed": "0",
         "max_iter": "100"},
    )
    click(at, "em1d", "run")

    assert "not converged: at a saddle (components 1 and 2 coincide)" in status(at)
    assert "components 1 and 2 on top of each other" in infos(at)
    assert "Converged" not in infos(at)


def test_after_a_collapse_no_step_is_offered_and_the_page_says_the_run_ends() -> None:
    """The collapse lesson's link: iris, K = 5, seed 3, reg_covar = 0."""
    query = {"dataset": "iris", "K": "5", "seed": "3", "reg_covar": "0"}
    at = open_page("pages/em-2d.py", query)
    assert at.button(key="em2d.button.E").proto.type == "primary"  # the next half-step
    click(at, "em2d", "run")

    assert "stopped: component 1 collapsed" in status(at)
    warning = " ".join(w.value for w in at.warning)
    assert "Component 1 collapsed" in warning
    assert "In numbers: its smallest variance is " in warning  # a sentence, no fragment
    assert "The run ends here: E-step and M-step cannot go on." in warning
    for action in ("E", "M"):  # nothing is highlighted as the next half-step ...
        assert at.button(key=f"em2d.button.{action}").proto.type == "secondary"
        before = status(at)
        click(at, "em2d", action)  # ... and pressing one changes nothing
        assert status(at) == before
