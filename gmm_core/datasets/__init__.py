"""Data sets for learning Gaussian mixtures: seeded synthetic ones and four classic real ones.

>>> from gmm_core import datasets
>>> datasets.list_datasets(n_features=1)
['two_gaussians_1d', 'three_gaussians_1d', 'calm_and_crisis_returns', 'galaxies']
>>> data = datasets.load("blobs", n_samples=300, seed=1, separation=5.0)
>>> data.X.shape, data.true_params.n_components
((300, 2), 3)

Every data set is described by a :class:`DatasetSpec` (:func:`describe`) whose
:class:`Knob` entries are the keyword arguments :func:`load` accepts, with their
defaults and ranges; a user interface can build its controls from them.
Synthetic data sets are reproducible: all randomness is drawn from
``numpy.random.default_rng(seed)``. Gaussian-mixture ones carry the generating
mixture in :attr:`Dataset.true_params`, and the generating component of each
point in :attr:`Dataset.labels`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gmm_core._params import GMMParams
from gmm_core.datasets import _real, _synthetic

__all__ = ["Dataset", "DatasetSpec", "Knob", "describe", "list_datasets", "load"]


# --------------------------------------------------------------------------- public types
@dataclass(frozen=True)
class Knob:
    """One user-adjustable generation parameter of a data set.

    Attributes
    ----------
    name : str
        Keyword passed to :func:`load`, e.g. ``"n_samples"``.
    label : str
        Human label for a slider, e.g. ``"Points (N)"``.
    default, min, max, step : int or float
        Default value, inclusive range and a sensible slider step. Integer knobs
        have int values throughout, float knobs float values.
    help : str
        One sentence for a tooltip.
    """

    name: str
    label: str
    default: float | int
    min: float | int
    max: float | int
    step: float | int
    help: str

    @property
    def is_integer(self) -> bool:
        """True for a whole-number knob (its default is an ``int``)."""
        return isinstance(self.default, int)


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and which knobs :func:`load` accepts for it.

    Attributes
    ----------
    name : str
        Stable identifier, e.g. ``"blobs"``.
    title : str
        Display title, e.g. ``"Blobs (2-D)"``.
    n_features : int
        Dimension D of the data, 1 or 2.
    kind : str
        ``"synthetic"`` or ``"real"``.
    description : str
        One to three sentences for a teacher: what it is and what it teaches.
    knobs : tuple of Knob
        The generation parameters (empty for real data sets).
    suggested_k : int
        A sensible default number of components.
    """

    name: str
    title: str
    n_features: int
    kind: str
    description: str
    knobs: tuple[Knob, ...]
    suggested_k: int


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set.

    Attributes
    ----------
    X : ndarray, shape (N, D)
        The data, float64 and read-only.
    name : str
        The data set's identifier.
    feature_names : tuple of str
        Length D, with units where known.
    description : str
        What the data are (for real data: also how many rows were dropped, if any).
    source : str
        Provenance of a real data set, or ``"synthetic: <generator>(<knobs>)"``.
    labels : ndarray, shape (N,), or None
        Read-only int64 class of each row: the species for real data, the
        generating component (or shape) for synthetic data.
    label_names : tuple of str, or None
        ``label_names[j]`` names label ``j``.
    true_params : GMMParams or None
        The generating mixture (synthetic Gaussian mixtures only); component ``k``
        of it generated the rows with ``labels == k``.
    """

    X: np.ndarray
    name: str
    feature_names: tuple[str, ...]
    description: str
    source: str
    labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    true_params: GMMParams | None


# --------------------------------------------------------------------------- knobs
def _n_samples(default: int) -> Knob:
    return Knob("n_samples", "Points (N)", default, 10, 200_000, 10, "How many points to draw.")


_SEED = Knob(
    "seed",
    "Random seed",
    0,
    0,
    2**31 - 1,
    1,
    "The same seed gives the same points; change it to draw a fresh sample of the same mixture.",
)


def _separation(default: float, help: str) -> Knob:
    return Knob("separation", "Separation", default, 0.0, 10.0, 0.1, help)


def _anisotropy(default: float) -> Knob:
    return Knob(
        "anisotropy",
        "Anisotropy (long : short axis)",
        default,
        1.0,
        20.0,
        0.5,
        "Ratio of each cluster's longest to shortest standard deviation; 1 gives round clusters.",
    )


def _imbalance(default: float, maximum: float = 20.0) -> Knob:
    return Knob(
        "imbalance",
        "Imbalance (largest : smallest weight)",
        default,
        1.0,
        maximum,
        0.5,
        "How many times more points the largest component gets than the smallest; 1 is equal.",
    )


def _noise(default: float) -> Knob:
    return Knob(
        "noise",
        "Noise (sd)",
        default,
        0.0,
        0.5,
        0.01,
        "Standard deviation of the Gaussian jitter added to every point.",
    )


# --------------------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class _Synthetic:
    spec: DatasetSpec
    generate: Callable[..., _synthetic.Generated]
    feature_names: tuple[str, ...]
    label_names: Callable[[dict[str, Any]], tuple[str, ...]]


@dataclass(frozen=True)
class _Real:
    spec: DatasetSpec
    filename: str
    columns: tuple[str, ...]
    feature_names: tuple[str, ...]
    label_column: str | None = None
    scale: float = 1.0


def _components(n: int) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    return lambda _knobs: tuple(f"component {k + 1}" for k in range(n))


def _fixed(*names: str) -> Callable[[dict[str, Any]], tuple[str, ...]]:
    return lambda _knobs: names


_X2 = ("x1", "x2")

_CATALOGUE: tuple[_Synthetic | _Real, ...] = (
    _Synthetic(
        DatasetSpec(
            "two_gaussians_1d",
            "Two Gaussians (1-D)",
            1,
            "synthetic",
            "Two bell curves of equal width (sd 1) on a line, `separation` standard deviations "
            "apart. Below a separation of 2 (equal weights) the histogram has a single hump, yet "
            "it is still a mixture of two: the classic first example of EM.",
            (
                _n_samples(500),
                _SEED,
                _separation(4.0, "Distance between the two means, in standard deviations."),
                _imbalance(1.0),
            ),
            2,
        ),
        _synthetic.two_gaussians_1d,
        ("x",),
        _components(2),
    ),
    _Synthetic(
        DatasetSpec(
            "three_gaussians_1d",
            "Three Gaussians (1-D)",
            1,
            "synthetic",
            "Three Gaussians on a line with slightly different widths (sd 0.8, 1 and 1.2), "
            "neighbouring means `separation` apart. Good for watching EM share points between "
            "overlapping components, and for choosing K with BIC.",
            (
                _n_samples(600),
                _SEED,
                _separation(3.5, "Distance between neighbouring means, in units of the middle sd."),
                _imbalance(1.0),
            ),
            3,
        ),
        _synthetic.three_gaussians_1d,
        ("x",),
        _components(3),
    ),
    _Synthetic(
        DatasetSpec(
            "calm_and_crisis_returns",
            "Calm and crisis returns (1-D)",
            1,
            "synthetic",
            "Simulated daily stock returns in percent: most days are calm (sd 0.8 %), a few are "
            "crisis days (sd 3 % by default), and both regimes have the same mean, 0.05 %. The "
            "histogram is one peak with heavy tails, and a two-component mixture explains it: "
            "mixtures model shapes, not only separated clusters.",
            (
                _n_samples(2520),
                _SEED,
                Knob(
                    "crisis_weight",
                    "Share of crisis days",
                    0.15,
                    0.01,
                    0.5,
                    0.01,
                    "Mixing weight of the wide crisis component (the calm one gets the rest).",
                ),
                Knob(
                    "crisis_sd",
                    "Crisis volatility (sd, %)",
                    3.0,
                    1.0,
                    6.0,
                    0.1,
                    "Standard deviation of crisis-day returns; calm days have 0.8 %.",
                ),
            ),
            2,
        ),
        _synthetic.calm_and_crisis_returns,
        ("daily return (%)",),
        _fixed("calm", "crisis"),
    ),
    _Synthetic(
        DatasetSpec(
            "blobs",
            "Blobs (2-D)",
            2,
            "synthetic",
            "Two to five clusters on a regular polygon, neighbouring centres `separation` "
            "cluster standard deviations apart, optionally stretched and unequally weighted. The "
            "friendly case: well separated, EM recovers the truth from almost any start.",
            (
                _n_samples(600),
                _SEED,
                Knob("n_clusters", "Clusters", 3, 2, 5, 1, "Number of clusters in the mixture."),
                _separation(4.0, "Distance between neighbouring centres, in cluster sds."),
                _anisotropy(1.0),
                _imbalance(1.0),
            ),
            3,
        ),
        _synthetic.blobs,
        _X2,
        lambda knobs: tuple(f"component {k + 1}" for k in range(knobs["n_clusters"])),
    ),
    _Synthetic(
        DatasetSpec(
            "anisotropic",
            "Anisotropic (2-D)",
            2,
            "synthetic",
            "Three long, thin, parallel clusters tilted at 45 degrees, staggered like a "
            "staircase. k-means (and a diagonal or spherical GMM) cuts across them; a "
            "full-covariance GMM finds them.",
            (
                _n_samples(600),
                _SEED,
                _separation(
                    2.0,
                    "Gap between neighbouring clusters measured across them (a round "
                    "cluster has sd 1).",
                ),
                _anisotropy(9.0),
                _imbalance(1.0),
            ),
            3,
        ),
        _synthetic.anisotropic,
        _X2,
        _components(3),
    ),
    _Synthetic(
        DatasetSpec(
            "unequal_sizes",
            "Unequal sizes (2-D)",
            2,
            "synthetic",
            "Three round clusters with very different spreads (sd 2, 1 and 0.5) and weights, "
            "the widest also the most frequent. Shows why weights and per-component covariances "
            "matter: a nearest-centre rule gives the small clusters too many points.",
            (
                _n_samples(600),
                _SEED,
                _separation(6.0, "Side of the triangle on which the three centres sit."),
                _imbalance(10.0, 50.0),
            ),
            3,
        ),
        _synthetic.unequal_sizes,
        _X2,
        _components(3),
    ),
    _Synthetic(
        DatasetSpec(
            "two_moons",
            "Two moons (2-D, non-Gaussian)",
            2,
            "synthetic",
            "Two interleaving half circles. Not a Gaussian mixture: with K = 2 a GMM splits "
            "the moons wrongly, and a good fit needs several components per moon, because a GMM "
            "models density, not arbitrary cluster shapes.",
            (_n_samples(500), _SEED, _noise(0.08)),
            2,
        ),
        _synthetic.two_moons,
        _X2,
        _fixed("moon 1", "moon 2"),
    ),
    _Synthetic(
        DatasetSpec(
            "rings",
            "Concentric rings (2-D, non-Gaussian)",
            2,
            "synthetic",
            "Two concentric rings. Not a Gaussian mixture: no ellipse fits a ring, so the "
            "components tile the rings instead of finding them.",
            (
                _n_samples(600),
                _SEED,
                _noise(0.05),
                Knob(
                    "inner_radius",
                    "Inner radius",
                    0.4,
                    0.1,
                    0.9,
                    0.05,
                    "Radius of the inner ring; the outer ring has radius 1.",
                ),
            ),
            2,
        ),
        _synthetic.rings,
        _X2,
        _fixed("outer ring", "inner ring"),
    ),
    _Real(
        DatasetSpec(
            "old_faithful",
            "Old Faithful (2-D)",
            2,
            "real",
            "Eruption duration and waiting time to the next eruption of the Old Faithful geyser "
            "(Yellowstone), 272 eruptions. Two clear, tilted groups, short-and-soon and "
            "long-and-later: the classic 2-D example of EM (Bishop, PRML section 9.2).",
            (),
            2,
        ),
        "old_faithful.csv",
        ("eruptions", "waiting"),
        ("eruption duration (min)", "waiting time to next eruption (min)"),
    ),
    _Real(
        DatasetSpec(
            "galaxies",
            "Galaxies (1-D)",
            1,
            "real",
            "Velocities of 82 galaxies in the Corona Borealis region, in 1000 km/s (the file's "
            "km/s divided by 1000). A few separated groups and some stragglers: a classic 1-D "
            "data set for choosing K.",
            (),
            3,
        ),
        "galaxies.csv",
        ("velocity",),
        ("velocity (1000 km/s)",),
        scale=1000.0,
    ),
    _Real(
        DatasetSpec(
            "iris",
            "Iris petals (2-D)",
            2,
            "real",
            "Petal length and petal width of 150 iris flowers, 50 of each of three species. "
            "Setosa stands apart; versicolor and virginica overlap, so an unsupervised GMM "
            "disagrees with the species on a few flowers.",
            (),
            3,
        ),
        "iris.csv",
        ("petal_length", "petal_width"),
        ("petal length (cm)", "petal width (cm)"),
        label_column="species",
    ),
    _Real(
        DatasetSpec(
            "penguins",
            "Palmer penguins bills (2-D)",
            2,
            "real",
            "Bill length and bill depth of Palmer Archipelago penguins, three species. Within "
            "each species longer bills are deeper, yet across all penguins the trend reverses: "
            "a mixture captures what a single Gaussian cannot.",
            (),
            3,
        ),
        "penguins.csv",
        ("bill_length_mm", "bill_depth_mm"),
        ("bill length (mm)", "bill depth (mm)"),
        label_column="species",
    ),
)

_BY_NAME: dict[str, _Synthetic | _Real] = {entry.spec.name: entry for entry in _CATALOGUE}


# --------------------------------------------------------------------------- public functions
def list_datasets(n_features: int | None = None) -> list[str]:
    """Names of the available data sets, synthetic first, in a stable order.

    Parameters
    ----------
    n_features : int or None
        Only data sets of this dimension (1 or 2); all of them if None.

    Returns
    -------
    list of str
    """
    if n_features is not None and n_features not in (1, 2):
        raise ValueError(f"n_features must be 1, 2 or None; got {n_features!r}.")
    return [
        entry.spec.name
        for entry in _CATALOGUE
        if n_features is None or entry.spec.n_features == n_features
    ]


def describe(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of data set ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not a known data set; the message lists the valid names.
    """
    return _entry(name).spec


def load(name: str, **knobs: float) -> Dataset:
    """Load data set ``name``, generating it from ``knobs`` if it is synthetic.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.
    **knobs : int or float
        Generation parameters, as listed in ``describe(name).knobs``; missing ones
        take their defaults. Real data sets take none.

    Returns
    -------
    Dataset
        ``X`` has shape (N, D) with D = ``describe(name).n_features``; for a
        synthetic set N = ``n_samples``.

    Raises
    ------
    ValueError
        For an unknown name or knob, a knob value that is not a number (or not a
        whole number for an integer knob), or one outside its range; the message
        says what is allowed.
    """
    entry = _entry(name)
    values = _checked_knobs(entry.spec, knobs)
    if isinstance(entry, _Real):
        return _load_real(entry)
    return _load_synthetic(entry, values)


# --------------------------------------------------------------------------- helpers
def _entry(name: str) -> _Synthetic | _Real:
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown data set {name!r}. Choose one of: {', '.join(_BY_NAME)}."
        ) from None


def _checked_knobs(spec: DatasetSpec, given: dict[str, Any]) -> dict[str, int | float]:
    by_name = {knob.name: knob for knob in spec.knobs}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        valid = ", ".join(by_name) if by_name else "none (it is real data, loaded as is)"
        raise ValueError(
            f"Unknown knob(s) {', '.join(unknown)} for data set {spec.name!r}. "
            f"Valid knobs: {valid}."
        )
    return {
        knob.name: _checked_value(spec.name, knob, given.get(knob.name, knob.default))
        for knob in spec.knobs
    }


def _checked_value(dataset: str, knob: Knob, value: Any) -> int | float:
    where = f"Knob {knob.name!r} of data set {dataset!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{where} must be a number; got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number; got {value!r}.")
    if knob.is_integer:
        if value != int(value):
            raise ValueError(f"{where} must be a whole number; got {value!r}.")
        value = int(value)
    else:
        value = float(value)
    if not knob.min <= value <= knob.max:
        raise ValueError(
            f"{where} must be between {knob.min} and {knob.max} (inclusive); got {value!r}."
        )
    return value


def _load_synthetic(entry: _Synthetic, values: dict[str, int | float]) -> Dataset:
    rng = np.random.default_rng(values["seed"])
    generator_args = {key: value for key, value in values.items() if key != "seed"}
    X, labels, params = entry.generate(rng, **generator_args)
    X = np.ascontiguousarray(X, dtype=np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    X.setflags(write=False)
    labels.setflags(write=False)
    call = ", ".join(f"{key}={value!r}" for key, value in values.items())
    return Dataset(
        X=X,
        name=entry.spec.name,
        feature_names=entry.feature_names,
        description=entry.spec.description,
        source=f"synthetic: gmm_core.datasets.load({entry.spec.name!r}, {call})",
        labels=labels,
        label_names=entry.label_names(values),
        true_params=params,
    )


def _load_real(entry: _Real) -> Dataset:
    table = _real.read_table(entry.filename, entry.columns, entry.label_column, entry.scale)
    n_kept = table.X.shape[0]
    if table.n_dropped:
        rows = (
            f"{table.n_dropped} of the {table.n_rows_in_file} rows of {entry.filename} have "
            f"no value for {' or '.join(entry.columns)} and were dropped, leaving {n_kept}."
        )
    else:
        rows = f"All {n_kept} rows of {entry.filename} are used."
    return Dataset(
        X=table.X,
        name=entry.spec.name,
        feature_names=entry.feature_names,
        description=f"{entry.spec.description} {rows}",
        source=f"{_real.provenance(entry.filename)} (gmm_core/datasets/data/{entry.filename})",
        labels=table.labels,
        label_names=table.label_names,
        true_params=None,
    )
