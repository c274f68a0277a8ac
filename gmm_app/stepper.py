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

from dataclasses import replace
from functools import partial

import streamlit as st

from gmm_app import cursor as cursor_mod
from gmm_app import engine, figures, state
from gmm_app.data import DataError, LoadedData, dataset_title, load_data
from gmm_app.formatting import status_line, stop_message
from gmm_app.geometry import SIGMA_LEVELS, blend_colours, chi2_mass, histogram_density
from gmm_app.live_chart import live_chart
from gmm_core import INIT_METHODS, datasets

PAGE_TITLES = {1: "EM in 1-D", 2: "EM in 2-D"}
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
PLAY_INTERVAL_S = 0.15
"""Seconds between two half-steps while Play runs."""

COVARIANCE_LABELS = {
    1: {"full": "variable variance", "tied": "equal variance"},
    2: {
        "full": "full",
        "tied": "tied (one shared)",
        "diag": "diagonal",
        "spherical": "spherical",
    },
}
INIT_LABELS = {
    "random_from_data": "random data points",
    "kmeans++": "k-means++ seeding",
    "kmeans": "k-means result",
    "random_resp": "random responsibilities",
    "manual": "manual (you choose the means)",
}
# Pixel sizes (width, height) of the main chart for each state.CHART_SIZES choice; the
# side panel is SIDE_WIDTH wide and moves below the chart when the window is too narrow.
CHART_PIXELS = {
    state.CHART_SIZES[0]: (460, 450),
    state.CHART_SIZES[1]: (640, 560),
    state.CHART_SIZES[2]: (860, 680),
}
SIDE_WIDTH = 330
# The charts are live_chart components (updated in place with Plotly.react, not remounted);
# the figures carry their own complete styling.
PLOT_CONFIG = {
    "displaylogo": False,
    "scrollZoom": False,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d", "toImage"],
}


# --------------------------------------------------------------------------- page
def render_stepper(n_features: int) -> None:
    """Draw a stepper page for data of dimension ``n_features`` (1 or 2)."""
    messages = state.init_page(n_features)
    uploaded = state.uploaded_dataset(n_features)
    settings = _sidebar(n_features, uploaded)

    for message in messages:
        st.warning(message)
    try:
        data = load_data(settings, uploaded)
    except DataError as err:
        _display_controls(n_features, None)
        st.subheader(PAGE_TITLES[n_features], anchor=False)
        st.error(str(err))
        return
    _display_controls(n_features, data)
    state.note_run(settings)
    state.sync_query(settings)
    _header(n_features, data)

    problem = engine.manual_means_problem(settings)
    outcome = None if problem else engine.compute_run(data, settings)
    if outcome is not None and outcome.error:
        st.error(outcome.error)
        return
    body = _stepper_playing if state.is_playing(n_features) else _stepper_still
    body(n_features, data, settings, outcome, problem)


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
    keep = {"persist_state": "session"}
    with st.sidebar:
        st.header("Data", anchor=False)
        dataset = st.selectbox(
            "Data set",
            state.dataset_choices(n_features),
            key=k.dataset,
            format_func=partial(dataset_title, uploaded=uploaded),
            **keep,
        )
        state.ensure_knobs(n_features, dataset)
        spec = None if dataset == state.UPLOADED else datasets.describe(dataset)
        if spec is not None and spec.knobs:
            with st.expander("Data set settings"):
                for knob in spec.knobs:
                    _knob_widget(knob, k.knob(dataset, knob.name))

        st.header("Model", anchor=False)
        st.slider("Components K", state.K_MIN, state.K_MAX, key=k.n_components, **keep)
        choices = state.COVARIANCE_CHOICES[n_features]
        st.radio(
            "Variance" if n_features == 1 else "Covariance type",
            choices,
            key=k.covariance_type,
            format_func=COVARIANCE_LABELS[n_features].get,
            horizontal=True,
            help="Equal variance = every component has the same σ (tied)."
            if n_features == 1
            else "full: any ellipse; tied: one ellipse shape shared by all; diagonal: "
            "axis-aligned; spherical: circles.",
            **keep,
        )
        init = st.selectbox(
            "Initialisation", INIT_METHODS, key=k.init_method,
            format_func=INIT_LABELS.get, **keep,
        )
        if init == "manual":
            _manual_means_controls(n_features)
        st.number_input(
            "Seed", min_value=0, max_value=state.SEED_MAX, step=1, key=k.seed,
            help="Drives the random initialisation: the same seed gives the same run.",
            **keep,
        )
        with st.expander("Regularisation and stopping"):
            st.number_input(
                "reg_covar", min_value=0.0, max_value=state.REG_COVAR_MAX, step=1e-6,
                format="%.1e", key=k.reg_covar,
                help="Added to every variance after each M-step. 0 lets a component "
                "collapse onto a point.",
                **keep,
            )
            st.number_input(
                "Tolerance", min_value=state.TOL_MIN, max_value=state.TOL_MAX, step=1e-4,
                format="%.1e", key=k.tol,
                help="EM stops when the log-likelihood per point changes by less.",
                **keep,
            )
            st.number_input(
                "Maximum iterations", min_value=state.MAX_ITER_MIN,
                max_value=state.MAX_ITER_MAX, step=1, key=k.max_iter, **keep,
            )
    return state.read_settings(n_features)


def _display_controls(n_features: int, data: LoadedData | None) -> None:
    k = state.keys(n_features)
    keep = {"persist_state": "session"}
    with st.sidebar:
        st.header("Display", anchor=False)
        st.select_slider("Chart size", state.CHART_SIZES, key=k.chart_size, **keep)
        if n_features == 2:
            st.toggle("Mixture density contours", key=k.contours, **keep)
            st.toggle(
                "Reveal the true components",
                key=k.truth,
                disabled=data is None or data.true_params is None,
                help="Dotted: the 2\u03c3 ellipses of the mixture that generated the data "
                "(synthetic Gaussian data only).",
                **keep,
            )
        st.caption("The address bar holds these settings: copy it to share this view.")


def _knob_widget(knob: datasets.Knob, key: str) -> None:
    keep = {"persist_state": "session"}
    if knob.is_integer and knob.max - knob.min > 100:
        st.number_input(
            knob.label, min_value=knob.min, max_value=knob.max, step=knob.step, key=key,
            help=knob.help, **keep,
        )
    else:
        st.slider(
            knob.label, min_value=knob.min, max_value=knob.max, step=knob.step, key=key,
            help=knob.help, **keep,
        )


def _manual_means_controls(n_features: int) -> None:
    k = state.keys(n_features)
    st.text_input(
        "Starting means",
        key=k.manual_means,
        placeholder="e.g. 1, 2; 4, 5" if n_features == 2 else "e.g. -2, 0, 3",
        help="Numbers separated by commas"
        + ("; a semicolon between points." if n_features == 2 else "."),
        persist_state="session",
    )
    error = state.means_error(n_features)
    if error:
        st.error(error)
    st.radio(
        "A click on a data point",
        (state.CLICK_SETS_MEAN, state.CLICK_INSPECTS),
        key=k.click_mode,
        persist_state="session",
    )
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
    history = outcome.history
    phases = [s.phase for s in history.steps]
    last = len(phases) - 1
    stop = stop_message(history)
    cursor = state.get_cursor(n_features, len(phases))
    playing = state.is_playing(n_features)

    clicked = _buttons(n_features, playing)
    if clicked == "play":
        _toggle_play(n_features, playing, cursor, last)
    elif clicked is not None:
        move = cursor_mod.move(clicked, cursor, phases, stop)
        state.set_cursor(n_features, move.cursor)
        state.set_notice(n_features, move.message)
        if playing:
            state.set_playing(n_features, False)
            st.rerun(scope="app")
    elif playing:
        move = cursor_mod.move("play", cursor, phases, stop)
        state.set_cursor(n_features, move.cursor)
        if move.at_end:
            state.set_playing(n_features, False)
            state.set_notice(n_features, stop)
            st.rerun(scope="app")

    k = state.keys(n_features)
    cursor = state.get_cursor(n_features, len(phases))
    state.sync_query(replace(settings, step=cursor))
    st.markdown(f"##### {status_line(history, cursor)}", anchors=False)
    view = engine.step_view(data.X, history, cursor)
    chart_width, chart_height = CHART_PIXELS[state.chart_size(n_features)]
    row = st.container(horizontal=True, gap="small")
    left = row.container(width=chart_width)
    right = row.container(width=SIDE_WIDTH)
    # The main chart first: its update reaches the browser before the side panel's.
    with left:
        _main_chart(n_features, data, history, cursor, view, (chart_width, chart_height))
    with right:
        if last > 0:
            st.slider(
                "History: drag to any half-step",
                0,
                last,
                key=k.step,
                on_change=state.set_notice,
                args=(n_features, None),
                persist_state="session",
            )
        notice = state.get_notice(n_features)
        if history.collapse is not None and cursor == last:
            st.warning(
                f"{history.collapse.message} It is marked with a red cross on the chart.",
                icon=":material/warning:",
            )
        elif notice:
            st.info(notice)
        if view.error:
            st.warning(view.error)
        live_chart(
            figures.loglik_figure(history.log_likelihoods, phases, cursor,
                                  uirevision=data.key, width=SIDE_WIDTH),
            key=k.chart + ".ll",
            config=PLOT_CONFIG,
            defer=True,
        )
        # State tracking on (on_change="rerun"), so that a click on a point can open
        # the "Inspect a point" tab.
        params_tab, inspect_tab = st.tabs(
            [state.PARAMETERS_TAB, state.INSPECT_TAB], key=k.tabs, on_change="rerun"
        )
        with params_tab:
            table = figures.parameter_table(view.params, view.nk)
            st.table(figures.style_parameter_table(table), hide_index=True)
            st.caption(
                "\u03c0 weight, \u03bc mean, \u03c3 standard deviation, \u03c1 correlation; "
                "N\u2096 = \u03a3\u2099 \u03b3\u2099\u2096, the points component k owns "
                "under the responsibilities the colours show."
            )
        with inspect_tab:
            _inspector(n_features, data, view)


@st.fragment
def _stepper_still(*args: object) -> None:
    _stepper_body(*args)  # type: ignore[arg-type]


@st.fragment(run_every=PLAY_INTERVAL_S)
def _stepper_playing(*args: object) -> None:
    # A separate fragment (not the same one with run_every switched) so that
    # pausing unregisters it and its timer stops.
    _stepper_body(*args)  # type: ignore[arg-type]


def _buttons(n_features: int, playing: bool) -> str | None:
    k = state.keys(n_features)
    clicked = None
    with st.container(horizontal=True, gap="small"):
        for label, action in BUTTONS:
            shown = PAUSE_LABEL if (action == "play" and playing) else label
            primary = action in ("E", "M")
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
        state.set_playing(n_features, True)
        state.set_notice(n_features, "Playing: one half-step at a time. Press Pause to stop.")
    st.rerun(scope="app")


def _main_chart(
    n_features: int,
    data: LoadedData,
    history: object,
    cursor: int,
    view: engine.StepView,
    size: tuple[int, int],
) -> None:
    k = state.keys(n_features)
    X = data.X
    colours = blend_colours(view.resp, X.shape[0])
    inspected = state.get_inspected(n_features, X.shape[0])
    if n_features == 2:
        show_density, show_truth = state.display_options(n_features)
        fig = figures.figure_2d(
            X,
            view.params,
            colours,
            feature_names=data.feature_names,
            density=engine.density_grid_2d(X, view.params) if show_density else None,
            true_params=data.true_params if show_truth else None,
            inspected=inspected,
            collapsed=view.collapsed,
            uirevision=data.key,
            width=size[0],
            height=size[1],
        )
        data_curve = figures.TRACE_POINTS
    else:
        curves = engine.curves_1d(X, view.params, engine.last_e_params(history, cursor))
        fig = figures.figure_1d(
            X,
            view.params,
            colours,
            histogram=histogram_density(X[:, 0]),
            grid=curves.grid,
            component_density=curves.component_density,
            mixture_density=curves.mixture_density,
            grid_resp=curves.grid_resp,
            feature_name=data.feature_names[0],
            inspected=inspected,
            collapsed=view.collapsed,
            uirevision=data.key,
            width=size[0],
            height=size[1],
        )
        data_curve = figures.rug_trace_index(view.params.n_components)
    live_chart(
        fig,
        key=k.chart,
        config=PLOT_CONFIG,
        on_select=partial(state.on_chart_select, n_features, data_curve),
    )
    st.caption(_chart_legend(n_features, view.resp is not None))


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
    k = state.keys(n_features)
    n = data.X.shape[0]
    st.number_input(
        f"Point number (0 to {n - 1})",
        min_value=0,
        max_value=n - 1,
        step=1,
        key=k.inspect,
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
    st.table(figures.style_breakdown_table(table), hide_index=True)
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
    width, height = CHART_PIXELS[state.chart_size(n_features)]
    fig = figures.data_figure(
        data.X, settings.manual_means, data.feature_names, width=width, height=height
    )
    live_chart(
        fig,
        key=k.chart,
        config=PLOT_CONFIG,
        on_select=partial(state.on_chart_select, n_features, figures.TRACE_POINTS),
    )
