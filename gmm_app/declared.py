"""Every setting, view option and page of the app, declared once (no Streamlit here).

Two tables, in the spirit of TensorFlow Playground's ``State``:

* :data:`FIELDS` - one :class:`Field` per setting or view option: its name, URL key, type,
  range or choices, default (a value, or a function of the data set), the words used in
  messages, whether a link carries it, its widget and what a change does. From this table
  come the URL round trip (:meth:`Settings.to_query` / :meth:`Settings.from_query`), the
  messages about bad link values, the descriptions of changes (:func:`describe_change`),
  the session/widget keys (:func:`gmm_app.state.field_key`) and the widgets
  (:func:`gmm_app.widgets.setting_widget`).
* :data:`PAGES` - one :class:`Page` per page: id (the prefix of its session keys), URL
  path, title, icon, and the fields it uses. Routing, links and messages name pages from it.

How to add a setting
    1. Append one ``Field(...)`` to :data:`FIELDS` (name, url, kind, default, words, label,
       widget, effect, link, and lo/hi or choices).
    2. Add its name to the ``fields`` of the pages that use it in :data:`PAGES`.
    3. Use it: draw it with ``widgets.setting_widget(page_id, name, ...)`` and read it as
       ``settings.<name>``. If it changes the EM run (``effect="run"``), also give
       :class:`RunSpec` a field of the same name and use it in :mod:`gmm_app.engine`.
    ``tests/test_state.py`` then walks it through the URL round trip and a bad value.

How to add a page
    Append one ``Page(...)`` to :data:`PAGES` and create ``pages/<path>.py`` (the file is
    named after the URL path; it first calls :func:`gmm_app.routing.ensure_app_navigation`,
    then e.g. ``state.init_page("<id>")``).

Data-set knobs (``d.<name>`` in a link) are fields too, made from the data set's own
declaration in :mod:`gmm_core.datasets` by :func:`knob_fields`.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from gmm_core import CONVERGENCE_RULES, COVARIANCE_TYPES, INIT_METHODS, datasets

Kind = Literal["int", "float", "bool", "choice", "means"]
Widget = Literal[
    "slider", "number", "radio", "select", "select_slider", "toggle", "text", "tabs", "none"
]
Effect = Literal["run", "view", "cursor"]
"""What a change does: "run" starts a new EM run, "view" only redraws, "cursor" moves
the half-step cursor."""

UPLOADED = "your-data"
"""Data-set identifier of the session's uploaded data."""
DEFAULT_DATASET = {1: "three_gaussians_1d", 2: "blobs"}
MAX_ITER_MAX = 1000

# --------------------------------------------------------------------------- limits
# Every limit on what one visitor may ask of the shared server, in one place (issue 10).
# Streamlit's own limits in .streamlit/config.toml must agree (tests/test_limits.py checks).
MAX_UPLOAD_MB = 50
"""Largest upload, in MB of 1,000,000 bytes as Streamlit counts them: equals
``server.maxUploadSize`` (the uploader itself refuses files of 50,000,000 bytes and more)."""
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1_000_000
MAX_PASTE_CHARS = 2_000_000
"""Longest pasted text (the text box refuses more). A paste travels in one websocket message,
which Streamlit caps at ``server.maxWidgetStateSize`` (25 MB); 2,000,000 characters are at
most 8 MB of UTF-8, well inside it. Larger tables: upload them as a file."""
MAX_ROWS = 1_000_000
"""Most rows an upload or paste may have (5 x the stepper's sample): counted before parsing,
so the parse holds at most a few hundred MB whatever the file (issue 10)."""
MAX_ITERATION_WORK = 2_000_000
"""Largest N x K of one EM iteration (~35 ms of one core: ~17 ns per point and component in
2-D; 200,000 points and K = 10, the most the stepper's widgets allow). Runs are computed
lazily, a budget of wall time at a time (below), so max_iter no longer bounds the work; a run
whose single iteration would cost more gets a message saying what to lower."""
RUN_FIRST_ITERATIONS = 50
"""A page load computes at most this many iterations of a run (fewer if
:data:`RUN_PAGE_BUDGET_S` runs out first); stepping on computes more."""
RUN_PAGE_BUDGET_S = 1.0
"""Wall time a page load may spend computing its run's first iterations."""
RUN_STEP_ITERATIONS = 50
"""Iterations computed ahead when a click (E, M, Iterate, Play, the slider) nears the end of
what is computed so far, within :data:`RUN_CLICK_BUDGET_S`."""
RUN_CLICK_BUDGET_S = 1.0
"""Wall time one click may spend computing more of a run."""
RUN_TO_END_BUDGET_S = 8.0
"""Wall time one press of "Run to convergence" may spend; if the run has not ended by then,
the page says so and the next press goes on."""
HEAVY_RUN_WORK = 5_000_000
"""Runs above this N x K x max_iter compute in one of :data:`HEAVY_RUN_SLOTS` slots: the
others wait their turn (and stop waiting when their visitor leaves), so that the rest of the
class keeps a core for its clicks. A run holds its slot for one budget (above) at most."""
HEAVY_RUN_SLOTS = 1
QUOTE_MAX_CHARS = 60
"""Link text quoted in a message is cut to this many characters."""
UNKNOWN_SHOWN = 5
"""At most this many unknown link parameters are named (the rest are counted)."""


# --------------------------------------------------------------------------- booleans
BOOL_TRUE = ("1", "on", "true", "yes")
BOOL_FALSE = ("0", "off", "false", "no")
"""How a link may write an on/off setting (any case): the same for every "bool" field; the
first of each is what links are written with (:meth:`Field.format`)."""
BOOL_SPELLINGS: dict[str, bool] = {
    **dict.fromkeys(BOOL_TRUE, True), **dict.fromkeys(BOOL_FALSE, False),
}
_OTHER_SPELLINGS = [f"{t}/{f}" for t, f in zip(BOOL_TRUE[1:], BOOL_FALSE[1:], strict=True)]
BOOL_SPELLINGS_TEXT = (
    f"{BOOL_TRUE[0]} (on) or {BOOL_FALSE[0]} (off); "
    f"{', '.join(_OTHER_SPELLINGS[:-1])} and {_OTHER_SPELLINGS[-1]} are accepted too"
)
"""What a valid on/off value is, for messages: "1 (on) or 0 (off); on/off, true/false and
yes/no are accepted too"."""


# --------------------------------------------------------------------------- context
@dataclass(frozen=True)
class Context:
    """What a default or a list of choices may depend on.

    Attributes
    ----------
    n_features : int
        1 or 2 (the page's dimension).
    dataset : str
        The data set's name ("" before it is known).
    knobs : tuple of (str, value)
        The data set's knob values.
    extra_datasets : tuple of str
        Data sets valid besides the built-in ones (:data:`UPLOADED` when the session has one).
    """

    n_features: int = 2
    dataset: str = ""
    knobs: tuple[tuple[str, float], ...] = ()
    extra_datasets: tuple[str, ...] = ()


# --------------------------------------------------------------------------- field
@dataclass(frozen=True)
class Field:
    """One setting or view option.

    Attributes
    ----------
    name : str
        Python name: ``settings.<name>``.
    url : str
        Its key in a link (and the last part of its widget's session key).
    kind : {"int", "float", "bool", "choice", "means"}
    default : value, or callable(Context) -> value
    words : str
        How messages name it: "K changed (3 → 4)", "the covariance type changed ...".
    label : str
        The widget's label.
    widget : str
        Widget kind (see :data:`Widget`); "none" when the page draws it its own way.
    effect : {"run", "view", "cursor"}
    link : bool
        Whether a link carries it.
    lo, hi : float or None
        Inclusive range of a number (``hi=None``: no upper limit).
    choices : tuple of str, or callable(Context) -> tuple of str
        The valid values of a "choice" (tokens as written in a link).
    labels : mapping of str to str
        How each choice is shown (default: the token itself).
    help : str
        Tooltip.
    step, number_format : widget increment and printf format of number inputs.
    optional : bool
        An empty value means None ("no point inspected").
    """

    name: str
    url: str
    kind: Kind
    default: Any
    words: str
    label: str
    widget: Widget
    effect: Effect = "run"
    link: bool = True
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] | Callable[[Context], tuple[str, ...]] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    help: str = ""
    step: float | None = None
    number_format: str | None = None
    optional: bool = False

    def default_for(self, ctx: Context) -> Any:
        """The default value in ``ctx`` (e.g. K of the data set)."""
        return self.default(ctx) if callable(self.default) else self.default

    def choices_for(self, ctx: Context) -> tuple[str, ...]:
        """The valid choices in ``ctx``."""
        return tuple(self.choices(ctx) if callable(self.choices) else self.choices)

    def label_of(self, value: Any) -> str:
        """How a value is shown to people (choice label, or the value)."""
        if self.kind == "choice":
            return self.labels.get(value, str(value))
        return show_value(value)

    def requirement(self, ctx: Context) -> str:
        """What a valid value is, as a clause: "K must be a whole number from 1 to 10"."""
        if self.kind == "choice":
            return f"choose one of {', '.join(self.choices_for(ctx))}"
        if self.kind == "bool":
            return f"{self.url} must be {BOOL_SPELLINGS_TEXT}"
        if self.kind == "means":
            return f"{self.url} must be numbers separated by commas"
        what = "a whole number" if self.kind == "int" else "a number"
        if self.hi is None:
            return f"{self.url} must be {what} from {show_limit(self.lo)} up"
        return f"{self.url} must be {what} from {show_limit(self.lo)} to {show_limit(self.hi)}"

    def parse(self, text: str, ctx: Context) -> Any:
        """The value written ``text`` in a link.

        Raises
        ------
        ValueError
            With a clause saying what a valid value is.
        """
        text = text.strip()
        if self.optional and text.lower() in ("", "none"):
            return None
        if self.kind == "choice":
            if text in self.choices_for(ctx):
                return text
            raise ValueError(self.requirement(ctx))
        if self.kind == "bool":
            if text.lower() in BOOL_SPELLINGS:
                return BOOL_SPELLINGS[text.lower()]
            raise ValueError(self.requirement(ctx))
        if self.kind == "means":
            return parse_means(text, ctx.n_features)
        try:
            value: float | int = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise ValueError(self.requirement(ctx)) from None
        finite = not isinstance(value, float) or math.isfinite(value)  # ints are exact
        in_range = (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
        if not (finite and in_range):
            raise ValueError(self.requirement(ctx))
        return value

    def format(self, value: Any) -> str:
        """The value as written in a link (inverse of :meth:`parse`; floats exactly)."""
        if value is None:
            return ""
        if self.kind == "bool":
            return BOOL_TRUE[0] if value else BOOL_FALSE[0]
        if self.kind == "float":
            return repr(float(value))
        if self.kind == "means":
            return format_means(value)
        return str(value)


def show_limit(limit: float | None) -> str:
    """A range limit for a message: whole numbers plainly with thousands separators, as the
    app's other messages print counts (``2,147,483,647``, not ``2.14748e+09``); others
    compactly (``1e-12``, ``0.5``)."""
    if limit is None:
        return "none"
    if float(limit).is_integer() and abs(limit) < 1e15:
        return f"{int(limit):,}"
    return f"{limit:g}"


def show_value(value: Any) -> str:
    """A value for a sentence: floats compactly (``1e-06``), None as "none"."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return format_means(value) or "none"
    return str(value)


# --------------------------------------------------------------------------- defaults
def _spec(name: str) -> datasets.DatasetSpec | None:
    try:
        return datasets.describe(name)
    except (KeyError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _true_k(name: str, knobs: tuple[tuple[str, float], ...]) -> int | None:
    try:
        data = datasets.load(name, **dict(knobs))
    except (KeyError, ValueError, TypeError):
        return None
    return None if data.true_params is None else int(data.true_params.n_components)


UPLOADED_K = 3
"""K for uploaded data without a label column (with one: the number of labels)."""


def default_k(ctx: Context) -> int:
    """K that suits the data set: the true K of a synthetic mixture (it follows e.g. the
    number of blobs), else the data set's suggested K; :data:`UPLOADED_K` for uploaded
    data (:func:`gmm_app.state.use_uploaded_dataset` uses the number of labels if any)."""
    spec = _spec(ctx.dataset)
    if spec is None:
        return UPLOADED_K
    return _true_k(ctx.dataset, tuple(sorted(ctx.knobs))) or spec.suggested_k


def default_knobs(dataset: str) -> dict[str, int | float]:
    """The knob defaults of a built-in data set (empty for real or uploaded data)."""
    spec = _spec(dataset)
    return {knob.name: knob.default for knob in spec.knobs} if spec else {}


def _dataset_choices(ctx: Context) -> tuple[str, ...]:
    return (*datasets.list_datasets(ctx.n_features), *ctx.extra_datasets)


def _dataset_title(name: str) -> str:
    spec = _spec(name)
    return spec.title if spec else name


# --------------------------------------------------------------------------- the field table
COVARIANCE_LABELS_1D = {"full": "variable variance", "tied": "equal variance"}
COVARIANCE_LABELS_2D = {
    "full": "full", "tied": "tied (one shared)", "diag": "diagonal", "spherical": "spherical",
}
CHART_PIXELS = {"fit": (460, 450), "large": (640, 560), "xlarge": (860, 680)}
"""Pixel sizes (width, height) of the main chart for each ``chart_size`` choice."""
POINT_SCALES = {"small": 0.6, "normal": 1.0, "large": 1.6}
"""Factor on the data points' marker size for each ``point_size`` choice."""

SHARED_VARIANCE_CHOICES = ("learned", "1", "0.3", "0.1", "0.03", "0.01", "0.001", "0.0001")
MODEL_FIELDS: tuple[Field, ...] = (
    # The model pages work on 1-D or 2-D data: this choice says which (a link need not
    # carry it: a built-in data set's name implies its dimension, and uploads never travel).
    Field("dim", "dim", "choice", lambda c: str(c.n_features), "the dimension", "Data",
          "radio", effect="view", link=False, choices=("1", "2"), labels={"1": "1-D", "2": "2-D"}),
    Field("n_folds", "folds", "int", 5, "the number of folds", "Cross-validation folds",
          "slider", effect="view", lo=2, hi=10,
          help="The data are cut into this many parts; each part is scored by a model "
          "fitted to the others."),
    Field("n_init", "starts", "int", 3, "the starts per fit", "Starts per fit",
          "slider", effect="view", lo=1, hi=10,
          help="Every fit runs EM from this many starts and keeps the best."),
    Field("n_restarts", "restarts", "int", 20, "the number of starts", "Starts",
          "slider", effect="view", lo=12, hi=50),
    Field("shared_var", "sigma2", "choice", "learned", "EM's variance", "EM's variance",
          "select_slider", effect="view", choices=SHARED_VARIANCE_CHOICES,
          labels={"learned": "learned", **{c: f"{c}\u00d7" for c in
                                           SHARED_VARIANCE_CHOICES[1:]}},
          help="learned: ordinary EM with full covariances. A number: every component "
          "is a circle of one shared, fixed variance, that many times the data's; "
          "towards 0 EM turns into k-means."),
    Field("sample_n", "sample_n", "int", 500, "the number of samples", "Points to draw",
          "number", effect="view", lo=10, hi=5000, step=10),
    Field("sample_seed", "sample_seed", "int", 0, "the sampling seed", "Sampling seed",
          "number", effect="view", lo=0, hi=2**31 - 1, step=1),
    Field("sample_data", "sample_data", "bool", True, "the data overlay", "Show the data",
          "toggle", effect="view"),
    Field("unusual_pct", "unusual", "float", 2.0, "the share of unusual points",
          "Flag the lowest-density points (%)", "slider", effect="view", lo=0.5, hi=20.0,
          step=0.5),
)
"""Fields of the model pages (/choose-k, /restarts, /kmeans-vs-gmm) and of the steppers'
"sample from the model" and "unusual points" panels."""

FIELDS: tuple[Field, ...] = (
    # ---- data
    Field("dataset", "dataset", "choice", lambda c: DEFAULT_DATASET[c.n_features],
          "the data set", "Data set", "select",
          choices=_dataset_choices),
    # ---- model (each starts a new run)
    Field("n_components", "K", "int", default_k, "K", "Components K", "slider",
          lo=1, hi=10,
          help="How many Gaussians. It starts at the data set's own number of clusters."),
    Field("covariance_type", "cov", "choice", "full", "the covariance type",
          "Covariance type", "radio",
          choices=lambda c: ("full", "tied") if c.n_features == 1 else COVARIANCE_TYPES,
          labels=COVARIANCE_LABELS_2D,  # the 1-D page shows COVARIANCE_LABELS_1D
          help="full: any ellipse; tied: one ellipse shape shared by all; diagonal: "
          "axis-aligned; spherical: circles."),
    Field("init_method", "init", "choice", "random_from_data", "the initialisation",
          "Initialisation", "select", choices=INIT_METHODS,
          labels={"random_from_data": "random data points", "kmeans++": "k-means++ seeding",
                  "kmeans": "k-means result", "random_resp": "random responsibilities",
                  "manual": "manual (you choose the means)"}),
    Field("manual_means", "means", "means", (), "the starting means", "Starting means",
          "text", help="Numbers separated by commas; in 2-D a semicolon between points."),
    Field("seed", "seed", "int", 0, "the seed", "Seed", "number", lo=0, hi=2**31 - 1, step=1,
          help="Drives the random initialisation: the same seed gives the same run."),
    Field("reg_covar", "reg_covar", "float", 1e-6, "reg_covar", "reg_covar", "number",
          lo=0.0, hi=10.0, step=1e-6, number_format="%.1e",
          help="Added to every variance after each M-step. 0 lets a component collapse "
          "onto a point."),
    Field("tol", "tol", "float", 1e-3, "the tolerance", "Tolerance", "number",
          lo=1e-12, hi=10.0, step=1e-4, number_format="%.1e",
          help="Honest rule: EM stops when more iterations would raise the log-likelihood "
          "by less than this in all (Aitken's estimate). scikit-learn's rule: when the "
          "log-likelihood per point changed by less."),
    Field("stop_rule", "rule", "choice", "aitken", "the stopping rule", "Stopping rule",
          "radio", choices=CONVERGENCE_RULES,
          labels={"aitken": "honest (what more EM would gain)",
                  "loglik_change": "scikit-learn's (last change per point)"},
          help="scikit-learn's rule stops as soon as one step changes little, also on a "
          "plateau that EM would still climb out of. Try both on Old Faithful, K = 2."),
    Field("max_iter", "max_iter", "int", 300, "the maximum iterations", "Maximum iterations",
          "number", lo=1, hi=MAX_ITER_MAX, step=1),
    # ---- the cursor
    Field("step", "step", "int", 0, "the half-step", "History: drag to any half-step", "none",
          effect="cursor", lo=0, hi=2 * MAX_ITER_MAX + 1),
    # ---- display (a change only redraws)
    Field("chart_size", "size", "choice", "fit", "the chart size", "Chart size",
          "select_slider", effect="view", choices=tuple(CHART_PIXELS),
          labels={"fit": "fits 1280\u00d7800", "large": "large", "xlarge": "extra large"}),
    Field("contours", "contours", "bool", False, "the density contours",
          "Mixture density contours", "toggle", effect="view"),
    Field("truth", "truth", "bool", False, "the true components",
          "Reveal the true components", "toggle", effect="view",
          help="Dotted: the 2σ ellipses of the mixture that generated the data "
          "(synthetic Gaussian data only)."),
    Field("point_size", "points", "choice", "normal", "the point size", "Point size",
          "select_slider", effect="view", choices=tuple(POINT_SCALES),
          labels={"small": "small", "normal": "normal", "large": "large (projector)"},
          help="How big the data points are drawn: large ones read from the back of a room."),
    Field("label_shapes", "shapes", "bool", True, "the label shapes",
          "Show your labels as marker shapes", "toggle", effect="view",
          help="Uploaded data with a label column: one marker shape per label."),
    Field("click_mode", "click", "choice", "mean", "what a click does",
          "A click on a data point", "radio", effect="view", link=False,
          choices=("mean", "inspect"),
          labels={"mean": "sets a starting mean", "inspect": "inspects the point"}),
    Field("inspect", "inspect", "int", None, "the inspected point", "Point number", "number",
          effect="view", lo=0, hi=None, step=1, optional=True),
    Field("tab", "tab", "choice", "parameters", "the open tab", "Tab", "tabs",
          effect="view", choices=("parameters", "inspect", "code"),
          labels={"parameters": "Parameters", "inspect": "Inspect a point",
                  "code": "Show the code"}),
    # ---- teaching (gmm_app.teaching): Play's speed, presenter view, predict-then-reveal
    Field("play_speed", "speed", "float", 2.0, "the Play speed",
          "Play speed (half-steps per second)", "slider", effect="view", lo=0.5, hi=10.0,
          step=0.5, help="Play shows this many half-steps per second (it skips drawing a "
          "half-step when the computer falls behind, so the pace holds)."),
    Field("presenter", "present", "bool", False, "the presenter view", "Presenter view",
          "toggle", effect="view",
          help="For a projector: no sidebar, the chart and panel fill the screen, large "
          "type, thick lines. Keys: ? lists them."),
    Field("predict", "predict", "bool", False, "predict first", "Predict first",
          "toggle", effect="view",
          help="The next half-step stays hidden until you guess it: click where each mean "
          "will move (M-step) or pick the points that will change colour (E-step)."),
    # ---- choosing and comparing models (the model pages; steppers' sample/unusual panels)
    *MODEL_FIELDS,
)
FIELD: dict[str, Field] = {f.name: f for f in FIELDS}
"""The fields by name."""


def knob_fields(dataset: str) -> tuple[Field, ...]:
    """The fields of a data set's knobs (link keys ``d.<name>``), from its gmm_core spec."""
    spec = _spec(dataset)
    return tuple(
        Field(
            knob.name, f"d.{knob.name}", "int" if knob.is_integer else "float", knob.default,
            f"the data set's {knob.label.lower()}", knob.label,
            "number" if knob.is_integer and knob.max - knob.min > 100 else "slider",
            lo=knob.min, hi=knob.max, step=knob.step, help=knob.help,
        )
        for knob in (spec.knobs if spec else ())
    )


# --------------------------------------------------------------------------- the page table
@dataclass(frozen=True)
class Page:
    """One page of the app.

    Attributes
    ----------
    id : str
        Prefix of its session keys, e.g. "em2d" (keys like "em2d.K").
    path : str
        Its URL path ("" for Home); the file is ``pages/<path>.py`` (``pages/home.py``).
    title, icon : str
        As in the navigation and in links.
    n_features : int or None
        The data's dimension on a page that fits data (on a page with the ``dim`` field:
        the dimension it opens with; the field then chooses).
    fields : tuple of str
        Names of the :data:`FIELDS` it uses (a link to it carries those with ``link=True``).
    """

    id: str
    path: str
    title: str
    icon: str
    n_features: int | None = None
    fields: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        """The page's script, relative to the app's folder."""
        return f"pages/{self.path or 'home'}.py"


_STEPPER = ("dataset", "n_components", "covariance_type", "init_method", "manual_means", "seed",
            "reg_covar", "tol", "stop_rule", "max_iter", "step", "chart_size", "click_mode",
            "inspect", "tab", "play_speed", "presenter", "predict")

_SAMPLE = ("sample_n", "sample_seed", "sample_data")

PAGES: tuple[Page, ...] = (
    Page("home", "", "Home", ":material/home:"),
    Page("em1d", "em-1d", "EM in 1-D", ":material/show_chart:", 1,
         (*_STEPPER, *_SAMPLE, "unusual_pct")),
    Page("em2d", "em-2d", "EM in 2-D", ":material/bubble_chart:", 2,
         (*_STEPPER, "contours", "truth", "point_size", "label_shapes", *_SAMPLE,
          "unusual_pct")),
    Page("your_data", "your-data", "Your data", ":material/upload_file:"),
    Page("lessons", "lessons", "Lessons", ":material/school:"),
    Page("choose_k", "choose-k", "Choose K", ":material/query_stats:", 2,
         ("dim", "dataset", "n_folds", "n_init", "seed")),
    Page("restarts", "restarts", "Restarts", ":material/replay:", 2,
         ("dim", "dataset", "n_components", "covariance_type", "init_method", "n_restarts",
          "seed")),
    Page("kmeans_gmm", "kmeans-vs-gmm", "k-means vs mixture", ":material/compare:", 2,
         ("dim", "dataset", "n_components", "seed", "step", "shared_var", *_SAMPLE)),
)
PAGE: dict[str, Page] = {p.id: p for p in PAGES}
"""The pages by id."""
STEPPER_PAGE = {1: "em1d", 2: "em2d"}
"""The id of the stepper page of each dimension."""


# --------------------------------------------------------------------------- manual means
def parse_means(text: str, n_features: int) -> tuple[tuple[float, ...], ...]:
    """Parse typed means: numbers separated by commas, semicolons, spaces or brackets.

    In 1-D every number is a mean (``"-2, 0, 3.5"``); in 2-D the numbers are read
    in pairs (``"1, 2; 4, 5"`` or ``"(1, 2) (4, 5)"``).

    Returns
    -------
    tuple of tuple of float
        M means of length D = ``n_features`` each (empty for blank text).

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
                f"{quote(token)} is not a number. Type the means as numbers separated by commas"
                + (", a semicolon between points, e.g. 1, 2; 4, 5." if n_features > 1 else ".")
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"{quote(token)} is not a finite number; use ordinary numbers.")
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


# --------------------------------------------------------------------------- quoting
ELLIPSIS = "\u2026"
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def quote(text: object, limit: int = QUOTE_MAX_CHARS) -> str:
    """User text quoted for a message: ``'abc'``.

    Control characters, bidirectional-text controls (e.g. U+202E, which would reverse the
    rest of the sentence) and other invisible format characters are shown as ``\\u202e``;
    text longer than ``limit`` characters is cut with "…". (Markdown is escaped later,
    where the message is shown.)
    """
    text = str(text)
    cut = len(text) > limit
    shown = "".join(
        f"\\u{ord(ch):04x}"
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        else ch
        for ch in text[:limit]
    )
    return f"'{shown}{ELLIPSIS if cut else ''}'"


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class RunSpec:
    """Everything that defines one EM run on one data set: what the engine takes.

    Derived from :class:`Settings` by :meth:`Settings.run_spec`; each attribute but
    ``data_key`` is the field of the same name.
    """

    data_key: str
    n_components: int
    covariance_type: str
    init_method: str
    manual_means: tuple[tuple[float, ...], ...]
    seed: int
    reg_covar: float
    tol: float
    stop_rule: str
    max_iter: int


def dimension_of(page: str, dataset: str | None = None, n_features: int | None = None) -> int:
    """The data's dimension on ``page``: fixed by the page, or (a page with a ``dim`` field)
    that of the built-in ``dataset``, else ``n_features``, else the page's first one."""
    page_obj = PAGE[page]
    if "dim" in page_obj.fields:
        spec = _spec(dataset) if dataset else None
        if spec is not None:
            return int(spec.n_features)
        if n_features in (1, 2):
            return int(n_features)
    return int(page_obj.n_features or 2)


def upload_fallback_message(n_features: int) -> str:
    """What a page opened by a link to uploaded data says (the data are not in links)."""
    default = _dataset_title(DEFAULT_DATASET[n_features])
    return (
        "This link was made with uploaded data, which never leave the session that uploaded "
        f"them, so a link cannot carry them. Showing {default} instead; to use the data, "
        f"upload the file again on the '{PAGE['your_data'].title}' page."
    )


@dataclass(frozen=True)
class Settings:
    """The values of one page's fields: everything its view depends on.

    Read a value as ``settings.<field name>`` (e.g. ``settings.n_components``); the data
    set's knobs are in ``settings.knobs``. Immutable: use :meth:`replace`.

    Attributes
    ----------
    page : str
        The page's id (see :data:`PAGES`).
    values : dict
        Field name -> value, for every field of the page.
    knobs : dict
        The data set's knob values (keyword arguments of :func:`gmm_core.datasets.load`).
    """

    page: str
    values: Mapping[str, Any]
    knobs: Mapping[str, int | float] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("page", "values", "knobs"):
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(
                f"page {self.page!r} has no setting {name!r} (see gmm_app.declared.PAGES)"
            ) from None

    @property
    def n_features(self) -> int:
        """The page's dimension (its ``dim`` value on a page that has one)."""
        if "dim" in self.values:
            return int(self.values["dim"])
        return int(PAGE[self.page].n_features or 2)

    @property
    def fields(self) -> tuple[Field, ...]:
        """The page's fields, in table order."""
        names = PAGE[self.page].fields
        return tuple(f for f in FIELDS if f.name in names)

    def context(self, extra_datasets: Sequence[str] = ()) -> Context:
        """The context the defaults and choices of this page are computed in."""
        return Context(
            self.n_features, str(self.values.get("dataset", "")),
            tuple(sorted(self.knobs.items())), tuple(extra_datasets),
        )

    def replace(self, knobs: Mapping[str, int | float] | None = None, **changes: Any) -> Settings:
        """A copy with some values changed, e.g. ``settings.replace(step=4)``."""
        unknown = set(changes) - set(self.values)
        if unknown:
            raise AttributeError(f"page {self.page!r} has no setting(s) {sorted(unknown)}")
        return Settings(self.page, {**self.values, **changes},
                        dict(self.knobs if knobs is None else knobs))

    @classmethod
    def defaults(
        cls, page: str, dataset: str | None = None, knobs: Mapping[str, float] | None = None,
        n_features: int | None = None,
    ) -> Settings:
        """The page's default settings, optionally for a given data set (and knobs).

        ``n_features`` is the dimension of a page with a ``dim`` field when the data set
        does not imply one (a built-in data set's own dimension comes first).
        """
        page_obj = PAGE[page]
        ctx = Context(dimension_of(page, dataset, n_features))
        names = page_obj.fields
        if "dataset" in names:
            name = dataset or FIELD["dataset"].default_for(ctx)
            all_knobs = {**default_knobs(name), **(knobs or {})}
            ctx = replace(ctx, dataset=name, knobs=tuple(sorted(all_knobs.items())))
        else:
            all_knobs = {}
        values = {f.name: f.default_for(ctx) for f in FIELDS if f.name in names}
        if "dataset" in names:
            values["dataset"] = ctx.dataset
        return cls(page, values, all_knobs)

    # ---- runs
    def run_key(self) -> tuple:
        """A hashable summary of everything that defines the EM run."""
        run = tuple((f.name, self.values[f.name]) for f in self.fields if f.effect == "run")
        return (*run, ("knobs", tuple(sorted(self.knobs.items()))))

    def changed_fields(self, other: Settings) -> list[str]:
        """Names of the run-defining fields that differ from ``other`` ("knobs" for knobs)."""
        out = [f.name for f in self.fields
               if f.effect == "run" and self.values[f.name] != other.values.get(f.name)]
        if dict(self.knobs) != dict(other.knobs) and self.dataset == other.dataset:
            out.append("knobs")
        return out

    def run_spec(self, data_key: str) -> RunSpec:
        """The engine's frozen run specification (``data_key`` identifies the data)."""
        names = [f.name for f in fields(RunSpec) if f.name != "data_key"]
        return RunSpec(data_key, **{name: self.values[name] for name in names})

    # ---- links
    def to_query(self) -> dict[str, str]:
        """The values a link carries, as URL query parameters (strings).

        Every run-defining value and the cursor are written (a link keeps its meaning if a
        default changes later); a display option only when it differs from its default
        (short links make small QR codes). Knobs become ``d.<name>``; floats use ``repr``,
        so they round-trip exactly.
        """
        ctx = self.context()
        query = {
            f.url: f.format(self.values[f.name]) for f in self.fields
            if f.link and not (f.kind == "means" and not self.values[f.name])
            and not (f.optional and self.values[f.name] is None)
            and not (f.effect == "view" and self.values[f.name] == f.default_for(ctx))
        }
        for knob in knob_fields(str(self.values.get("dataset", ""))):
            if knob.name in self.knobs:
                query[knob.url] = knob.format(self.knobs[knob.name])
        return query

    @classmethod
    def from_query(
        cls,
        query: Mapping[str, str | Sequence[str]],
        page: str,
        *,
        extra_datasets: Sequence[str] = (),
        n_features: int | None = None,
    ) -> tuple[Settings, list[str]]:
        """Settings from URL query parameters; anything invalid keeps its default, with a message.

        Parameters
        ----------
        query : mapping of str to str (or list of str: the last value counts)
        page : str
            The page's id.
        extra_datasets : sequence of str
            Data-set names valid besides the built-in ones (e.g. :data:`UPLOADED`).
        n_features : int, optional
            On a page with a ``dim`` field: the dimension when the link's data set does not
            imply one (none given, or uploaded data).

        Returns
        -------
        settings : Settings
        messages : list of str
            Plain text (quote user text with :func:`quote`; escape Markdown where shown):
            one sentence per ignored value, one for all unknown parameters together.
        """
        q = {k: (v[-1] if isinstance(v, list | tuple) else v) for k, v in query.items()}
        q = {str(k): str(v) for k, v in q.items() if v is not None}
        page_obj = PAGE[page]
        messages: list[str] = []
        used: set[str] = set()

        def read(f: Field, ctx: Context, default: Any) -> Any:
            if not f.link or f.url not in q:
                return default
            used.add(f.url)
            try:
                return f.parse(q[f.url], ctx)
            except ValueError as err:
                if f.kind == "means":
                    messages.append(f"The link's starting means were ignored: {err}")
                else:
                    messages.append(
                        f"The link's {f.url}={quote(q[f.url])} was ignored: {err}. "
                        f"Using {f.label_of(default)}."
                    )
                return default

        n_features = dimension_of(page, q.get("dataset"), n_features)
        ctx = Context(n_features, extra_datasets=tuple(extra_datasets))
        dataset = None
        if "dataset" in page_obj.fields:
            text = q.get("dataset")
            used.add("dataset")
            if text is None or text in FIELD["dataset"].choices_for(ctx):
                dataset = text
            elif text == UPLOADED:
                messages.append(upload_fallback_message(ctx.n_features))
            else:
                messages.append(
                    f"The link's dataset={quote(text)} was ignored: that data set does not "
                    f"exist in {ctx.n_features}-D. Showing "
                    f"{_dataset_title(DEFAULT_DATASET[ctx.n_features])} instead."
                )
        settings = cls.defaults(page, dataset, n_features=n_features)
        knobs = dict(settings.knobs)
        for knob in knob_fields(str(settings.values.get("dataset", ""))):
            knobs[knob.name] = read(knob, ctx, knobs[knob.name])
        settings = cls.defaults(page, settings.values.get("dataset"), knobs,  # K may follow
                                n_features=n_features)
        ctx = settings.context(extra_datasets)
        values = dict(settings.values)
        for f in settings.fields:
            if f.name != "dataset":
                values[f.name] = read(f, ctx, values[f.name])

        unknown = [key for key in q if key not in used]
        if unknown:
            named = ", ".join(quote(key) for key in unknown[:UNKNOWN_SHOWN])
            more = len(unknown) - UNKNOWN_SHOWN
            if len(unknown) == 1:
                messages.append(f"The link parameter {named} is not used here and was ignored.")
            else:
                messages.append(
                    f"The link parameters {named}"
                    + (f" and {more} more" if more > 0 else "")
                    + " are not used here and were ignored."
                )
        return cls(page, values, knobs), messages


def describe_change(new: Settings, old: Settings) -> str:
    """A sentence saying that a new run started and why, e.g. ``... K changed (3 → 4) ...``."""
    parts = []
    for name in new.changed_fields(old):
        if name == "knobs":
            parts.append("the data set's settings changed")
            continue
        f = FIELD[name]
        before, after = old.values.get(name), new.values[name]
        if f.kind == "means":
            parts.append(f"{f.words} changed")
        else:
            parts.append(f"{f.words} changed ({show_value(before)} \u2192 {show_value(after)})")
    what = "; ".join(parts) if parts else "the settings changed"
    return f"New run started: {what}. The history starts again from the initial parameters."
