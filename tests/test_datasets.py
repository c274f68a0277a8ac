"""Tests for gmm_core.datasets: catalogue, knob validation, synthetic truth, real files."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_core import datasets
from gmm_core.datasets import Dataset, DatasetSpec, Knob

SYNTHETIC = [
    "two_gaussians_1d",
    "three_gaussians_1d",
    "calm_and_crisis_returns",
    "blobs",
    "anisotropic",
    "unequal_sizes",
    "two_moons",
    "rings",
]
REAL = ["old_faithful", "galaxies", "iris", "penguins"]
GAUSSIAN = SYNTHETIC[:6]
NON_GAUSSIAN = ["two_moons", "rings"]
MISSING = {"", "NA"}


def raw_rows(filename: str) -> list[dict[str, str]]:
    """The rows of a shipped CSV file, read independently of the code under test."""
    text = (resources.files("gmm_core.datasets") / "data" / filename).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def nearest_distance(points: np.ndarray) -> float:
    """Smallest distance between two rows of ``points`` (shape (K, D))."""
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(points, 2))


def class_means(data: Dataset) -> np.ndarray:
    """Empirical mean of each labelled class, shape (L, D)."""
    return np.array([data.X[data.labels == k].mean(axis=0) for k in range(len(data.label_names))])


# --------------------------------------------------------------------------- catalogue
def test_list_datasets_is_the_catalogue_synthetic_first() -> None:
    assert datasets.list_datasets() == SYNTHETIC + REAL
    assert datasets.list_datasets(n_features=1) == [
        "two_gaussians_1d",
        "three_gaussians_1d",
        "calm_and_crisis_returns",
        "galaxies",
    ]
    two_d = datasets.list_datasets(n_features=2)
    assert set(two_d) | set(datasets.list_datasets(n_features=1)) == set(SYNTHETIC + REAL)
    assert all(datasets.describe(name).n_features == 2 for name in two_d)


def test_list_datasets_rejects_other_dimensions() -> None:
    with pytest.raises(ValueError, match="n_features must be 1, 2 or None"):
        datasets.list_datasets(n_features=3)


@pytest.mark.parametrize("name", SYNTHETIC + REAL)
def test_spec_is_well_formed(name: str) -> None:
    spec = datasets.describe(name)
    assert isinstance(spec, DatasetSpec)
    assert spec.name == name
    assert spec.n_features in (1, 2)
    assert spec.kind == ("synthetic" if name in SYNTHETIC else "real")
    assert spec.title
    assert spec.description
    assert 1 <= spec.suggested_k <= 10
    names = [knob.name for knob in spec.knobs]
    assert len(names) == len(set(names))
    for knob in spec.knobs:
        numbers = (knob.default, knob.min, knob.max, knob.step)
        kind = type(knob.default)
        assert kind in (int, float)
        assert all(type(value) is kind for value in numbers), knob
        assert knob.min <= knob.default <= knob.max
        assert 0 < knob.step <= knob.max - knob.min
        assert knob.label
        assert knob.help
    if spec.kind == "real":
        assert spec.knobs == ()
    else:
        knobs = {knob.name: knob for knob in spec.knobs}
        assert (knobs["n_samples"].min, knobs["n_samples"].max) == (10, 200_000)
        assert (knobs["seed"].min, knobs["seed"].max) == (0, 2**31 - 1)
        assert type(knobs["n_samples"].default) is int


def test_public_types_are_frozen() -> None:
    spec = datasets.describe("blobs")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.knobs[0].default = 3  # type: ignore[misc]
    data = datasets.load("iris")
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.X = np.zeros((2, 2))  # type: ignore[misc]
    assert isinstance(spec.knobs[0], Knob)


# --------------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", SYNTHETIC + REAL)
def test_every_dataset_loads_with_defaults(name: str) -> None:
    spec = datasets.describe(name)
    data = datasets.load(name)
    n = data.X.shape[0]
    assert data.name == name
    assert data.X.dtype == np.float64
    assert data.X.ndim == 2
    assert data.X.shape[1] == spec.n_features
    assert len(data.feature_names) == spec.n_features
    assert np.all(np.isfinite(data.X))
    assert not data.X.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        data.X[0, 0] = 1.0
    assert data.description.startswith(spec.description)
    if spec.kind == "synthetic":
        assert n == next(k.default for k in spec.knobs if k.name == "n_samples")
        assert data.source.startswith("synthetic: ")
        assert data.labels is not None
    if data.labels is not None:
        assert data.labels.shape == (n,)
        assert np.issubdtype(data.labels.dtype, np.integer)
        assert not data.labels.flags.writeable
        assert data.label_names is not None
        assert set(np.unique(data.labels)) <= set(range(len(data.label_names)))
    if data.true_params is not None:
        assert data.true_params.n_features == spec.n_features
        assert data.true_params.n_components == len(data.label_names)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_seed_reproduces_and_different_seeds_differ(name: str) -> None:
    first = datasets.load(name, seed=7, n_samples=300)
    again = datasets.load(name, seed=7, n_samples=300)
    other = datasets.load(name, seed=8, n_samples=300)
    np.testing.assert_array_equal(first.X, again.X)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not np.array_equal(first.X, other.X)
    if first.true_params is not None:
        # The truth depends on the knobs, never on the seed.
        assert first.true_params.allclose(other.true_params, rtol=0.0)


@pytest.mark.parametrize("name", SYNTHETIC)
@pytest.mark.parametrize("n_samples", [10, 11, 1001])
def test_n_samples_honoured_exactly(name: str, n_samples: int) -> None:
    data = datasets.load(name, n_samples=n_samples)
    assert data.X.shape == (n_samples, datasets.describe(name).n_features)
    assert data.labels.shape == (n_samples,)


@pytest.mark.parametrize("name", GAUSSIAN)
def test_rows_are_shuffled_not_grouped_by_component(name: str) -> None:
    labels = datasets.load(name, n_samples=2000).labels
    assert np.any(np.diff(labels) < 0)  # sample() returns grouped rows; load() shuffles them


def test_missing_knobs_take_their_defaults() -> None:
    spec = datasets.describe("blobs")
    defaults = {knob.name: knob.default for knob in spec.knobs}
    implicit = datasets.load("blobs", separation=5.5)
    explicit = datasets.load("blobs", **{**defaults, "separation": 5.5})
    np.testing.assert_array_equal(implicit.X, explicit.X)
    assert implicit.source == explicit.source
    assert "separation=5.5" in implicit.source
    assert "n_clusters=3" in implicit.source


def test_knob_bounds_are_inclusive_and_whole_floats_accepted() -> None:
    assert datasets.load("blobs", n_clusters=5, n_samples=10).true_params.n_components == 5
    assert datasets.load("blobs", n_clusters=2.0, seed=2**31 - 1).true_params.n_components == 2
    assert datasets.load("two_gaussians_1d", separation=0).X.shape == (500, 1)
    assert datasets.load("rings", n_samples=np.int64(200_000)).X.shape == (200_000, 2)


# --------------------------------------------------------------------------- validation
def test_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="Unknown data set 'faithful'") as info:
        datasets.load("faithful")
    for name in SYNTHETIC + REAL:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="Choose one of"):
        datasets.describe("nope")


def test_unknown_knob_names_the_valid_knobs() -> None:
    with pytest.raises(ValueError, match="'blobs'") as info:
        datasets.load("blobs", n_components=3)
    message = str(info.value)
    assert "n_components" in message
    for knob in datasets.describe("blobs").knobs:
        assert knob.name in message
    with pytest.raises(ValueError, match="Unknown knob.*seed.*'iris'"):
        datasets.load("iris", seed=1)


@pytest.mark.parametrize(
    ("name", "knob", "value", "range_text"),
    [
        ("blobs", "n_samples", 9, "between 10 and 200000"),
        ("blobs", "n_samples", 200_001, "between 10 and 200000"),
        ("rings", "seed", -1, f"between 0 and {2**31 - 1}"),
        ("blobs", "n_clusters", 6, "between 2 and 5"),
        ("two_gaussians_1d", "separation", -0.1, "between 0.0 and 10.0"),
        ("calm_and_crisis_returns", "crisis_weight", 0.9, "between 0.01 and 0.5"),
        ("anisotropic", "anisotropy", 0.5, "between 1.0 and 20.0"),
    ],
)
def test_out_of_range_knob_says_the_range(
    name: str, knob: str, value: float, range_text: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(range_text)) as info:
        datasets.load(name, **{knob: value})
    assert repr(knob) in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.5, "must be a whole number"),
        ("3", "must be a number"),
        (True, "must be a number"),
        (None, "must be a number"),
        (float("nan"), "must be a finite number"),
    ],
)
def test_bad_knob_types_are_refused(value: object, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        datasets.load("blobs", n_clusters=value)


def test_float_knob_refuses_infinity() -> None:
    with pytest.raises(ValueError, match="finite"):
        datasets.load("blobs", separation=float("inf"))


@settings(max_examples=25, deadline=None)
@given(data=st.data(), name=st.sampled_from(SYNTHETIC))
def test_any_in_range_knobs_give_finite_data(data: st.DataObject, name: str) -> None:
    knobs = {}
    for knob in datasets.describe(name).knobs:
        if knob.name == "n_samples":
            knobs[knob.name] = data.draw(st.integers(10, 500))
        elif isinstance(knob.default, int):
            knobs[knob.name] = data.draw(st.integers(knob.min, knob.max))
        else:
            knobs[knob.name] = data.draw(st.floats(knob.min, knob.max))
    loaded = datasets.load(name, **knobs)
    assert loaded.X.shape == (knobs["n_samples"], datasets.describe(name).n_features)
    assert np.all(np.isfinite(loaded.X))


# --------------------------------------------------------------------------- synthetic truth
@pytest.mark.parametrize("name", GAUSSIAN)
def test_true_params_match_a_large_sample(name: str) -> None:
    n = 100_000
    data = datasets.load(name, n_samples=n, seed=3)
    params = data.true_params
    assert params is not None
    assert params.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(params.weights > 0)
    counts = np.bincount(data.labels, minlength=params.n_components)
    # Label proportions: within 5 binomial standard errors of the weights.
    se = np.sqrt(params.weights * (1 - params.weights) / n)
    assert np.all(np.abs(counts / n - params.weights) < 5 * se)
    for k in range(params.n_components):
        points = data.X[data.labels == k]
        sd = np.sqrt(np.diag(params.covariances[k]))
        assert np.all(np.abs(points.mean(axis=0) - params.means[k]) < 5 * sd / np.sqrt(len(points)))
        empirical_cov = np.atleast_2d(np.cov(points, rowvar=False))
        np.testing.assert_allclose(empirical_cov, params.covariances[k], atol=0.05 * sd.max() ** 2)
    overall = (params.weights[:, None] * params.means).sum(axis=0)
    spread = np.sqrt(np.diag(np.atleast_2d(np.cov(data.X, rowvar=False))))
    assert np.all(np.abs(data.X.mean(axis=0) - overall) < 5 * spread / np.sqrt(n))


def test_calm_and_crisis_defaults_are_a_same_mean_scale_mixture() -> None:
    params = datasets.load("calm_and_crisis_returns").true_params
    np.testing.assert_allclose(params.means, [[0.05], [0.05]])
    np.testing.assert_allclose(np.sqrt(params.covariances[:, 0, 0]), [0.8, 3.0])
    np.testing.assert_allclose(params.weights, [0.85, 0.15])
    heavier = datasets.load("calm_and_crisis_returns", crisis_weight=0.3, crisis_sd=5.0)
    np.testing.assert_allclose(heavier.true_params.weights, [0.7, 0.3])
    assert heavier.true_params.covariances[1, 0, 0] == pytest.approx(25.0)
    assert heavier.label_names == ("calm", "crisis")


@pytest.mark.parametrize("name", ["two_gaussians_1d", "three_gaussians_1d", "blobs"])
def test_separation_is_the_distance_between_neighbouring_means(name: str) -> None:
    for separation in (2.0, 6.0):
        data = datasets.load(name, separation=separation, n_samples=60_000, seed=1)
        assert nearest_distance(data.true_params.means) == pytest.approx(separation)
        assert nearest_distance(class_means(data)) == pytest.approx(separation, abs=0.1)


def test_unequal_sizes_centres_sit_on_a_triangle_of_side_separation() -> None:
    means = datasets.load("unequal_sizes", separation=7.0).true_params.means
    sides = [np.linalg.norm(a - b) for a, b in itertools.combinations(means, 2)]
    np.testing.assert_allclose(sides, [7.0, 7.0, 7.0])


def test_anisotropic_separation_is_the_gap_across_the_clusters() -> None:
    across = np.array([-1.0, 1.0]) / np.sqrt(2.0)  # the short axis, perpendicular to 45 degrees
    for separation in (1.0, 3.0):
        data = datasets.load("anisotropic", separation=separation, n_samples=60_000)
        gaps = np.diff(class_means(data) @ across)
        np.testing.assert_allclose(gaps, [separation, separation], atol=0.05)


@pytest.mark.parametrize(
    "name", ["two_gaussians_1d", "three_gaussians_1d", "blobs", "anisotropic", "unequal_sizes"]
)
def test_separation_knob_changes_spread_between_means(name: str) -> None:
    near = class_means(datasets.load(name, separation=1.0, n_samples=20_000))
    far = class_means(datasets.load(name, separation=8.0, n_samples=20_000))
    assert nearest_distance(far) > nearest_distance(near) + 2.0


@pytest.mark.parametrize("anisotropy", [1.0, 4.0, 16.0])
@pytest.mark.parametrize("name", ["blobs", "anisotropic"])
def test_anisotropy_is_the_long_to_short_sd_ratio(name: str, anisotropy: float) -> None:
    data = datasets.load(name, anisotropy=anisotropy, n_samples=40_000)
    for k, cov in enumerate(data.true_params.covariances):
        eigenvalues = np.linalg.eigvalsh(cov)
        assert np.sqrt(eigenvalues[1] / eigenvalues[0]) == pytest.approx(anisotropy)
        assert np.linalg.det(cov) == pytest.approx(1.0)
        empirical = np.linalg.eigvalsh(np.cov(data.X[data.labels == k], rowvar=False))
        assert np.sqrt(empirical[1] / empirical[0]) == pytest.approx(anisotropy, rel=0.05)


@pytest.mark.parametrize(
    "name", ["two_gaussians_1d", "three_gaussians_1d", "blobs", "anisotropic", "unequal_sizes"]
)
@pytest.mark.parametrize("imbalance", [1.0, 3.0, 12.0])
def test_imbalance_is_the_largest_to_smallest_weight_ratio(name: str, imbalance: float) -> None:
    data = datasets.load(name, imbalance=imbalance, n_samples=50_000)
    weights = data.true_params.weights
    assert weights.max() / weights.min() == pytest.approx(imbalance)
    counts = np.bincount(data.labels)
    assert counts.max() / counts.min() == pytest.approx(imbalance, rel=0.15)


@pytest.mark.parametrize("n_clusters", [2, 3, 4, 5])
def test_blobs_has_n_clusters_components(n_clusters: int) -> None:
    data = datasets.load("blobs", n_clusters=n_clusters, n_samples=2000)
    assert data.true_params.n_components == n_clusters
    assert len(data.label_names) == n_clusters
    assert set(np.unique(data.labels)) == set(range(n_clusters))


def test_unequal_sizes_pairs_the_widest_cluster_with_the_largest_weight() -> None:
    params = datasets.load("unequal_sizes").true_params
    sds = np.sqrt(params.covariances[:, 0, 0])
    np.testing.assert_allclose(sds, [2.0, 1.0, 0.5])
    assert np.all(np.diff(params.weights) < 0)


@pytest.mark.parametrize("name", NON_GAUSSIAN)
def test_non_gaussian_sets_have_labels_but_no_true_params(name: str) -> None:
    data = datasets.load(name, n_samples=101)
    assert data.true_params is None
    np.testing.assert_array_equal(np.bincount(data.labels), [50, 51])


def test_two_moons_without_noise_lie_on_their_half_circles() -> None:
    data = datasets.load("two_moons", noise=0.0, n_samples=400)
    first, second = data.X[data.labels == 0], data.X[data.labels == 1]
    np.testing.assert_allclose(np.hypot(*first.T), 1.0)
    assert np.all(first[:, 1] >= 0)
    np.testing.assert_allclose(np.hypot(second[:, 0] - 1.0, second[:, 1] - 0.5), 1.0)
    assert np.all(second[:, 1] <= 0.5)


def test_rings_without_noise_have_radius_one_and_inner_radius() -> None:
    data = datasets.load("rings", noise=0.0, inner_radius=0.3, n_samples=400)
    radii = np.hypot(*data.X.T)
    np.testing.assert_allclose(radii[data.labels == 0], 1.0)
    np.testing.assert_allclose(radii[data.labels == 1], 0.3)
    assert data.label_names == ("outer ring", "inner ring")


# --------------------------------------------------------------------------- real data
def test_old_faithful_is_the_raw_file() -> None:
    rows = raw_rows("old_faithful.csv")
    data = datasets.load("old_faithful")
    assert data.X.shape == (272, 2) == (len(rows), 2)
    expected = [[float(r["eruptions"]), float(r["waiting"])] for r in rows]
    np.testing.assert_array_equal(data.X, expected)
    assert data.labels is None
    assert data.label_names is None
    assert data.true_params is None
    assert all("(min)" in name for name in data.feature_names)


def test_galaxies_are_the_raw_velocities_divided_by_1000() -> None:
    raw = np.array([float(r["velocity"]) for r in raw_rows("galaxies.csv")])
    data = datasets.load("galaxies")
    assert data.X.shape == (82, 1)
    np.testing.assert_array_equal(data.X[:, 0], raw / 1000)
    assert "1000 km/s" in data.feature_names[0]
    assert "1000" in data.description
    assert data.labels is None


def test_iris_is_petal_length_by_width_with_species_labels() -> None:
    rows = raw_rows("iris.csv")
    data = datasets.load("iris")
    assert data.label_names == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(np.bincount(data.labels), [50, 50, 50])
    np.testing.assert_array_equal(
        data.X, [[float(r["petal_length"]), float(r["petal_width"])] for r in rows]
    )
    assert [data.label_names[k] for k in data.labels] == [r["species"] for r in rows]
    assert data.feature_names == ("petal length (cm)", "petal width (cm)")


def test_penguins_drop_and_count_rows_with_missing_bills() -> None:
    rows = raw_rows("penguins.csv")
    assert len(rows) == 344
    columns = ("bill_length_mm", "bill_depth_mm")
    complete = [r for r in rows if not any(r[c].strip() in MISSING for c in columns)]
    dropped = len(rows) - len(complete)
    assert dropped > 0
    data = datasets.load("penguins")
    assert data.X.shape == (344 - dropped, 2)
    assert f"{dropped} of the 344 rows" in data.description
    assert f"leaving {344 - dropped}" in data.description
    np.testing.assert_array_equal(data.X, [[float(r[c]) for c in columns] for r in complete])
    assert data.label_names == ("Adelie", "Chinstrap", "Gentoo")
    assert [data.label_names[k] for k in data.labels] == [r["species"] for r in complete]
    assert data.feature_names == ("bill length (mm)", "bill depth (mm)")


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("old_faithful", "datasets::faithful"),
        ("galaxies", "MASS::galaxies"),
        ("iris", "datasets::iris"),
        ("penguins", "palmerpenguins"),
    ],
)
def test_real_source_quotes_the_provenance(name: str, reference: str) -> None:
    source = datasets.load(name).source
    assert reference in source
    assert f"{name}.csv" in source


def test_real_arrays_are_cached_and_cannot_be_corrupted() -> None:
    first = datasets.load("penguins")
    assert datasets.load("penguins").X is first.X
    with pytest.raises(ValueError, match="read-only"):
        first.labels[0] = 2
    with pytest.raises(ValueError, match="read-only"):
        np.copyto(first.X, 0.0)


def test_datasets_import_neither_pandas_nor_ui_libraries() -> None:
    code = (
        "import sys; from gmm_core import datasets; "
        "[datasets.load(n) for n in datasets.list_datasets()]; "
        "print(sorted({'pandas', 'streamlit', 'plotly', 'sklearn'} & set(sys.modules)))"
    )
    root = Path(datasets.__file__).parents[2]  # the directory holding gmm_core
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    ).stdout
    assert out.strip() == "[]"
