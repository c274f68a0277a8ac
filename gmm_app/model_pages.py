"""The model pages: /choose-k, /restarts and /kmeans-vs-gmm. Short, top to bottom.

Each page: :func:`gmm_app.state.init_page` (a link's settings applied once), the sidebar
widgets drawn from the field table (:mod:`gmm_app.declared`), the data, the numbers from
:mod:`gmm_app.models` (cached), the figures from :mod:`gmm_app.figures_models`. A click on
a model (a point of the criteria chart, a restart's panel) opens it in the stepper.
No mathematics here.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from gmm_app import figures_models, model_panels, models, state
from gmm_app.data import DataError, LoadedData, dataset_title, load_data
from gmm_app.declared import (
    COVARIANCE_LABELS_1D,
    MAX_ITER_MAX,
    STEPPER_PAGE,
    Context,
    knob_fields,
)
from gmm_app.formatting import fmt_number
from gmm_app.live_chart import safe_config
from gmm_app.routing import page as routed_page
from gmm_app.widgets import setting_widget

PLOT_CONFIG = safe_config({"scrollZoom": False,  # no mode bar button sends data out
                           "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]})
COV_WORDS = {"full": "full", "tied": "tied", "diag": "diagonal", "spherical": "spherical"}
COV_WORDS_1D = dict(COVARIANCE_LABELS_1D)
CRITERION_WORDS = {"bic": "BIC", "aic": "AIC", "cv": "held-out likelihood"}
SIDE_BY_SIDE_WIDTH = 440
"""Width in px of each of the two charts on /kmeans-vs-gmm (both fit 1280×800)."""


# --------------------------------------------------------------------------- shared
def _data_sidebar(page: str, *, k_follows: bool) -> tuple[state.Settings, LoadedData | None]:
    """The 1-D/2-D choice, the data-set list (and its knobs) in the sidebar; the page's
    settings and data."""
    extra = {"on_change": state.on_data_change, "args": (page,)} if k_follows else {}
    with st.sidebar:
        st.header("Data", anchor=False)
        setting_widget(page, "dim", horizontal=True, label_visibility="collapsed",
                       on_change=state.on_dim_change, args=(page,))
        uploaded = state.uploaded_dataset(state.page_dim(page))
        dataset = setting_widget(
            page, "dataset", options=state.dataset_choices(page),
            format_func=partial(dataset_title, uploaded=uploaded), **extra,
        )
        state.ensure_knobs(page, dataset)
        knobs = knob_fields(dataset)
        if knobs:
            with st.expander("Data set settings"):
                for knob in knobs:
                    setting_widget(page, knob.name, field=knob,
                                   key=state.keys(page).knob(dataset, knob.name), **extra)
    settings = state.read_settings(page)
    try:
        return settings, load_data(settings, uploaded)
    except DataError as err:
        st.error(str(err))
        return settings, None


def _link_warnings(page: str, messages: list[str]) -> None:
    messages = messages or state.link_messages(page)
    if messages:
        st.warning("Parts of this link were not used:\n" + "\n".join(f"- {m}" for m in messages),
                   icon=":material/link:")


def open_in_stepper(
    settings: state.Settings,
    n_components: int,
    covariance_type: str,
    init_method: str,
    seed: int,
    *,
    tol: float,
    max_iter: int,
    rule: str,
) -> state.Settings:
    """The stepper's settings for a model of this page's data set, at its last half-step."""
    page = STEPPER_PAGE[settings.n_features]
    target = state.Settings.defaults(page, settings.dataset, dict(settings.knobs))
    return target.replace(
        n_components=int(n_components), covariance_type=covariance_type,
        init_method=init_method, seed=int(seed), tol=float(tol), max_iter=int(max_iter),
        stop_rule=rule,
        # Past the end: the stepper clamps the cursor to the run's last half-step.
        step=min(2 * int(max_iter) + 1, 2 * MAX_ITER_MAX + 1),
    )


def _go_to_pending(page: str) -> None:
    """If a click asked to open a model, open it in the stepper (this ends the run)."""
    target = state.pop_pending(page, "open")
    if target is not None:
        state.open_page_at(target)
        st.switch_page(routed_page(target.page), query_params=target.to_query())


# --------------------------------------------------------------------------- /choose-k
def _on_criteria_click(page: str, settings: state.Settings, scores_by_model: dict) -> None:
    points = state.selected_points(page, "chart", "criteria")
    for point in points[-1:]:
        custom = point.get("customdata")
        if not custom or len(custom) < 2:
            continue
        seed = scores_by_model.get((str(custom[0]), int(custom[1])))
        if seed is None or seed < 0:
            continue
        state.set_pending(page, "open", open_in_stepper(
            settings, int(custom[1]), str(custom[0]), models.SWEEP["init_method"], seed,
            tol=models.SWEEP["tol"], max_iter=models.SWEEP["max_iter"],
            rule=models.SWEEP["rule"],
        ))


def render_choose_k() -> None:
    """The /choose-k page."""
    page = "choose_k"
    messages = state.init_page(page)
    _go_to_pending(page)
    settings, data = _data_sidebar(page, k_follows=False)
    with st.sidebar:
        st.header("Scoring", anchor=False)
        setting_widget(page, "n_folds")
        setting_widget(page, "n_init")
        setting_widget(page, "seed", help="Seeds the folds and the starts.")
    settings = state.read_settings(page)
    state.sync_query(settings)
    st.subheader("Choose K: how many components?", anchor=False)
    _link_warnings(page, messages)
    if data is None:
        return
    st.markdown(
        "Adding a component never lowers the likelihood of the data a model was fitted to: "
        "with one more Gaussian it can always do at least as well, down to one component "
        "per point. So the raw likelihood always asks for more. **BIC** and **AIC** charge "
        "each free parameter a price (BIC a larger one, growing with the number of points; "
        "AIC a fixed one); the **held-out likelihood** fits on part of the data and scores "
        "the points the model has not seen, which extra components cannot memorise."
    )
    n_init, n_folds = int(settings.n_init), int(settings.n_folds)
    bar = st.progress(0.0, text="Fitting the models\u2026")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Fitting the models\u2026 {done} of {total}")

    scores = models.sweep(data.key, data.X, n_folds, n_init, int(settings.seed), progress)
    bar.empty()
    table = models.scores_table(scores)
    best = figures_models.best_rows(table)
    words = COV_WORDS_1D if data.X.shape[1] == 1 else COV_WORDS
    picks = []
    for col, row in best.items():
        if row is not None:
            picks.append(f"{CRITERION_WORDS[col]}: **K = {int(row['K'])}**, "
                         f"{words[row['covariance_type']]}")
    st.markdown("Best of all by " + "; ".join(picks) + "." if picks
                else "No model could be fitted.")
    fig = figures_models.criteria_figure(table, names=words)
    st.plotly_chart(
        fig, width="stretch", config=PLOT_CONFIG, key=state.widget_key(page, "chart", "criteria"),
        on_select=partial(_on_criteria_click, page, settings,
                          {(r.covariance_type, int(r.K)): int(r.seed)
                           for r in table.itertuples()}),
        selection_mode="points",
    )
    st.caption(
        f"Each fit keeps the best of {n_init} start{'s' if n_init > 1 else ''} of EM "
        f"(k-means++ seeding; each run stops as scikit-learn's does, when an iteration "
        f"changes the log-likelihood per point by less than {models.SWEEP['tol']:g}); the "
        "held-out "
        f"likelihood averages {n_folds} folds, each fitted the same way. Click any point "
        "to open that model in the stepper."
    )
    st.markdown("**Best K for each covariance type**")
    st.dataframe(figures_models.best_k_table(table, words), hide_index=True, width=520)
    with st.expander("Free parameters of each model"):
        d = data.X.shape[1]
        shown = {"covariance": COV_WORDS_1D} if d == 1 else {}  # 1-D: the stepper's words
        st.dataframe(models.parameter_counts(d, tuple(
            c for c in figures_models.COV_STYLE if c in set(table["covariance_type"])))
            .replace(shown), hide_index=True)
        st.caption(f"D = {d} feature{'s' if d > 1 else ''}. BIC charges log N = "
                   f"{fmt_number(float(np.log(data.X.shape[0])))} per parameter, AIC 2.")
    with st.expander("All the numbers"):
        st.dataframe(table.rename(columns={"cv": "held-out per point",
                                           "covariance_type": "covariance"}).replace(shown),
                     hide_index=True)
    st.caption("Different starts of EM can end at different results: see **Restarts** in "
               "the menu.")


# --------------------------------------------------------------------------- /restarts
def _on_gallery_click(page: str, settings: state.Settings) -> None:
    points = state.selected_points(page, "chart", "gallery")
    for point in points[-1:]:
        custom = point.get("customdata")
        if not custom:
            continue
        state.set_pending(page, "open", open_in_stepper(
            settings, settings.n_components, settings.covariance_type, settings.init_method,
            int(custom[0]), tol=models.RESTARTS["tol"], max_iter=models.RESTARTS["max_iter"],
            rule=models.RESTARTS["rule"],
        ))


def render_restarts() -> None:
    """The /restarts page."""
    page = "restarts"
    messages = state.init_page(page)
    _go_to_pending(page)
    _, data = _data_sidebar(page, k_follows=True)
    with st.sidebar:
        st.header("Model", anchor=False)
        setting_widget(page, "n_components")
        one_d = state.page_dim(page) == 1
        setting_widget(page, "covariance_type", Context(state.page_dim(page)), horizontal=True,
                       **({"format_func": COV_WORDS_1D.get} if one_d else {}))
        setting_widget(page, "init_method", options=[
            "random_from_data", "kmeans++", "kmeans", "random_resp"])
        setting_widget(page, "n_restarts")
        setting_widget(page, "seed", label="First seed",
                       help="Start j uses seed (first seed + j).")
    settings = state.read_settings(page)
    state.note_run(settings)
    state.sync_query(settings)
    st.subheader("Restarts: different starts, different optima", anchor=False)
    _link_warnings(page, messages)
    if data is None:
        return
    if settings.init_method == "manual":
        st.info("Restarts need a random initialisation; choose one in the sidebar.")
        return
    n = int(settings.n_restarts)
    st.markdown(
        "EM only climbs to the nearest peak of the likelihood, so where it starts decides "
        f"where it ends. Here {n} starts of the same model, each run until it settles."
    )
    with st.spinner(f"Running {n} starts\u2026"):
        results, groups = models.restarts(
            data.key, data.X, int(settings.n_components), settings.covariance_type,
            settings.init_method, int(settings.seed), n,
        )
    failed = n - sum(g.count for g in groups)
    lines = models.group_sentences(groups, n)
    if failed:
        lines.append(f"{failed} of {n} starts failed (a component collapsed or emptied)")
    st.markdown("\n".join(f"- {line}" for line in lines) if lines else "No start gave a fit.")
    if not groups:
        return
    st.plotly_chart(figures_models.final_values_figure(
        [r.log_likelihood for r in results if r.ok], height=220),
        width="stretch", config=PLOT_CONFIG, key=state.widget_key(page, "chart", "finals"))
    ok = sorted((r for r in results if r.ok), key=lambda r: -r.log_likelihood)
    st.markdown("**Every start, best first.** Click a panel to open that start in the stepper.")
    st.plotly_chart(
        figures_models.restarts_gallery(data.X, [(r.seed, r.log_likelihood, r.params)
                                                 for r in ok], columns=8, panel_height=120),
        width="stretch", config=PLOT_CONFIG, key=state.widget_key(page, "chart", "gallery"),
        on_select=partial(_on_gallery_click, page, settings), selection_mode="points",
    )
    with st.expander("The optima as a table"):
        st.dataframe(models.groups_table(groups, n), hide_index=True)


# --------------------------------------------------------------------------- /kmeans-vs-gmm
def _move(page: str, n_steps: int, action: str) -> None:
    cursor = state.get_cursor(page, n_steps)
    target = {"back": cursor - 1, "next": cursor + 1, "end": n_steps - 1, "reset": 0}[action]
    state.set_cursor(page, max(0, min(n_steps - 1, target)))


_PHASE_KMEANS = {"init": "start: the centres", "assign": "assign each point to its nearest "
                 "centre", "update": "move each centre to the mean of its points"}
_PHASE_EM = {"init": "start: the same centres", "E": "E-step: responsibilities",
             "M": "M-step: new Gaussians"}


def render_kmeans_vs_gmm() -> None:
    """The /kmeans-vs-gmm page."""
    page = "kmeans_gmm"
    messages = state.init_page(page)
    _, data = _data_sidebar(page, k_follows=True)
    with st.sidebar:
        st.header("Model", anchor=False)
        setting_widget(page, "n_components")
        setting_widget(page, "seed", help="Chooses the shared starting centres.")
        setting_widget(page, "shared_var")
    settings = state.read_settings(page)
    state.note_run(settings)
    st.subheader("k-means vs a mixture", anchor=False)
    _link_warnings(page, messages)
    if data is None:
        state.sync_query(settings)
        return
    one_d = data.X.shape[1] == 1
    st.markdown(
        "Both start from the same centres. k-means gives every point to one centre; the "
        "mixture shares it out. "
        + ("In 1-D k-means cuts the line halfway between neighbouring centres, whatever "
           "the spreads; the mixture weighs the spreads too, and can give a narrow "
           "component the middle and a wide one both tails (*Calm and crisis returns*). "
           if one_d else
           "They disagree on elongated clusters (*Anisotropic*) and on clusters of unequal "
           "spreads and sizes (*Unequal sizes*; set its imbalance to 1 for unequal spreads "
           "alone); on round, equal, well-separated ones (*Blobs*) they agree. ")
        + "Move **EM's variance** towards 0 to watch the shared responsibilities harden "
        "into k-means' choices."
    )
    comp = models.compare(data.key, data.X, int(settings.n_components), int(settings.seed),
                          settings.shared_var)
    if comp.error:
        st.error(f"Cannot start: {comp.error}")
        state.sync_query(settings)
        return
    n_steps = comp.n_steps
    row = st.container(horizontal=True)
    for label, action in (("Back", "back"), ("Next half-step", "next"),
                          ("Run to the end", "end"), ("Reset", "reset")):
        row.button(label, key=state.keys(page).button(action), on_click=_move,
                   args=(page, n_steps, action))
    cursor = state.get_cursor(page, n_steps)
    st.slider("History: drag to any half-step", 0, max(n_steps - 1, 1),
              key=state.field_key(page, "step"), disabled=n_steps < 2)
    cursor = state.get_cursor(page, n_steps)
    state.sync_query(state.read_settings(page).replace(step=cursor))
    km = comp.kmeans[min(cursor, len(comp.kmeans) - 1)]
    em_i = min(cursor, len(comp.em_params) - 1)
    params, resp_params = comp.em_params[em_i], comp.em_resp_params[em_i]
    resp = models.responsibilities(data.X, resp_params)
    left, right = st.columns(2)
    with left:
        done = " (converged)" if cursor >= len(comp.kmeans) - 1 else ""
        title = f"k-means: {_PHASE_KMEANS[km.phase]}{done}"
        st.plotly_chart(
            figures_models.kmeans_figure_1d(
                data.X, km.centres, km.labels, feature_name=data.feature_names[0],
                title=title, width=SIDE_BY_SIDE_WIDTH) if one_d else
            figures_models.kmeans_figure(
                data.X, km.centres, km.labels, feature_names=data.feature_names,
                title=title, width=SIDE_BY_SIDE_WIDTH),
            width="content", config=PLOT_CONFIG, key=state.widget_key(page, "chart", "km"))
    with right:
        done = " (converged)" if cursor >= len(comp.em_params) - 1 else ""
        kind = (("EM, learned variances" if one_d else "EM, learned covariances")
                if settings.shared_var == "learned"
                else f"EM, shared variance {settings.shared_var}\u00d7 the data's")
        title = f"{kind}: {_PHASE_EM[comp.em_phases[em_i]]}{done}"
        st.plotly_chart(
            figures_models.mixture_figure_1d(
                data.X, params, resp, feature_name=data.feature_names[0], title=title,
                width=SIDE_BY_SIDE_WIDTH) if one_d else
            figures_models.mixture_figure(
                data.X, params, resp, feature_names=data.feature_names, title=title,
                width=SIDE_BY_SIDE_WIDTH),
            width="content", config=PLOT_CONFIG, key=state.widget_key(page, "chart", "em"))
    share = models.agreement(km.labels, resp)
    if share is not None:
        hard = "" if resp is None else (
            f" The mixture's least certain point is {100 * resp.max(axis=1).min():.0f} % sure.")
        st.caption(f"k-means' cluster and the mixture's most responsible component agree on "
                   f"{100 * share:.1f} % of the points.{hard}")
    model_panels.render_sample_panel(page, data, params, 2 * SIDE_BY_SIDE_WIDTH)
