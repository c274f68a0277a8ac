"""Session state: the ONLY module that reads or writes ``st.session_state``.

Two kinds of state live here.

* :class:`Settings` - a plain, serialisable dataclass holding everything a
  stepper page's view depends on (data set and knobs, K, covariance type,
  initialisation, manual means, seed, ``reg_covar``, tolerance, maximum
  iterations, current half-step). It round-trips through the URL
  (:meth:`Settings.to_query` / :meth:`Settings.from_query`), so a view can be
  shared as a link. The EM run itself is *derived* from it (see
  :mod:`gmm_app.engine`), never stored.
* Session keys - every key is declared in :class:`Keys` (one instance per
  stepper page) or in the module constants below. The widgets of a page use
  these keys, so the widget values *are* the settings; :func:`read_settings`
  assembles them.

User data uploaded on the "Your data" page is kept in this session only
(:func:`use_uploaded_dataset`), never in module globals or a shared cache.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import streamlit as st

from gmm_app.formatting import md_escape
from gmm_core import COVARIANCE_TYPES, INIT_METHODS, datasets

# --------------------------------------------------------------------------- constants
UPLOADED = "your-data"
"""Data-set identifier of the session's uploaded data (see :func:`use_uploaded_dataset`)."""

PAGE_PREFIX = {1: "em1d", 2: "em2d"}
DEFAULT_DATASET = {1: "three_gaussians_1d", 2: "blobs"}
COVARIANCE_CHOICES: dict[int, tuple[str, ...]] = {1: ("full", "tied"), 2: COVARIANCE_TYPES}
DEFAULT_INIT = "random_from_data"
K_MIN, K_MAX = 1, 10
SEED_MAX = 2**31 - 1
MAX_ITER_MIN, MAX_ITER_MAX = 1, 1000
TOL_MIN, TOL_MAX = 1e-12, 10.0
REG_COVAR_MAX = 10.0

# Session keys shared by all pages.
_UPLOADED_KEY = "uploaded.{n_features}"

_QUERY_NAMES = {
    "dataset": "dataset",
    "n_components": "K",
    "covariance_type": "cov",
    "init_method": "init",
    "manual_means": "means",
    "seed": "seed",
    "reg_covar": "reg_covar",
    "tol": "tol",
    "max_iter": "max_iter",
    "step": "step",
}
_KNOB_PREFIX = "d."

_FIELD_WORDS = {
    "dataset": "the data set",
    "knobs": "the data set's settings",
    "n_components": "K",
    "covariance_type": "the covariance type",
    "init_method": "the initialisation",
    "manual_means": "the starting means",
    "seed": "the seed",
    "reg_covar": "reg_covar",
    "tol": "the tolerance",
    "max_iter": "the maximum iterations",
}


# --------------------------------------------------------------------------- manual means
def parse_means(text: str, n_features: int) -> tuple[tuple[float, ...], ...]:
    """Parse typed means: numbers separated by commas, semicolons, spaces or brackets.

    In 1-D every number is a mean (``"-2, 0, 3.5"``); in 2-D the numbers are read
    in pairs (``"1, 2; 4, 5"`` or ``"(1, 2) (4, 5)"``).

    Parameters
    ----------
    text : str
    n_features : int
        D, the length of each mean.

    Returns
    -------
    tuple of tuple of float
        M means of length D each (empty for blank text).

    Raises
    ------
    ValueError
        With a message naming the offending token or the count problem.
    """
    tokens = [t for t in re.split(r"[\s,;()\[\]]+", text or "") if t]
    numbers = []
    for token in tokens:
        try:
            value = float(token.replace("\u2212", "-"))
        except ValueError:
            raise ValueError(
                f"'{token}' is not a number. Type the means as numbers separated by commas"
                + (", a semicolon between points, e.g. 1, 2; 4, 5." if n_features > 1 else ".")
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"'{token}' is not a finite number; use ordinary numbers.")
        numbers.append(value)
    if len(numbers) % n_features:
        raise ValueError(
            f"Each 2-D mean needs two numbers (x, y), but {len(numbers)} numbers were given."
        )
    return tuple(
        tuple(numbers[i : i + n_features]) for i in range(0, len(numbers), n_features)
    )


def format_means(means: Sequence[Sequence[float]]) -> str:
    """Inverse of :func:`parse_means` (``repr`` of each float, so it round-trips exactly)."""
    if not means:
        return ""
    if all(len(m) == 1 for m in means):
        return ", ".join(repr(float(m[0])) for m in means)
    return "; ".join(", ".join(repr(float(v)) for v in m) for m in means)


# --------------------------------------------------------------------------- settings
def _spec(name: str) -> datasets.DatasetSpec | None:
    try:
        return datasets.describe(name)
    except (KeyError, ValueError):
        return None


def default_knobs(dataset: str) -> dict[str, int | float]:
    """The knob defaults of a built-in data set (empty for real or uploaded data)."""
    spec = _spec(dataset)
    return {knob.name: knob.default for knob in spec.knobs} if spec else {}


@dataclass
class Settings:
    """Everything a stepper page shows is a function of these values.

    Attributes
    ----------
    n_features : int
        1 or 2: which page.
    dataset : str
        A :func:`gmm_core.datasets.list_datasets` name, or :data:`UPLOADED`.
    knobs : dict
        Keyword arguments for :func:`gmm_core.datasets.load` (the data set's knobs).
    n_components : int
        K, 1 to 10.
    covariance_type : str
        One of :data:`gmm_core.COVARIANCE_TYPES` (1-D: "full" or "tied").
    init_method : str
        One of :data:`gmm_core.INIT_METHODS`.
    manual_means : tuple of tuple of float
        Starting means for ``init_method == "manual"``.
    seed : int
        Seed of the initialisation's random generator.
    reg_covar : float
        Added to covariance diagonals (0 allowed: shows collapse).
    tol : float
        Convergence tolerance on the per-point log-likelihood change.
    max_iter : int
        Maximum number of EM iterations.
    step : int
        Index of the shown half-step (the cursor).
    """

    n_features: int
    dataset: str
    knobs: dict[str, int | float] = field(default_factory=dict)
    n_components: int = 3
    covariance_type: str = "full"
    init_method: str = DEFAULT_INIT
    manual_means: tuple[tuple[float, ...], ...] = ()
    seed: int = 0
    reg_covar: float = 1e-6
    tol: float = 1e-3
    max_iter: int = 100
    step: int = 0

    @classmethod
    def defaults(cls, n_features: int, dataset: str | None = None) -> Settings:
        """Default settings of a page, optionally for a given data set."""
        name = dataset or DEFAULT_DATASET[n_features]
        spec = _spec(name)
        return cls(
            n_features=n_features,
            dataset=name,
            knobs=default_knobs(name),
            n_components=spec.suggested_k if spec else 2,
        )

    def run_key(self) -> tuple:
        """A hashable summary of everything that defines the EM run (all but ``step``)."""
        values = asdict(self)
        values.pop("step")
        values["knobs"] = tuple(sorted(self.knobs.items()))
        values["manual_means"] = tuple(tuple(m) for m in self.manual_means)
        return tuple(sorted(values.items()))

    def changed_fields(self, other: Settings) -> list[str]:
        """Names of the run-defining fields that differ from ``other``."""
        return [
            f.name
            for f in fields(self)
            if f.name not in ("step", "n_features")
            and getattr(self, f.name) != getattr(other, f.name)
        ]

    def to_query(self) -> dict[str, str]:
        """The settings as URL query parameters (strings), e.g. ``{"K": "3", ...}``.

        Knobs become ``d.<name>``; floats use ``repr``, so they round-trip exactly.
        """
        query = {
            "dataset": self.dataset,
            "K": str(self.n_components),
            "cov": self.covariance_type,
            "init": self.init_method,
            "seed": str(self.seed),
            "reg_covar": repr(float(self.reg_covar)),
            "tol": repr(float(self.tol)),
            "max_iter": str(self.max_iter),
            "step": str(self.step),
        }
        if self.manual_means:
            query["means"] = format_means(self.manual_means)
        for name, value in self.knobs.items():
            query[_KNOB_PREFIX + name] = repr(value)
        return query

    @classmethod
    def from_query(
        cls,
        query: Mapping[str, str | Sequence[str]],
        n_features: int,
        *,
        extra_datasets: Sequence[str] = (),
    ) -> tuple[Settings, list[str]]:
        """Settings from URL query parameters; anything invalid falls back, with a message.

        Parameters
        ----------
        query : mapping of str to str (or list of str: the last value counts)
        n_features : int
            The page's dimension.
        extra_datasets : sequence of str
            Data-set names valid besides the built-in ones (e.g. :data:`UPLOADED`
            when this session holds uploaded data).

        Returns
        -------
        settings : Settings
        messages : list of str
            One sentence per ignored parameter: what was wrong and what is used instead.
        """
        q = {k: (v[-1] if isinstance(v, list | tuple) else v) for k, v in query.items()}
        q = {k: str(v) for k, v in q.items() if v is not None}
        messages: list[str] = []
        valid_names = list(datasets.list_datasets(n_features)) + list(extra_datasets)

        name = q.get("dataset")
        if name is not None and name not in valid_names:
            default = DEFAULT_DATASET[n_features]
            if name == UPLOADED:
                messages.append(
                    "Uploaded data are not part of a link (they stay in the session that "
                    f"uploaded them). Showing '{default}' instead: upload the file again on "
                    "the 'Your data' page."
                )
            else:
                messages.append(
                    f"The link asks for the data set '{name}', which does not exist in "
                    f"{n_features}-D. Showing '{default}' instead."
                )
            name = None
        settings = cls.defaults(n_features, name)
        bad = _Collector(messages)

        spec = _spec(settings.dataset)
        for knob in spec.knobs if spec else ():
            key = _KNOB_PREFIX + knob.name
            if key in q:
                settings.knobs[knob.name] = bad.number(
                    key, q[key], knob.default, knob.min, knob.max, integer=knob.is_integer
                )
        settings.n_components = bad.number(
            "K", q.get("K"), settings.n_components, K_MIN, K_MAX, integer=True
        )
        settings.covariance_type = bad.choice(
            "cov", q.get("cov"), settings.covariance_type, COVARIANCE_CHOICES[n_features]
        )
        settings.init_method = bad.choice("init", q.get("init"), DEFAULT_INIT, INIT_METHODS)
        if "means" in q:
            try:
                settings.manual_means = parse_means(q["means"], n_features)
            except ValueError as err:
                messages.append(f"The link's starting means were ignored: {err}")
        settings.seed = bad.number("seed", q.get("seed"), 0, 0, SEED_MAX, integer=True)
        settings.reg_covar = bad.number(
            "reg_covar", q.get("reg_covar"), settings.reg_covar, 0.0, REG_COVAR_MAX
        )
        settings.tol = bad.number("tol", q.get("tol"), settings.tol, TOL_MIN, TOL_MAX)
        settings.max_iter = bad.number(
            "max_iter", q.get("max_iter"), settings.max_iter, MAX_ITER_MIN, MAX_ITER_MAX,
            integer=True,
        )
        settings.step = bad.number("step", q.get("step"), 0, 0, 2 * MAX_ITER_MAX + 1, integer=True)

        known = set(_QUERY_NAMES.values()) | {
            _KNOB_PREFIX + k.name for k in (spec.knobs if spec else ())
        }
        for key in q:
            if key not in known:
                messages.append(f"The link parameter '{key}' is not used here and was ignored.")
        return settings, messages


@dataclass
class _Collector:
    """Parses query values, recording a message for each one that falls back."""

    messages: list[str]

    def number(
        self,
        name: str,
        text: str | None,
        default: Any,
        lo: float,
        hi: float,
        *,
        integer: bool = False,
    ) -> Any:
        if text is None:
            return default
        try:
            value: float | int = int(text) if integer else float(text)
            ok = math.isfinite(value) and lo <= value <= hi
        except ValueError:
            ok = False
        if ok:
            return value
        kind = "a whole number" if integer else "a number"
        self.messages.append(
            f"The link's {name}={text!r} was ignored: {name} must be {kind} from {lo:g} to "
            f"{hi:g}. Using {default!r}."
        )
        return default

    def choice(self, name: str, text: str | None, default: str, options: Sequence[str]) -> str:
        if text is None:
            return default
        if text in options:
            return text
        self.messages.append(
            f"The link's {name}={text!r} was ignored: choose one of {', '.join(options)}. "
            f"Using {default!r}."
        )
        return default


def describe_change(new: Settings, old: Settings) -> str:
    """A sentence saying that a new run started and why, e.g. ``New run: K changed (3 → 4).``"""
    parts = []
    for name in new.changed_fields(old):
        words = _FIELD_WORDS.get(name, name)
        before, after = getattr(old, name), getattr(new, name)
        if name in ("n_components", "covariance_type", "init_method", "seed", "reg_covar",
                    "tol", "max_iter", "dataset"):
            parts.append(f"{words} changed ({before:g} \u2192 {after:g})"
                         if isinstance(after, float)
                         else f"{words} changed ({before} \u2192 {after})")
        else:
            parts.append(f"{words} changed")
    what = "; ".join(parts) if parts else "the settings changed"
    return f"New run started: {what}. The history starts again from the initial parameters."


# --------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class Keys:
    """Every session-state key of one stepper page (``prefix`` = "em1d" or "em2d")."""

    prefix: str

    def _k(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    # Widgets (their values are the settings).
    @property
    def dataset(self) -> str:
        return self._k("dataset")

    @property
    def n_components(self) -> str:
        return self._k("K")

    @property
    def covariance_type(self) -> str:
        return self._k("cov")

    @property
    def init_method(self) -> str:
        return self._k("init")

    @property
    def manual_means(self) -> str:
        return self._k("means")

    @property
    def seed(self) -> str:
        return self._k("seed")

    @property
    def reg_covar(self) -> str:
        return self._k("reg_covar")

    @property
    def tol(self) -> str:
        return self._k("tol")

    @property
    def max_iter(self) -> str:
        return self._k("max_iter")

    @property
    def step(self) -> str:
        """The history slider: the cursor over half-steps."""
        return self._k("step")

    def knob(self, dataset: str, knob: str) -> str:
        """The widget of one data-set knob (kept per data set)."""
        return self._k(f"knob.{dataset}.{knob}")

    # Display widgets.
    @property
    def contours(self) -> str:
        return self._k("contours")

    @property
    def truth(self) -> str:
        return self._k("truth")

    @property
    def chart_size(self) -> str:
        return self._k("chart_size")

    @property
    def click_mode(self) -> str:
        return self._k("click_mode")

    @property
    def inspect(self) -> str:
        return self._k("inspect")

    @property
    def chart(self) -> str:
        return self._k("chart")

    @property
    def tabs(self) -> str:
        return self._k("tabs")

    def button(self, action: str) -> str:
        return self._k(f"button.{action}")

    # Plain state (no widget).
    @property
    def last_run(self) -> str:
        return self._k("last_run")

    @property
    def notice(self) -> str:
        return self._k("notice")

    @property
    def playing(self) -> str:
        return self._k("playing")

    @property
    def query_applied(self) -> str:
        return self._k("query_applied")

    @property
    def query_written(self) -> str:
        return self._k("query_written")


def keys(n_features: int) -> Keys:
    """The session keys of the stepper page of dimension ``n_features``."""
    return Keys(PAGE_PREFIX[n_features])


CHART_SIZES = ("fits 1280\u00d7800", "large", "extra large")
"""Choices of the charts' size (a display preference, not part of a link)."""
CLICK_SETS_MEAN = "sets a starting mean"
CLICK_INSPECTS = "inspects the point"
INSPECT_TAB = "Inspect a point"
PARAMETERS_TAB = "Parameters"


# --------------------------------------------------------------------------- widgets <-> settings
def _write_widgets(settings: Settings, *, only_missing: bool) -> None:
    k = keys(settings.n_features)
    ss = st.session_state
    values = {
        k.dataset: settings.dataset,
        k.n_components: int(settings.n_components),
        k.covariance_type: settings.covariance_type,
        k.init_method: settings.init_method,
        k.manual_means: format_means(settings.manual_means),
        k.seed: int(settings.seed),
        k.reg_covar: float(settings.reg_covar),
        k.tol: float(settings.tol),
        k.max_iter: int(settings.max_iter),
        k.step: int(settings.step),
        k.contours: False,
        k.truth: False,
        k.click_mode: CLICK_SETS_MEAN,
        k.chart_size: CHART_SIZES[0],
        k.inspect: None,
    }
    for name, value in settings.knobs.items():
        values[k.knob(settings.dataset, name)] = value
    for key, value in values.items():
        if key in (k.contours, k.truth, k.click_mode, k.chart_size, k.inspect) and not only_missing:
            continue  # display choices are not part of a link
        if not only_missing or key not in ss:
            ss[key] = value


def init_page(n_features: int, query: Mapping[str, Any] | None = None) -> list[str]:
    """Prepare the page's widget state; apply the URL's settings on the first visit.

    Call at the top of a stepper page, before any widget. On the page's first
    run in a session the query parameters (if any) set the widgets; later the
    widgets keep their own values (they persist across page switches).

    Returns
    -------
    list of str
        Messages about link parameters that were invalid and ignored, as Markdown
        source: they quote the link's own text, so it is escaped to show literally
        (a link must not be able to put a heading, a link or an image on the page).
    """
    k = keys(n_features)
    ss = st.session_state
    messages: list[str] = []
    if not ss.get(k.query_applied):
        ss[k.query_applied] = True
        query = dict(st.query_params.to_dict() if query is None else query)
        # A link written by the other stepper page of this session is not for us.
        others = [keys(d).query_written for d in PAGE_PREFIX if d != n_features]
        if query and all(ss.get(other) != query for other in others):
            extra = [UPLOADED] if uploaded_dataset(n_features) is not None else []
            settings, messages = Settings.from_query(query, n_features, extra_datasets=extra)
            _write_widgets(settings, only_missing=False)
            ss[k.last_run] = settings
    _write_widgets(Settings.defaults(n_features), only_missing=True)
    _validate_choices(n_features)
    ensure_knobs(n_features, ss[k.dataset])
    return [md_escape(message) for message in messages]


def _validate_choices(n_features: int) -> None:
    """Reset any widget value that is no longer a valid choice (e.g. data set removed)."""
    k = keys(n_features)
    ss = st.session_state
    if ss[k.dataset] not in dataset_choices(n_features):
        ss[k.dataset] = DEFAULT_DATASET[n_features]
    if ss[k.covariance_type] not in COVARIANCE_CHOICES[n_features]:
        ss[k.covariance_type] = "full"
    if ss[k.init_method] not in INIT_METHODS:
        ss[k.init_method] = DEFAULT_INIT


def dataset_choices(n_features: int) -> list[str]:
    """Data-set names offered on a page: the built-ins, then the upload if there is one."""
    names = list(datasets.list_datasets(n_features))
    if uploaded_dataset(n_features) is not None:
        names.append(UPLOADED)
    return names


def ensure_knobs(n_features: int, dataset: str) -> None:
    """Give the knob widgets of ``dataset`` their default values if they have none."""
    k = keys(n_features)
    for name, value in default_knobs(dataset).items():
        st.session_state.setdefault(k.knob(dataset, name), value)


def read_settings(n_features: int) -> Settings:
    """The page's current :class:`Settings`, read from its widgets' session values.

    Typed starting means that cannot be parsed count as none (the page shows why:
    see :func:`means_error`).
    """
    k = keys(n_features)
    ss = st.session_state
    dataset = ss[k.dataset]
    knobs = {
        name: ss.get(k.knob(dataset, name), value)
        for name, value in default_knobs(dataset).items()
    }
    try:
        means = parse_means(ss.get(k.manual_means, ""), n_features)
    except ValueError:
        means = ()
    return Settings(
        n_features=n_features,
        dataset=dataset,
        knobs=knobs,
        n_components=int(ss[k.n_components]),
        covariance_type=ss[k.covariance_type],
        init_method=ss[k.init_method],
        manual_means=means if ss[k.init_method] == "manual" else (),
        seed=int(ss[k.seed]),
        reg_covar=float(ss[k.reg_covar]),
        tol=float(ss[k.tol]),
        max_iter=int(ss[k.max_iter]),
        step=int(ss.get(k.step, 0)),
    )


def means_error(n_features: int) -> str | None:
    """Why the typed starting means cannot be read, or None if they can."""
    try:
        parse_means(st.session_state.get(keys(n_features).manual_means, ""), n_features)
    except ValueError as err:
        return str(err)
    return None


def note_run(settings: Settings) -> str | None:
    """Record the run the page now shows; if it differs from the last one, start over.

    A new run puts the cursor back to the start, stops Play, and returns a
    sentence saying what changed (None if the run is the same, or on the page's
    first run).
    """
    k = keys(settings.n_features)
    ss = st.session_state
    previous: Settings | None = ss.get(k.last_run)
    ss[k.last_run] = settings
    if previous is None or previous.run_key() == settings.run_key():
        return None
    ss[k.step] = 0
    ss[k.playing] = False
    ss[k.inspect] = None
    message = describe_change(settings, previous)
    ss[k.notice] = message
    return message


def run_changed_since_render(n_features: int) -> bool:
    """True if the widgets now describe another run than the one last rendered."""
    previous: Settings | None = st.session_state.get(keys(n_features).last_run)
    return previous is None or previous.run_key() != read_settings(n_features).run_key()


# --------------------------------------------------------------------------- cursor, notice, play
def get_cursor(n_features: int, n_steps: int) -> int:
    """The shown half-step, clamped to ``0 .. n_steps - 1`` (and stored clamped)."""
    k = keys(n_features)
    value = int(st.session_state.get(k.step, 0) or 0)
    clamped = min(max(value, 0), max(n_steps - 1, 0))
    if clamped != value:
        st.session_state[k.step] = clamped
    return clamped


def set_cursor(n_features: int, index: int) -> None:
    """Move the cursor (call before the history slider is drawn in the run)."""
    st.session_state[keys(n_features).step] = int(index)


def get_notice(n_features: int) -> str | None:
    """The message about the last action (kept until the next one)."""
    return st.session_state.get(keys(n_features).notice)


def set_notice(n_features: int, message: str | None) -> None:
    """Replace the message about the last action (None clears it)."""
    st.session_state[keys(n_features).notice] = message


def is_playing(n_features: int) -> bool:
    """Whether Play is running on this page."""
    return bool(st.session_state.get(keys(n_features).playing, False))


def set_playing(n_features: int, playing: bool) -> None:
    """Start or stop Play."""
    st.session_state[keys(n_features).playing] = bool(playing)


def display_options(n_features: int) -> tuple[bool, bool]:
    """``(show density contours, reveal true components)`` for the page."""
    k = keys(n_features)
    return bool(st.session_state.get(k.contours)), bool(st.session_state.get(k.truth))


def chart_size(n_features: int) -> str:
    """The chosen chart size, one of :data:`CHART_SIZES`."""
    value = st.session_state.get(keys(n_features).chart_size, CHART_SIZES[0])
    return value if value in CHART_SIZES else CHART_SIZES[0]


def get_inspected(n_features: int, n_points: int) -> int | None:
    """Index of the inspected point, or None (also when out of range)."""
    value = st.session_state.get(keys(n_features).inspect)
    if value is None:
        return None
    value = int(value)
    return value if 0 <= value < n_points else None


def click_sets_means(n_features: int) -> bool:
    """True when a click on the chart places a starting mean (manual initialisation)."""
    k = keys(n_features)
    ss = st.session_state
    return ss.get(k.init_method) == "manual" and ss.get(k.click_mode) == CLICK_SETS_MEAN


def clear_means(n_features: int) -> None:
    """Callback: forget the manual starting means."""
    st.session_state[keys(n_features).manual_means] = ""


def add_mean(
    means: tuple[tuple[float, ...], ...], point: Sequence[float], n_components: int
) -> tuple[tuple[float, ...], ...]:
    """The means after a click on ``point``: appended, or a fresh list once K are placed."""
    new = tuple(float(v) for v in point)
    if len(means) >= n_components:
        return (new,)
    return (*means, new)


def on_chart_select(n_features: int, data_curve: int) -> None:
    """Callback of the stepper chart's point selection.

    A click on a data point (trace ``data_curve``) either places a starting mean
    (manual initialisation) or becomes the inspected point.
    """
    k = keys(n_features)
    ss = st.session_state
    event = ss.get(k.chart)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    points = [p for p in points if p.get("curve_number") == data_curve]
    if not points:
        return
    point = points[-1]
    index = point.get("point_index", point.get("point_number"))
    if click_sets_means(n_features):
        try:
            means = parse_means(ss.get(k.manual_means, ""), n_features)
        except ValueError:
            means = ()
        # 4 significant digits: readable in the text box, plenty for a starting mean.
        coords = [float(f"{float(v):.4g}") for v in (point["x"], point["y"])[:n_features]]
        ss[k.manual_means] = format_means(add_mean(means, coords, int(ss[k.n_components])))
    elif index is not None:
        ss[k.inspect] = int(index)
        ss[k.tabs] = INSPECT_TAB


# --------------------------------------------------------------------------- URL
def sync_query(settings: Settings) -> None:
    """Write the settings into the URL so that the address bar is a shareable link."""
    k = keys(settings.n_features)
    query = settings.to_query()
    if st.session_state.get(k.query_written) == query:
        return
    st.session_state[k.query_written] = query
    st.query_params.from_dict(query)


# --------------------------------------------------------------------------- uploaded data
@dataclass(frozen=True, eq=False)
class UploadedData:
    """A data set uploaded in this session.

    Attributes
    ----------
    X : ndarray, shape (N, D)
        Read-only float64 copy of the data.
    name : str
        Display name (usually the file name); user text, shown only as text.
    feature_names : tuple of str, length D
    labels : ndarray, shape (N,), or None
    label_names : tuple of str, or None
    content_key : str
        SHA-256 of the data's bytes and shape: caches over user data are keyed by it.
    """

    X: np.ndarray
    name: str
    feature_names: tuple[str, ...]
    labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    content_key: str


def content_key(X: np.ndarray) -> str:
    """SHA-256 hex digest identifying an array by its shape and bytes (X of any shape)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    digest = hashlib.sha256(repr(X.shape).encode())
    digest.update(X.tobytes())
    return digest.hexdigest()


def use_uploaded_dataset(
    X: np.ndarray,
    name: str,
    feature_names: Sequence[str],
    labels: np.ndarray | None = None,
    label_names: Sequence[str] | None = None,
) -> None:
    """Make user data the selected data set of the stepper page of its dimension.

    The "EM in 1-D" (``X.shape[1] == 1``) or "EM in 2-D" (``X.shape[1] == 2``)
    page then lists it as "Your data: <name>" and selects it, starting a new run
    there (cursor at the start, Play stopped). The data stay in this session only.

    Parameters
    ----------
    X : array_like, shape (N, D), D in {1, 2}
        Finite numbers.
    name : str
        Display name, e.g. the file name.
    feature_names : sequence of str, length D
    labels : array_like, shape (N,), optional
        Integer class of each row, for comparison.
    label_names : sequence of str, optional

    Raises
    ------
    ValueError
        If X is not (N, 1) or (N, 2) with N >= 2 finite rows, or the names do not match.
    """
    X = np.array(X, dtype=np.float64, copy=True)
    if X.ndim != 2 or X.shape[1] not in (1, 2):
        raise ValueError(f"Data must have 1 or 2 columns; got shape {X.shape}.")
    if X.shape[0] < 2:
        raise ValueError("At least 2 rows are needed to fit a mixture.")
    if not np.all(np.isfinite(X)):
        raise ValueError("The data contain missing or infinite values; drop those rows first.")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{X.shape[1]} feature name(s) needed; got {len(feature_names)}.")
    X.setflags(write=False)
    labels_arr = None
    if labels is not None:
        labels_arr = np.array(labels, copy=True)
        labels_arr.setflags(write=False)
    n_features = X.shape[1]
    st.session_state[_UPLOADED_KEY.format(n_features=n_features)] = UploadedData(
        X=X,
        name=str(name),
        feature_names=tuple(str(f) for f in feature_names),
        labels=labels_arr,
        label_names=tuple(str(n) for n in label_names) if label_names is not None else None,
        content_key=content_key(X),
    )
    # New data start a new run: history at the beginning, Play stopped, no point
    # inspected, starting means typed for other data forgotten, and said so.
    k = keys(n_features)
    ss = st.session_state
    ss[k.dataset] = UPLOADED
    ss[k.step] = 0
    ss[k.playing] = False
    ss[k.inspect] = None
    ss.pop(k.last_run, None)
    clear_means(n_features)
    set_notice(n_features, "New data: the run starts again from the initial parameters.")


def uploaded_dataset(n_features: int) -> UploadedData | None:
    """This session's uploaded data of dimension ``n_features``, if any."""
    return st.session_state.get(_UPLOADED_KEY.format(n_features=n_features))


def clear_uploaded_dataset(n_features: int) -> None:
    """Forget this session's uploaded data of dimension ``n_features``."""
    st.session_state.pop(_UPLOADED_KEY.format(n_features=n_features), None)
    k = keys(n_features)
    if st.session_state.get(k.dataset) == UPLOADED:
        st.session_state[k.dataset] = DEFAULT_DATASET[n_features]
