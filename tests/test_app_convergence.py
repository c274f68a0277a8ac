"""The stepper says converged / still climbing / saddle / collapse truthfully (AppTest).

The numbers are those of the issue: Old Faithful, K = 2, full covariances, "random data
points", seed 0. scikit-learn's rule stops after 2 iterations at -1289.17 with both
ellipses on top of each other; EM from there reaches -1130.26.
"""

from __future__ import annotations

from gmm_app.formatting import MINUS
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

    assert "not converged: iteration limit reached while still climbing by 0.45 per " \
        "iteration" in status(at)
    assert "Not converged: stopped at the iteration limit (30) while still climbing by " \
        "0.45 per iteration" in infos(at)
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
