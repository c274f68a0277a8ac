"""The shared body of the "EM in 1-D" and "EM in 2-D" pages: controls, stepper, charts.

The two pages differ only in their main figure (and in the covariance choices).
Flow of a run of the page:

1. :func:`gmm_app.state.init_page` applies a shared link's settings once and
   gives every widget a value; the sidebar widgets then *are* the settings.
2. The data are loaded (cached) and the EM run is derived from the settings
   (:func:`gmm_app.engine.compute_run`, cached): no button computes EM.
3. The stepper (buttons, history slider, status, charts, tables) runs in an
   ``st.fragment``: a click reruns only it, moving a cursor over the run's
   half-steps. Play reruns the fragment on a timer.

No mathematics here: numbers come from :mod:`gmm_core` through
:mod:`gmm_app.engine`; figures from :mod:`gmm_app.figures`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial

import numpy as np
import streamlit as st

from gmm_app import (
    agreement,
    code_panel,
    engine,
    export,
    figures,
    model_panels,
    predict,
    sharing,
    state,
    teaching,
    teaching_figures,
)
from gmm_app import cursor as cursor_mod
from gmm_app.data import DataError, LoadedData, dataset_title, load_data
from gmm_app.declared import (
    CHART_PIXELS,
    COVARIANCE_LABELS_1D,
    FIELD,
    POINT_SCALES,
    RUN_TO_END_BUDGET_S,
    knob_fields,
)
from gmm_app.formatting import (
    COMPUTED_SO_FAR_HELP,
    computed_so_far,
    fmt_number,
    md_escape,
    status_line,
    still_computing,
    stop_message,
)
from gmm_app.geometry import SIGMA_LEVELS, blend_colours_array, chi2_mass, histogram_density
from gmm_app.live_chart import live_chart, prefetch_spec
from gmm_app.routing import page as routed_page
from gmm_app.widgets import setting_widget

PAGE_TITLES = {n: state.page_of(n).title for n in (1, 2)}
# (label, action): the labels are part of the interface (tests and the benchmark use them).
BUTTONS: tuple[tuple[str, str], ...] = (
    ("E-step", "E"),
    ("M-step", "M"),
    ("Iterate", "iterate"),
    ("Run to convergence", "run"),
    ("Play", "play"),
    ("Back", "back"),
    ("Reset", "reset"),
)
PAUSE_LABEL = "Pause"
# Said under a collapse, where E-step and M-step can do nothing more (no button is
# highlighted there either).
RUN_ENDS_HERE = (
    "The run ends here: E-step and M-step cannot go on. Press Back or drag the history "
    "slider to see how it happened, or change a setting (e.g. raise reg_covar) to start a "
    "new run."
)

# The main chart's pixel size is declared with the chart_size field (CHART_PIXELS); the
# side panel is SIDE_WIDTH wide and moves below the chart when the window is too narrow.
SIDE_WIDTH = 330
# The charts are live_chart components (updated in place with Plotly.react, not remounted);
# the figures carry their own complete styling.
PLOT_CONFIG = {
    "displaylogo": False,
    "scrollZoom": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", "toImage"],
}
PARAMETER_LEGEND_HTML = (
    '<p style="font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); margin: 0.25rem 0 0">'
    "\u03c0 weight, \u03bc mean, \u03c3 standard deviation, \u03c1 correlation; "
    "N\u2096 = \u03a3\u2099 \u03b3\u2099\u2096, the points component k owns under the "
    "responsibilities the colours show.</p>"
)
"""The parameter table's legend, styled as a caption (drawn with the table, as one element)."""


# --------------------------------------------------------------------------- page
def render_stepper(n_features: int) -> None:
    """Draw a stepper page for data of dimension ``n_features`` (1 or 2)."""
    state.init_page(n_features)
    uploaded = state.uploaded_dataset(n_features)
    settings = _sidebar(n_features, uploaded)

    try:
        data = load_data(settings, uploaded)
    except DataError as err:
        _display_controls(n_features, None)
        _link_messages(n_features)
        st.subheader(PAGE_TITLES[n_features], anchor=False)
        st.error(str(err))
        return
    _display_controls(n_features, data)
    state.note_run(settings)  # a new run also forgets the link's messages
    state.check_inspected(n_features, data.X.shape[0])
    state.sync_query(settings)
    _link_messages(n_features)
    _header(n_features, data)
    teaching.render_controls(n_features)

    problem = engine.manual_means_problem(settings)
    outcome = None if problem else engine.compute_run(data, settings)
    if outcome is not None and outcome.error:
        st.error(outcome.error)
        return
    playing = state.is_playing(n_features)
    body = _playing_fragment(state.view_value(n_features, "play_speed")) if playing else (
        _stepper_still)
    body(n_features, data, settings, outcome, problem)


def _link_messages(n_features: int) -> None:
    """What the link that opened the page could not do: its uploaded data (a box of its own,
    with the way to the upload page), and every ignored value together in one box."""
    fallback = state.upload_fallback(n_features)
    if fallback:
        with st.container(border=True):
            st.info(fallback, icon=":material/link_off:")
            st.page_link(routed_page("your_data"), icon=":material/upload_file:")
    messages = state.link_messages(n_features)
    if len(messages) == 1:
        st.warning(messages[0], icon=":material/link:")
    elif messages:
        st.warning(
            "Parts of this link were not used:\n" + "\n".join(f"- {m}" for m in messages),
            icon=":material/link:",
        )


def _header(n_features: int, data: LoadedData) -> None:
    n, d = data.X.shape
    if data.trusted:
        st.subheader(
            f"{PAGE_TITLES[n_features]} \u00b7 {data.title} \u00b7 N = {n:,}",
            anchor=False,
            help=data.description,
        )
    else:  # user text is never rendered as Markdown: the file name is in the sidebar list
        st.subheader(f"{PAGE_TITLES[n_features]} \u00b7 your data \u00b7 N = {n:,}", anchor=False)


# --------------------------------------------------------------------------- sidebar
def _sidebar(n_features: int, uploaded: state.UploadedData | None) -> state.Settings:
    k = state.keys(n_features)
    data_changed = {"on_change": state.on_data_change, "args": (n_features,)}
    with st.sidebar:
        st.header("Data", anchor=False)
        dataset = setting_widget(
            n_features, "dataset",
            options=state.dataset_choices(n_features),
            format_func=partial(dataset_title, uploaded=uploaded),
            **data_changed,
        )
        state.ensure_knobs(n_features, dataset)
        knobs = knob_fields(dataset)
        if knobs:
            with st.expander("Data set settings"):
                for knob in knobs:
                    setting_widget(n_features, knob.name, field=knob,
                                   key=k.knob(dataset, knob.name), **data_changed)

        st.header("Model", anchor=False)
        setting_widget(n_features, "n_components")
        if n_features == 1:
            setting_widget(n_features, "covariance_type", label="Variance", horizontal=True,
                           format_func=COVARIANCE_LABELS_1D.get,
                           help="Equal variance = every component has the same σ (tied).")
        else:
            setting_widget(n_features, "covariance_type", horizontal=True)
        init = setting_widget(n_features, "init_method")
        if init == "manual":
            _manual_means_controls(n_features)
        setting_widget(n_features, "seed")
        with st.expander("Regularisation and stopping"):
            for name in ("reg_covar", "tol", "stop_rule", "max_iter"):
                setting_widget(n_features, name)
    return state.read_settings(n_features)


def _display_controls(n_features: int, data: LoadedData | None) -> None:
    with st.sidebar:
        st.header("Display", anchor=False)
        setting_widget(n_features, "chart_size")
        if n_features == 2:
            setting_widget(n_features, "contours")
            setting_widget(n_features, "truth", disabled=data is None or data.true_params is None)
            setting_widget(n_features, "point_size")
            if data is not None and data.labels is not None:
                setting_widget(n_features, "label_shapes")
        st.caption(
            "A link holds all of this view: data, model, step, display, inspected point and "
            "tab. Use 'Share and download' under the chart, or copy the address bar."
        )


def _manual_means_controls(n_features: int) -> None:
    k = state.keys(n_features)
    setting_widget(
        n_features, "manual_means",
        placeholder="e.g. 1, 2; 4, 5" if n_features == 2 else "e.g. -2, 0, 3",
    )
    error = state.means_error(n_features)
    if error:
        st.error(error)
    setting_widget(n_features, "click_mode")
    st.button("Clear the means", key=k.button("clear_means"),
              on_click=state.clear_means, args=(n_features,))


# --------------------------------------------------------------------------- stepper fragment
def _stepper_body(
    n_features: int,
    data: LoadedData,
    settings: state.Settings,
    outcome: engine.RunOutcome | None,
    problem: str | None,
) -> None:
    if state.run_changed_since_render(n_features):
        # A click on the chart changed the settings (a starting mean): redo the whole page.
        st.rerun(scope="app")
    if problem is not None or outcome is None or outcome.history is None:
        _waiting_for_means(n_features, data, settings, problem or "")
        return
    # Read before the buttons are drawn: they are drawn as they are after the click.
    clicked = state.pressed_button(n_features, teaching.BUTTON_ACTIONS)
    clicked = "play" if clicked == "pause" else clicked
    if not outcome.complete:  # computed lazily (issue 10): compute what this view needs next
        wanted = state.get_cursor(n_features, 2 * outcome.max_iter + 1)  # e.g. a link's step
        outcome = engine.extend_run(data, settings, outcome, clicked, wanted)
    history = outcome.history
    phases = [s.phase for s in history.steps]
    last = len(phases) - 1
    stop = stop_message(history) if outcome.complete else still_computing(
        history, outcome.max_iter, RUN_TO_END_BUDGET_S if clicked == "run" else None)
    cursor = state.get_cursor(n_features, len(phases))
    playing = state.is_playing(n_features)

    if clicked == "play":
        _toggle_play(n_features, playing, cursor, last)
    elif clicked is not None:
        move = cursor_mod.move(clicked, cursor, phases, stop, end_known=outcome.complete)
        move = predict.hold(n_features, clicked, cursor, move, phases)  # predict first?
        state.set_cursor(n_features, move.cursor)
        state.set_notice(n_features, move.message)
        if playing:
            state.set_playing(n_features, False)
            st.rerun(scope="app")
    elif playing:
        target = teaching.play_tick(n_features, cursor, last)  # follows Play's clock
        state.set_cursor(n_features, target)
        if target >= last and outcome.complete:
            state.set_playing(n_features, False)
            state.set_notice(n_features, stop)
            st.rerun(scope="app")

    k = state.keys(n_features)
    cursor = state.get_cursor(n_features, len(phases))
    # At the end of a finished run no half-step comes next: no button is highlighted.
    ended = outcome.complete and cursor == last
    _buttons(n_features, state.is_playing(n_features), phases, cursor, ended)
    # The view as it is now (the fragment's own widgets may have changed since the page ran).
    shown = state.read_settings(n_features).replace(step=cursor)
    state.sync_query(shown)
    st.markdown(f"##### {status_line(history, cursor)}", anchors=False)
    predict.render(n_features, data.X, history, settings.run_spec(data.key),
                   history.steps[0].params.n_components)
    view = engine.step_view(data.X, history, cursor, key=settings.run_spec(data.key))
    chart_width, chart_height = CHART_PIXELS[shown.chart_size]
    presenter = bool(shown.presenter)
    if presenter:  # the chart and the side panel scale with the window
        left, right = st.columns(teaching.PRESENTER_COLUMNS, gap="medium")
    else:
        row = st.container(horizontal=True, gap="small")
        left = row.container(width=chart_width)
        right = row.container(width=SIDE_WIDTH)
    # The main chart first: its update reaches the browser before the side panel's.
    with left:
        _main_chart(n_features, data, history, cursor, view, (chart_width, chart_height),
                    settings.run_spec(data.key))
        _share_and_download(n_features, data, shown, history, cursor)
        _label_agreement(n_features, data, view)
        model_panels.render_model_panels(n_features, data, view.params, chart_width)
    with right:
        if last > 0:
            st.slider(
                "History: drag to any half-step",
                0,
                last,
                key=k.field("step"),
                on_change=state.set_notice,
                args=(n_features, None),
                persist_state="session",
            )
        if not outcome.complete:
            st.caption(computed_so_far(history, outcome.max_iter), help=COMPUTED_SO_FAR_HELP)
        notice = state.get_notice(n_features)
        if history.collapse is not None and cursor == last:
            st.warning(
                f"{history.collapse.message} It is marked with a red cross on the chart. "
                f"{RUN_ENDS_HERE}",
                icon=":material/warning:",
            )
        elif notice:
            st.info(notice)
        if view.error:
            st.warning(view.error)
        if not presenter:
            _loglik_chart(n_features, data, history, phases, cursor, presenter,
                           settings.run_spec(data.key))
        # State tracking on (on_change="rerun"), so that a click on a point can open
        # the "Inspect a point" tab.
        tab = FIELD["tab"]
        params_tab, inspect_tab, code_tab = st.tabs(
            [tab.labels["parameters"], tab.labels["inspect"], tab.labels["code"]],
            key=k.field("tab"),
            on_change="rerun",
        )
        # Lazy tabs (on_change="rerun" gives each its .open): a click builds only the tab
        # that is shown (issue 10: the hidden tabs' tables were a tenth of a click's CPU).
        if params_tab.open is not False:
            with params_tab:
                table = figures.parameter_rows(view.params, view.nk)  # no DataFrame: ~1.5 ms
                # HTML, not a Styler in st.table: ~12 ms less per click (issue 10).
                # The table and its legend in one element (issue 10: each element sent costs
                # the server ~0.5 ms per click).
                st.markdown(figures.parameter_table_html(table) + PARAMETER_LEGEND_HTML,
                            unsafe_allow_html=True)
        if inspect_tab.open is not False:
            with inspect_tab:
                _inspector(n_features, data, view)
        if code_tab.open is not False:
            with code_tab:
                code_panel.render_code_panel(
                    history, cursor, view, data.X, state.get_inspected(n_features, len(data.X))
                )
    if presenter:  # below the tabs: an inspected point's E-step stays on the screen
        with right:
            _loglik_chart(n_features, data, history, phases, cursor, presenter,
                           settings.run_spec(data.key))
    if not state.is_playing(n_features):  # Play follows its clock, which may skip ahead
        _prefetch_next(n_features, data, history, cursor, (chart_width, chart_height),
                       settings.run_spec(data.key), presenter)


def _share_and_download(n_features: int, data: LoadedData, shown: state.Settings,
                        history: object, cursor: int) -> None:
    # One lazy panel (on_change="rerun": built only while open) for the link, its QR code and
    # the downloads: a click of the stepper sends one element for them, not nine (issue 10:
    # ~5 ms of the server's CPU per click).
    panel = st.popover(sharing.PANEL_LABEL, icon=":material/share:", on_change="rerun",
                       key=state.widget_key(n_features, "share_panel"))
    if panel.open is not False:
        link = state.share_link(shown)
        with panel:
            row = st.container(horizontal=True, gap="medium")
            with row.container(width=380):  # beside the QR code: all of it fits 800 px high
                sharing.copy_button(n_features, link)
                st.markdown("**Download the half-step shown**")
                export.render_downloads(n_features, data, shown, history, cursor)
                sharing.link_text(link)
            with row.container(width="content"):
                sharing.qr_code(link)


def _loglik_builder(data: LoadedData, history: object, phases: list[str], cursor: int,
                    presenter: bool) -> Callable[[], object]:
    def build() -> object:
        fig = figures.loglik_figure(
            history.log_likelihoods, phases, cursor,  # type: ignore[attr-defined]
            uirevision=data.key, width=None if presenter else SIDE_WIDTH)
        return teaching_figures.presenter_figure(fig) if presenter else fig

    return build


def _loglik_key(run_key: object, cursor: int, n_phases: int, presenter: bool) -> Hashable:
    # the log-likelihoods are numbers of the run: shared by all its sessions (issue 10)
    return None if run_key is None else ("ll", run_key, cursor, n_phases, presenter)


def _loglik_chart(n_features: int, data: LoadedData, history: object, phases: list[str],
                  cursor: int, presenter: bool, run_key: object = None) -> None:
    live_chart(
        _loglik_builder(data, history, phases, cursor, presenter),
        key=state.keys(n_features).chart_ll,
        config=PLOT_CONFIG,
        defer=True,
        cache_key=_loglik_key(run_key, cursor, len(phases), presenter),
    )


@st.fragment
def _stepper_still(*args: object) -> None:
    _stepper_body(*args)  # type: ignore[arg-type]


_PLAYING: dict[float, object] = {}


def _playing_fragment(speed: float) -> object:
    """The stepper fragment that reruns once per half-step at ``speed`` half-steps/s.

    A separate fragment (not the same one with run_every switched) so that pausing
    unregisters it and its timer stops; one per speed (made once).
    """
    if speed not in _PLAYING:
        def body(*args: object) -> None:
            _stepper_body(*args)  # type: ignore[arg-type]

        body.__qualname__ = f"_stepper_playing_{speed:g}".replace(".", "_")
        _PLAYING[speed] = st.fragment(run_every=teaching.play_interval(speed))(body)
    return _PLAYING[speed]


def _buttons(n_features: int, playing: bool, phases: list[str], cursor: int,
             ended: bool = False) -> str | None:
    k = state.keys(n_features)
    clicked = None
    next_action = None if ended else teaching.next_button(phases, cursor)
    with st.container(horizontal=True, gap="small"):
        for label, action in BUTTONS:
            shown = PAUSE_LABEL if (action == "play" and playing) else label
            primary = action == next_action  # the next half-step's button
            if st.button(
                shown,
                key=k.button(action if shown != PAUSE_LABEL else "pause"),
                type="primary" if primary else "secondary",
            ):
                clicked = action
    return clicked


def _toggle_play(n_features: int, playing: bool, cursor: int, last: int) -> None:
    if playing:
        state.set_playing(n_features, False)
        state.set_notice(n_features, "Paused.")
    else:
        if cursor >= last:
            state.set_cursor(n_features, 0)
        teaching.start_play_clock(n_features, 0 if cursor >= last else cursor)
        state.set_playing(n_features, True)
        state.set_notice(n_features, "Playing: one half-step at a time. Press Pause to stop.")
    st.rerun(scope="app")


@dataclass(frozen=True)
class _ChartView:
    """What the main chart shows besides the half-step: read from the session in the script
    thread, so that the figure can also be built outside it (:func:`_prefetch_next`)."""

    inspected: int | None
    show_density: bool
    show_truth: bool
    label_shapes: bool
    point_size: object
    presenter: bool
    predicting: bool

    @classmethod
    def read(cls, n_features: int, n_points: int) -> _ChartView:
        two_d = n_features == 2
        return cls(
            inspected=state.get_inspected(n_features, n_points),
            show_density=bool(state.view_value(n_features, "contours")) if two_d else False,
            show_truth=bool(state.view_value(n_features, "truth")) if two_d else False,
            label_shapes=bool(state.view_value(n_features, "label_shapes")) if two_d else False,
            point_size=state.view_value(n_features, "point_size") if two_d else None,
            presenter=bool(state.view_value(n_features, "presenter")),
            predicting=bool(state.view_value(n_features, "predict")),
        )


def _main_figure_source(
    n_features: int,
    data: LoadedData,
    history: object,
    cursor: int,
    view: engine.StepView,
    size: tuple[int, int],
    run_key: object,
    shown: _ChartView,
) -> tuple[Hashable | None, Callable[[], object]]:
    """The main chart's shared-cache key (None: not shared) and the function building its
    figure. No ``st`` call, and (but for the predict overlay) no session state read."""
    X = data.X
    # Everything the figure is made from (issue 10: the spec is built once per key and
    # shared by the sessions on the same run). The predict overlay is the session's own.
    # An upload's key is a hash of its numbers only: its column names and labels, also
    # drawn, are added, so that a figure is shared only by sessions with the same content.
    cache_key = None if shown.predicting or run_key is None else (
        "main", n_features, run_key, data.key if data.trusted else _drawn_identity(data), cursor,
        len(history.steps), history.collapse is not None,  # type: ignore[attr-defined]
        shown.inspected, shown.show_density, shown.show_truth, shown.label_shapes,
        shown.point_size, size, shown.presenter)

    def build() -> object:
        colours = blend_colours_array(view.resp, X.shape[0])
        if n_features == 2:
            fig = _figure_2d(colours)
        else:
            fig = _figure_1d(colours)
        if shown.predicting:
            fig = predict.overlay(fig, n_features, X)
        return teaching_figures.presenter_figure(fig) if shown.presenter else fig

    def _figure_2d(colours: object) -> object:
        return figures.figure_2d(
            X,
            view.params,
            colours,
            feature_names=data.feature_names,
            density=engine.density_grid_2d(X, view.params) if shown.show_density else None,
            true_params=data.true_params if shown.show_truth else None,
            inspected=shown.inspected,
            collapsed=view.collapsed,
            uirevision=data.key,
            width=size[0],
            height=size[1],
            label_codes=data.labels if shown.label_shapes else None,
            point_scale=POINT_SCALES[shown.point_size],
            extent=teaching_figures.run_extent(
                X, [s.params for s in history.steps if s.phase != "E"],  # type: ignore[attr-defined]
                data.true_params if shown.show_truth else None),
        )

    def _figure_1d(colours: object) -> object:
        curves = engine.curves_1d(X, view.params, engine.last_e_params(history, cursor))
        return figures.figure_1d(
            X,
            view.params,
            colours,
            histogram=histogram_density(X[:, 0]),
            grid=curves.grid,
            component_density=curves.component_density,
            mixture_density=curves.mixture_density,
            grid_resp=curves.grid_resp,
            feature_name=data.feature_names[0],
            inspected=shown.inspected,
            collapsed=view.collapsed,
            uirevision=data.key,
            width=size[0],
            height=size[1],
        )

    return cache_key, build


def _main_chart(
    n_features: int,
    data: LoadedData,
    history: object,
    cursor: int,
    view: engine.StepView,
    size: tuple[int, int],
    run_key: object = None,
) -> None:
    k = state.keys(n_features)
    shown = _ChartView.read(n_features, data.X.shape[0])
    cache_key, build = _main_figure_source(n_features, data, history, cursor, view, size,
                                           run_key, shown)
    data_curve = (figures.TRACE_POINTS if n_features == 2
                  else figures.rug_trace_index(view.params.n_components))
    live_chart(
        build,
        key=k.chart,
        config=PLOT_CONFIG,
        on_select=predict.chart_callback(
            n_features, data_curve, view.params.n_components,
            partial(state.on_chart_select, n_features, data_curve)),
        fit=teaching.chart_fit(n_features) if shown.presenter else None,
        cache_key=cache_key,
    )
    st.caption(_chart_legend(n_features, view.resp is not None))


_PREFETCHING = threading.Lock()
"""Held while a next half-step's charts are built (:func:`_prefetch_next`): one at a time
in the server, and none while another is still running (then the click computes it)."""


def _prefetch_next(
    n_features: int,
    data: LoadedData,
    history: object,
    cursor: int,
    size: tuple[int, int],
    run_key: object,
    presenter: bool,
) -> None:
    """Build the charts of the half-step after ``cursor`` into the shared cache, in a thread.

    Stepping goes forward far more often than anywhere else (E-step, M-step, →): the next
    click then finds both charts' specs (and the E-step's responsibilities) computed, and its
    rerun sends them at once (issue 11). Called after the page's elements are sent; builds
    nothing the click would not build itself, with the same keys. Not while playing: Play's
    next half-step is its clock's, which skips ahead when the redraws fall behind, and work
    built ahead for a skipped half-step would only put it further behind.
    """
    steps = history.steps  # type: ignore[attr-defined]
    nxt = cursor + 1
    if run_key is None or nxt >= len(steps):
        return
    shown = _ChartView.read(n_features, data.X.shape[0])
    if shown.predicting:  # the predict round shows the next half-step only on Reveal
        return
    phases = [s.phase for s in steps]

    def work() -> None:
        try:
            view = engine.step_view(data.X, history, nxt, key=run_key)  # type: ignore[arg-type]
            if view.error:
                return
            cache_key, build = _main_figure_source(n_features, data, history, nxt, view, size,
                                                   run_key, shown)
            if cache_key is not None:
                prefetch_spec(cache_key, build)
            prefetch_spec(_loglik_key(run_key, nxt, len(phases), presenter),
                          _loglik_builder(data, history, phases, nxt, presenter))
        finally:
            _PREFETCHING.release()

    if not _PREFETCHING.acquire(blocking=False):
        return
    try:
        threading.Thread(target=work, name="gmm_app-prefetch", daemon=True).start()
    except BaseException:
        _PREFETCHING.release()
        raise


def _drawn_identity(data: LoadedData) -> tuple[object, ...]:
    """What the main chart draws of uploaded data besides its numbers (``data.key``)."""
    labels = None if data.labels is None else hashlib.blake2b(
        np.ascontiguousarray(data.labels).tobytes(), digest_size=16).hexdigest()
    return (data.key, tuple(data.feature_names), labels)


def _label_agreement(n_features: int, data: LoadedData, view: engine.StepView) -> None:
    """The data's own label column against the fitted clusters of the shown half-step."""
    if data.labels is None or data.label_names is None:
        return
    st.markdown("**Your label column and the fitted clusters**")
    if n_features == 2:  # label names are user text: escaped, never Markdown
        shapes = ", ".join(
            f"{figures.label_glyph(code)} {name}" for code, name in enumerate(data.label_names)
        )
        st.caption(md_escape(f"Marker shapes show your labels: {shapes}."))
    if view.resp is None:
        st.caption("After the first E-step, each point's fitted cluster is compared with its "
                   "label here.")
        return
    clusters = view.resp.argmax(axis=1)  # the most responsible component: the hard label
    ari = agreement.adjusted_rand_index(data.labels, clusters)
    st.markdown(
        f"Adjusted Rand index **{fmt_number(ari, 3)}** "
        "(1: the clusters group the points exactly as your labels do; about 0: no better "
        "than chance; the numbering of the clusters does not matter)."
    )
    st.dataframe(
        agreement.confusion_frame(data.labels, data.label_names, clusters,
                                  view.params.n_components),
        hide_index=True,
    )


def _chart_legend(n_features: int, has_resp: bool) -> str:
    colours = (
        "Colours: each point's responsibilities blend the component colours "
        "(a mixed colour = an uncertain point)."
        if has_resp
        else "Points are grey until the first E-step computes their responsibilities."
    )
    if n_features == 1:
        return (
            f"{colours} Top: histogram, each weighted component \u03c0\u2096\u00b7N(x) and "
            "the mixture (dashed); ticks below the axis are the points. Bottom: "
            "\u03b3\u2096(x), the share of each component at every x. Click a tick to inspect it."
        )
    inner, outer = (100 * chi2_mass(r, 2) for r in SIGMA_LEVELS)
    return (
        f"{colours} Solid ellipse: 1\u03c3 ({inner:.0f}% of a component's points inside); "
        f"dashed: 2\u03c3 ({outer:.0f}%); \u25c6 the means. Grey contours (if shown): the "
        "mixture density, each line 2.7\u00d7 lower than the one inside it; dotted: the true "
        "components. Click a point to inspect it."
    )


def _inspector(n_features: int, data: LoadedData, view: engine.StepView) -> None:
    n = data.X.shape[0]
    setting_widget(
        n_features, "inspect", label=f"Point number (0 to {n - 1})", max_value=n - 1,
        placeholder="click a point, or type its number",
    )
    index = state.get_inspected(n_features, n)
    if index is None:
        st.caption("The E-step for one point: pick a point to see its numbers.")
        return
    x = data.X[index]
    coords = ", ".join(figures.fmt_coordinate(v) for v in x)
    st.markdown(f"Point **#{index}** at x = ({coords})")
    table, latex = figures.point_breakdown(
        engine.point_log_weighted(x, view.params), view.params.weights
    )
    st.markdown(figures.breakdown_table_html(table), unsafe_allow_html=True)
    st.latex(latex)
    st.caption(
        "N\u2096(x) = N(x | \u03bc\u2096, \u03a3\u2096), the density of component k at the "
        "point. Computed with the parameters drawn now: these \u03b3\u2096 are what the "
        "next E-step gives this point."
    )


def _waiting_for_means(
    n_features: int, data: LoadedData, settings: state.Settings, problem: str
) -> None:
    st.info(problem)
    k = state.keys(n_features)
    width, height = CHART_PIXELS[state.view_value(n_features, "chart_size")]
    fig = figures.data_figure(
        data.X, settings.manual_means, data.feature_names, width=width, height=height
    )
    live_chart(
        fig,
        key=k.chart,
        config=PLOT_CONFIG,
        on_select=partial(state.on_chart_select, n_features, figures.TRACE_POINTS),
    )
