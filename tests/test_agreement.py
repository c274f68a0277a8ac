"""Agreement of fitted clusters with known labels, against scikit-learn and pandas (oracles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from gmm_app.agreement import adjusted_rand_index, contingency_table

labellings = st.integers(1, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 5), min_size=n, max_size=n),
        st.lists(st.integers(0, 7), min_size=n, max_size=n),
    )
)


@settings(max_examples=300, deadline=None)
@given(labellings)
def test_ari_matches_scikit_learn(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0, 0, 1, 1], [1, 1, 0, 0]),  # the same grouping, numbered differently: 1
        ([0, 0, 0, 0], [0, 0, 0, 0]),  # one group each
        ([0, 1, 2, 3], [0, 1, 2, 3]),  # every point alone
        ([0, 0, 0, 0], [0, 1, 2, 3]),  # one group against singletons: 0
        ([0, 0, 1, 1], [0, 1, 0, 1]),  # worse than chance: negative
        ([5], [3]),
        (["setosa", "setosa", "virginica"], [2, 2, 0]),  # label names need not be numbers
    ],
)
def test_ari_edge_cases_match_scikit_learn(a: list, b: list) -> None:
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


def test_ari_of_large_labellings_has_no_overflow() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=300_000)
    b = np.where(rng.random(a.size) < 0.9, a, rng.integers(0, 3, size=a.size))
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), rel=1e-12)


def test_contingency_table_matches_pandas_crosstab() -> None:
    rng = np.random.default_rng(1)
    a = rng.choice(["x", "y", "z"], size=500)
    b = rng.integers(0, 4, size=500)
    table, rows, columns = contingency_table(a, b)
    expected = pd.crosstab(a, b)
    np.testing.assert_array_equal(table, expected.to_numpy())
    assert list(rows) == list(expected.index)
    assert list(columns) == list(expected.columns)
    assert table.sum() == 500


def test_contingency_table_refuses_different_lengths() -> None:
    with pytest.raises(ValueError, match="must match"):
        contingency_table([0, 1], [0])
