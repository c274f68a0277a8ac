"""Session state: the ONLY module that reads or writes ``st.session_state``, and the owner of
every session key.

What the state *is* is declared in :mod:`gmm_app.declared` (the tables of fields and pages);
this module keeps it in the session:

* Widget keys are derived from the tables: ``<page id>.<field url>`` (e.g. ``em2d.K``) by
  :func:`field_key`, data-set knobs ``<page id>.knob.<data set>.<knob>``, any other widget
  of a page ``<page id>.<part>...`` by :func:`widget_key`. The widgets' values *are* the
  settings: :func:`read_settings` assembles a :class:`~gmm_app.declared.Settings` from them.
* :func:`init_page` applies a link once per page and session; :func:`sync_query` keeps the
  address bar equal to the view, and :func:`share_link` gives the same link for copying.
* Plain state (no widget): the last run shown, the notice, Play, the link's messages.
* User data uploaded on the "Your data" page stay in this session only
  (:func:`use_uploaded_dataset`), identified by :func:`content_key` (the one content hasher).

Functions that take ``page`` accept a page id ("em2d") or, for the stepper pages, the
data's dimension (2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from gmm_app.declared import (
    FIELD,
    FIELDS,
    PAGE,
    PAGES,
    STEPPER_PAGE,
    UPLOADED,
    Context,
    Field,
    Page,
    RunSpec,
    Settings,
    default_k,
    default_knobs,
    describe_change,
    format_means,
    knob_fields,
    parse_means,
    quote,
    upload_fallback_message,
)
from gmm_app.formatting import md_escape

__all__ = [
    "FIELD", "FIELDS", "PAGE", "PAGES", "UPLOADED", "Context", "Field", "Keys", "Page",
    "RunSpec", "Settings", "UploadedData", "add_mean", "builtin_data_key", "check_inspected",
    "clear_means",
    "clear_uploaded_dataset", "content_key", "dataset_choices", "default_knobs",
    "describe_change", "ensure_knobs", "field_key", "format_means", "get_cursor",
    "get_inspected", "get_notice", "init_page", "is_playing", "keys", "knob_fields",
    "link_messages",
    "means_error", "note_run", "on_chart_select", "on_data_change", "on_dim_change",
    "page_dim", "page_of", "parse_means",
    "quote", "read_settings", "run_changed_since_render", "set_cursor", "set_notice",
    "set_playing", "share_link", "sync_query", "upload_fallback", "uploaded_dataset",
    "use_uploaded_dataset", "view_value", "widget_key",
]

PageRef = str | int
"""A page id ("em2d"), or the dimension (1 or 2) of a stepper page."""


def page_of(page: PageRef) -> Page:
    """The :class:`~gmm_app.declared.Page` of a page id or stepper dimension."""
    return PAGE[STEPPER_PAGE[page] if isinstance(page, int) else page]


# --------------------------------------------------------------------------- keys
def widget_key(page: PageRef, *parts: str) -> str:
    """The session key of a widget of ``page`` that is not a declared field, e.g. a button."""
    return ".".join((page_of(page).id, *parts))


def field_key(page: PageRef, name: str) -> str:
    """The session key of the widget of declared field ``name`` on ``page`` (``em2d.K``)."""
    return widget_key(page, FIELD[name].url)


@dataclass(frozen=True)
class Keys:
    """Every session key of one page (``page`` is its id)."""

    page: str

    def field(self, name: str) -> str:
        """The widget of a declared field."""
        return field_key(self.page, name)

    def knob(self, dataset: str, knob: str) -> str:
        """The widget of one data-set knob (kept per data set)."""
        return widget_key(self.page, "knob", dataset, knob)

    def button(self, action: str) -> str:
        return widget_key(self.page, "button", action)

    def widget(self, *parts: str) -> str:
        return widget_key(self.page, *parts)

    @property
    def chart(self) -> str:
        """The main chart (its selection events)."""
        return widget_key(self.page, "chart")

    @property
    def chart_ll(self) -> str:
        """The log-likelihood chart."""
        return widget_key(self.page, "chart", "ll")

    # Plain state (no widget).
    @property
    def last_run(self) -> str:
        return widget_key(self.page, "last_run")

    @property
    def notice(self) -> str:
        return widget_key(self.page, "notice")

    @property
    def playing(self) -> str:
        return widget_key(self.page, "playing")

    @property
    def query_applied(self) -> str:
        return widget_key(self.page, "query_applied")

    @property
    def query_written(self) -> str:
        return widget_key(self.page, "query_written")

    @property
    def link_messages(self) -> str:
        return widget_key(self.page, "link_messages")

    @property
    def upload_fallback(self) -> str:
        return widget_key(self.page, "upload_fallback")


def keys(page: PageRef) -> Keys:
    """The session keys of ``page``."""
    return Keys(page_of(page).id)


_UPLOADED_KEY = "uploaded.{n_features}"


# --------------------------------------------------------------------------- widget values
def _to_widget(f: Field, value: Any) -> Any:
    """A field's value as its widget holds it."""
    if f.kind == "means":
        return format_means(value)
    if f.widget == "tabs":  # st.tabs holds the label of the open tab
        return f.labels.get(value, value)
    return value


def _from_widget(f: Field, value: Any, page: Page) -> Any:
    """A widget's value as the field's value (inverse of :func:`_to_widget`)."""
    if f.kind == "means":
        try:
            return parse_means(value or "", page.n_features or 2)
        except ValueError:
            return ()  # the page says why (means_error)
    if f.widget == "tabs":
        return next((token for token, label in f.labels.items() if label == value), f.default)
    if f.kind == "int" and value is not None:
        return int(value)
    if f.kind == "float":
        return float(value)
    if f.kind == "bool":
        return bool(value)
    return value


def _write_widgets(settings: Settings, *, only_missing: bool) -> None:
    page = page_of(settings.page)
    ss = st.session_state
    values = {field_key(page.id, f.name): _to_widget(f, settings.values[f.name])
              for f in settings.fields}
    k = keys(page.id)
    for name, value in settings.knobs.items():
        values[k.knob(settings.values["dataset"], name)] = value
    for key, value in values.items():
        if not only_missing or key not in ss:
            ss[key] = value


def page_dim(page: PageRef) -> int:
    """The data's dimension on ``page`` now: its ``dim`` widget's value on a page that has
    one (the model pages), else the page's own dimension."""
    p = page_of(page) if not isinstance(page, Page) else page
    value = st.session_state.get(field_key(p.id, "dim")) if "dim" in p.fields else None
    return int(value) if value in ("1", "2") else int(p.n_features or 2)


def _upload_dim() -> int | None:
    """The dimension of this session's upload (2-D first when there are both), or None."""
    return next((n for n in (2, 1) if uploaded_dataset(n) is not None), None)


def _extra_datasets(page: Page) -> list[str]:
    if page.n_features and uploaded_dataset(page_dim(page)) is not None:
        return [UPLOADED]
    return []


def init_page(page: PageRef, query: Mapping[str, Any] | None = None) -> list[str]:
    """Prepare the page's widget state; apply the URL's settings on the first visit.

    Call at the top of a page, before any widget. On the page's first run in a session the
    query parameters (if any) set the widgets; later the widgets keep their own values
    (they persist across page switches).

    Returns
    -------
    list of str
        Messages about link values that were invalid and ignored, as Markdown source:
        they quote the link's own text, so it is escaped to show literally. They are also
        kept (:func:`link_messages`) until a new run starts.
    """
    p = page_of(page)
    k = keys(p.id)
    ss = st.session_state
    messages: list[str] = []
    if not ss.get(k.query_applied):
        ss[k.query_applied] = True
        query = dict(st.query_params.to_dict() if query is None else query)
        # A link written by another page of this session is not for us.
        others = [keys(o.id).query_written for o in PAGES if o.id != p.id]
        if query and all(ss.get(other) != query for other in others):
            # A model page's link to uploaded data: the dimension of this session's upload.
            to_upload = "dim" in p.fields and query.get("dataset") == UPLOADED
            settings, messages = Settings.from_query(
                query, p.id, extra_datasets=_extra_datasets(p) or (
                    [UPLOADED] if to_upload and _upload_dim() else []),
                n_features=_upload_dim() if to_upload else None,
            )
            _write_widgets(settings, only_missing=False)
            ss[k.last_run] = settings
            fallback = upload_fallback_message(settings.n_features)
            ss[k.upload_fallback] = fallback in messages
            messages = [m for m in messages if m != fallback]
            ss[k.link_messages] = [md_escape(m) for m in messages]
    _write_widgets(Settings.defaults(p.id), only_missing=True)
    _validate_choices(p)
    if "dataset" in p.fields:
        ensure_knobs(p.id, ss[field_key(p.id, "dataset")])
    return [md_escape(m) for m in messages]


def open_page_at(settings: Settings) -> None:
    """Make ``settings.page`` show ``settings`` when it next runs (before ``st.switch_page``).

    Its widgets take the values, its link is counted as applied, and the run counts as the
    one last shown (so the page starts it without a "new run" notice). Used by the model
    pages' "open this model in the stepper" clicks.
    """
    p = page_of(settings.page)
    ss = st.session_state
    _write_widgets(settings, only_missing=False)
    ss[keys(p.id).query_applied] = True
    ss[keys(p.id).last_run] = settings
    ss.pop(keys(p.id).link_messages, None)


def selected_points(page: PageRef, *parts: str) -> list[dict]:
    """The points of the last selection event of the chart keyed ``widget_key(page, *parts)``."""
    event = st.session_state.get(widget_key(page, *parts))
    if not event:
        return []
    try:
        return list(event["selection"]["points"])
    except (KeyError, TypeError):
        return []


def set_pending(page: PageRef, name: str, value: Any) -> None:
    """Keep a value for the page's next run (e.g. the model a click asked to open)."""
    st.session_state[widget_key(page, "pending", name)] = value


def pop_pending(page: PageRef, name: str) -> Any:
    """The value kept by :func:`set_pending`, removed (None if there is none)."""
    return st.session_state.pop(widget_key(page, "pending", name), None)


def link_messages(page: PageRef) -> list[str]:
    """The escaped messages about the link that opened the page (until a new run starts)."""
    return list(st.session_state.get(keys(page).link_messages) or [])


def upload_fallback(page: PageRef) -> str | None:
    """The sentence saying the link's uploaded data were replaced (until a new run), or None."""
    p = page_of(page)
    if st.session_state.get(keys(p.id).upload_fallback):
        return upload_fallback_message(page_dim(p))
    return None


def _validate_choices(page: Page) -> None:
    """Reset any widget value that is no longer valid (e.g. a removed upload) to its default."""
    ss = st.session_state
    defaults = Settings.defaults(page.id, n_features=page_dim(page))
    ctx = Context(page_dim(page), extra_datasets=tuple(_extra_datasets(page)))
    for f in defaults.fields:
        if f.kind == "choice" and f.widget != "tabs":
            key = field_key(page.id, f.name)
            if ss.get(key) not in f.choices_for(ctx):
                ss[key] = defaults.values[f.name]


def dataset_choices(page: PageRef) -> list[str]:
    """Data-set names offered on a page: the built-ins, then the upload if there is one."""
    p = page_of(page)
    return list(FIELD["dataset"].choices_for(
        Context(page_dim(p), extra_datasets=tuple(_extra_datasets(p)))
    ))


def ensure_knobs(page: PageRef, dataset: str) -> None:
    """Give the knob widgets of ``dataset`` their default values if they have none."""
    k = keys(page)
    for name, value in default_knobs(dataset).items():
        st.session_state.setdefault(k.knob(dataset, name), value)


def _read_knobs(page: Page, dataset: str) -> dict[str, int | float]:
    k = keys(page.id)
    return {name: st.session_state.get(k.knob(dataset, name), value)
            for name, value in default_knobs(dataset).items()}


def read_settings(page: PageRef) -> Settings:
    """The page's current :class:`Settings`, read from its widgets' session values.

    Typed starting means that cannot be parsed count as none (the page shows why: see
    :func:`means_error`); they count only with the manual initialisation.

    Raises
    ------
    KeyError
        If the page has not been opened in this session (its widgets have no values).
    """
    p = page_of(page)
    ss = st.session_state
    values = {}
    for name in p.fields:
        f = FIELD[name]
        key = field_key(p.id, name)
        values[name] = _from_widget(f, ss[key] if f.widget != "tabs" else ss.get(key), p)
    if values.get("init_method", "manual") != "manual":
        values["manual_means"] = ()
    knobs = _read_knobs(p, values["dataset"]) if "dataset" in values else {}
    return Settings(p.id, values, knobs)


def view_value(page: PageRef, name: str) -> Any:
    """The current value of one field of ``page`` (e.g. ``view_value(2, "contours")``)."""
    p = page_of(page)
    f = FIELD[name]
    key = field_key(p.id, name)
    if key in st.session_state:
        return _from_widget(f, st.session_state[key], p)
    # The defaults only when needed: building them costs more than the rest (issue 10).
    return _from_widget(f, _to_widget(f, Settings.defaults(p.id).values[name]), p)


def on_data_change(page: PageRef) -> None:
    """Callback of the data-set list and knobs: K follows the data set.

    When the data set, or a knob that changes its true number of clusters, changes, K
    becomes the new data's K (:func:`gmm_app.declared.default_k`); the user can then
    change it. (A link that sets K is applied without this callback.)
    """
    p = page_of(page)
    ss = st.session_state
    dataset = ss[field_key(p.id, "dataset")]
    ensure_knobs(p.id, dataset)
    new = Context(page_dim(p), dataset, tuple(sorted(_read_knobs(p, dataset).items())))
    previous: Settings | None = ss.get(keys(p.id).last_run)
    if previous is None or previous.dataset != dataset or default_k(new) != default_k(
        previous.context()
    ):
        ss[field_key(p.id, "n_components")] = default_k(new)


def on_dim_change(page: PageRef) -> None:
    """Callback of a model page's 1-D/2-D choice: the data set (the upload of that
    dimension if there is one, else the default) and the choices that depend on it follow."""
    p = page_of(page)
    ss = st.session_state
    n = page_dim(p)
    defaults = Settings.defaults(p.id, n_features=n)
    ss[field_key(p.id, "dataset")] = (UPLOADED if uploaded_dataset(n) is not None
                                      else defaults.dataset)
    _validate_choices(p)  # e.g. a 2-D covariance type
    if "n_components" in p.fields:
        on_data_change(p.id)


def means_error(page: PageRef) -> str | None:
    """Why the typed starting means cannot be read, or None if they can."""
    p = page_of(page)
    try:
        parse_means(st.session_state.get(field_key(p.id, "manual_means"), ""), p.n_features or 2)
    except ValueError as err:
        return str(err)
    return None


def note_run(settings: Settings) -> str | None:
    """Record the run the page now shows; if it differs from the last one, start over.

    A new run puts the cursor back to the start, stops Play, forgets the inspected point
    and the link's messages, and returns a sentence saying what changed (None if the run
    is the same, or on the page's first run).
    """
    k = keys(settings.page)
    ss = st.session_state
    previous: Settings | None = ss.get(k.last_run)
    ss[k.last_run] = settings
    if previous is None or previous.run_key() == settings.run_key():
        return None
    ss[k.field("step")] = 0
    ss[k.playing] = False
    ss[k.field("inspect")] = None
    ss[k.link_messages] = []
    ss[k.upload_fallback] = False
    message = describe_change(settings, previous)
    ss[k.notice] = message
    return message


def run_changed_since_render(page: PageRef) -> bool:
    """True if the widgets now describe another run than the one last rendered."""
    previous: Settings | None = st.session_state.get(keys(page).last_run)
    return previous is None or previous.run_key() != read_settings(page).run_key()


# --------------------------------------------------------------------------- cursor, notice, play
def get_cursor(page: PageRef, n_steps: int) -> int:
    """The shown half-step, clamped to ``0 .. n_steps - 1`` (and stored clamped)."""
    key = keys(page).field("step")
    value = int(st.session_state.get(key, 0) or 0)
    clamped = min(max(value, 0), max(n_steps - 1, 0))
    if clamped != value:
        st.session_state[key] = clamped
    return clamped


def set_cursor(page: PageRef, index: int) -> None:
    """Move the cursor (call before the history slider is drawn in the run)."""
    st.session_state[keys(page).field("step")] = int(index)


def get_notice(page: PageRef) -> str | None:
    """The message about the last action (kept until the next one)."""
    return st.session_state.get(keys(page).notice)


def set_notice(page: PageRef, message: str | None) -> None:
    """Replace the message about the last action (None clears it)."""
    st.session_state[keys(page).notice] = message


def is_playing(page: PageRef) -> bool:
    """Whether Play is running on this page."""
    return bool(st.session_state.get(keys(page).playing, False))


def set_playing(page: PageRef, playing: bool) -> None:
    """Start or stop Play."""
    st.session_state[keys(page).playing] = bool(playing)


def pressed_button(page: PageRef, actions: Sequence[str]) -> str | None:
    """The button (by its key's action, e.g. "E") whose click started this run, or None.

    Read before the buttons are drawn, so that the page can draw them as they are after the
    click (e.g. the next half-step's button highlighted).
    """
    k = keys(page)
    ss = st.session_state
    return next((a for a in actions if ss.get(k.button(a)) is True), None)


def get_teaching(page: PageRef, name: str, default: Any = None) -> Any:
    """A value of the teaching tools (:mod:`gmm_app.teaching`): Play's clock, a student's
    guess. Kept in this session only."""
    return st.session_state.get(widget_key(page, "teach", name), default)


def set_teaching(page: PageRef, name: str, value: Any) -> None:
    """Keep a value of the teaching tools (None forgets it)."""
    key = widget_key(page, "teach", name)
    if value is None:
        st.session_state.pop(key, None)
    else:
        st.session_state[key] = value


def get_inspected(page: PageRef, n_points: int) -> int | None:
    """Index of the inspected point, or None (also when out of range)."""
    value = view_value(page, "inspect")
    return value if value is not None and 0 <= value < n_points else None


def check_inspected(page: PageRef, n_points: int) -> None:
    """Drop an inspected point the data do not have (e.g. a link's), saying so with the
    link's messages (:func:`link_messages`). Call before the point's widget is drawn."""
    value = view_value(page, "inspect")
    if value is None or 0 <= value < n_points:
        return
    k = keys(page)
    st.session_state[k.field("inspect")] = None
    message = (
        f"The link's {FIELD['inspect'].url}={value} was ignored: these data have the points "
        f"0 to {n_points - 1}. No point is inspected."
    )
    st.session_state[k.link_messages] = [*link_messages(page), md_escape(message)]


def click_sets_means(page: PageRef) -> bool:
    """True when a click on the chart places a starting mean (manual initialisation)."""
    return view_value(page, "init_method") == "manual" and view_value(
        page, "click_mode") == "mean"


def clear_means(page: PageRef) -> None:
    """Callback: forget the manual starting means."""
    st.session_state[keys(page).field("manual_means")] = ""


def add_mean(
    means: tuple[tuple[float, ...], ...], point: Sequence[float], n_components: int
) -> tuple[tuple[float, ...], ...]:
    """The means after a click on ``point``: appended, or a fresh list once K are placed."""
    new = tuple(float(v) for v in point)
    if len(means) >= n_components:
        return (new,)
    return (*means, new)


def on_chart_select(page: PageRef, data_curve: int) -> None:
    """Callback of the stepper chart's point selection.

    A click on a data point (trace ``data_curve``) either places a starting mean
    (manual initialisation) or becomes the inspected point (and opens its tab).
    """
    p = page_of(page)
    k = keys(p.id)
    ss = st.session_state
    event = ss.get(k.chart)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    points = [pt for pt in points if pt.get("curve_number") == data_curve]
    if not points:
        return
    point = points[-1]
    index = point.get("point_index", point.get("point_number"))
    if click_sets_means(p.id):
        means = view_value(p.id, "manual_means")
        n = p.n_features or 2
        # 4 significant digits: readable in the text box, plenty for a starting mean.
        coords = [float(f"{float(v):.4g}") for v in (point["x"], point["y"])[:n]]
        ss[k.field("manual_means")] = format_means(
            add_mean(means, coords, int(ss[k.field("n_components")]))
        )
    elif index is not None:
        ss[k.field("inspect")] = int(index)
        ss[k.field("tab")] = FIELD["tab"].labels["inspect"]


# --------------------------------------------------------------------------- links
def sync_query(settings: Settings) -> None:
    """Write the settings into the URL so that the address bar is a link to this view."""
    k = keys(settings.page)
    query = settings.to_query()
    if st.session_state.get(k.query_written) == query:
        return
    st.session_state[k.query_written] = query
    st.query_params.from_dict(query)


def share_link(settings: Settings) -> str:
    """The full link to the view ``settings`` describe (as the address bar holds it).

    The address is the one the browser uses (``st.context.url``); without one (a test
    run) the link is relative to the server.
    """
    try:
        base = (st.context.url or "").rstrip("/")
    except Exception:  # no browser context (e.g. a bare test run)
        base = ""
    path = page_of(settings.page).path
    # The browser's URL may still end with this page's path (Streamlit trims it only in
    # some routing modes): the link's path is then not doubled.
    if path and base.endswith("/" + path):
        base = base[: -len(path) - 1]
    return f"{base}/{path}?{urlencode(settings.to_query())}"


# --------------------------------------------------------------------------- uploaded data
def content_key(content: np.ndarray | bytes | str) -> str:
    """SHA-256 identifying content: an array by its shape and float64 bytes, a file by its
    bytes, pasted text by its characters (each kind prefixed, so they never collide)."""
    if isinstance(content, np.ndarray):
        X = np.ascontiguousarray(content, dtype=np.float64)
        digest = hashlib.sha256(repr(X.shape).encode())
        digest.update(X.tobytes())
        return "array:" + digest.hexdigest()
    if isinstance(content, str):
        return "text:" + hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
    return "file:" + hashlib.sha256(bytes(content)).hexdigest()


def builtin_data_key(dataset: str, knobs: Mapping[str, float]) -> str:
    """The identity of a built-in data set made with ``knobs`` (the cache key of its runs)."""
    return f"builtin:{dataset}:{tuple(sorted(knobs.items()))!r}"


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
        Integer code of each row's label (the user's label column), into ``label_names``.
    label_names : tuple of str, or None
    content_key : str
        :func:`content_key` of X: caches over user data are keyed by it.
    """

    X: np.ndarray
    name: str
    feature_names: tuple[str, ...]
    labels: np.ndarray | None
    label_names: tuple[str, ...] | None
    content_key: str

    @property
    def data_key(self) -> str:
        """The identity of these data as a run's data (see :func:`builtin_data_key`)."""
        return f"upload:{self.content_key}"


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
    ss[k.field("dataset")] = UPLOADED
    # K follows the data: the number of classes of the label column, if there is one.
    k_field = FIELD["n_components"]
    n_labels = len(np.unique(labels_arr)) if labels_arr is not None else 0
    ss[k.field("n_components")] = (
        int(min(max(n_labels, k_field.lo or 1), k_field.hi or n_labels))
        if n_labels
        else default_k(Context(n_features, UPLOADED))
    )
    ss[k.field("step")] = 0
    ss[k.playing] = False
    ss[k.field("inspect")] = None
    ss.pop(k.last_run, None)
    clear_means(n_features)
    set_notice(n_features, "New data: the run starts again from the initial parameters.")


def uploaded_dataset(n_features: int) -> UploadedData | None:
    """This session's uploaded data of dimension ``n_features``, if any."""
    return st.session_state.get(_UPLOADED_KEY.format(n_features=n_features))


def clear_uploaded_dataset(n_features: int) -> None:
    """Forget this session's uploaded data of dimension ``n_features``."""
    st.session_state.pop(_UPLOADED_KEY.format(n_features=n_features), None)
    key = field_key(n_features, "dataset")
    if st.session_state.get(key) == UPLOADED:
        st.session_state[key] = Settings.defaults(page_of(n_features).id).dataset

