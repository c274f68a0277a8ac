"""Two panels for the steppers (and the k-means page): "Sample from the model" and
"Unusual points". Each is one function the page calls with the parameters it shows.

No mathematics here: the samples and the flags come from :mod:`gmm_core` through
:mod:`gmm_app.models`; figures from :mod:`gmm_app.figures_models`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from gmm_app import figures_models, models, state
from gmm_app.data import LoadedData
from gmm_app.export import download_stem, private_mime
from gmm_app.formatting import fmt_number
from gmm_app.live_chart import safe_config
from gmm_app.upload import responsibilities_csv
from gmm_app.widgets import setting_widget
from gmm_core import GMMParams, predict, predict_proba, unusual_points

PLOT_CONFIG = safe_config({"scrollZoom": False,  # no mode bar button sends data out
                           "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]})
UNUSUAL_LISTED = 50
"""At most this many unusual points are listed in the table (all are in the CSV)."""


def _link_set(page: str, names: tuple[str, ...]) -> bool:
    """True if one of the panel's settings differs from its default (e.g. set by a link):
    the panel then opens by itself."""
    defaults = state.Settings.defaults(page).values
    return any(state.view_value(page, name) != defaults[name] for name in names)


def unusual_csv(
    X: np.ndarray, feature_names: tuple[str, ...], params: GMMParams, percentile: float
) -> str:
    """The points with responsibilities, hard label, log density and unusual flag, as CSV.

    The first columns are :func:`gmm_app.upload.responsibilities_csv`'s (text cells escaped
    against spreadsheet formula injection); then ``log_density`` (:math:`\\log p(x_n)`,
    written exactly with ``repr``) and ``unusual`` (1 for a flagged point, else 0), numbers
    only.
    """
    base = responsibilities_csv(X, feature_names, predict_proba(X, params), predict(X, params))
    log_density, _, flags = unusual_points(X, params, percentile)
    lines = base.rstrip("\n").split("\n")
    extra = [",log_density,unusual"] + [
        f",{float(v)!r},{int(f)}" for v, f in zip(log_density, flags, strict=True)
    ]
    return "\n".join(line + tail for line, tail in zip(lines, extra, strict=True)) + "\n"


def render_sample_panel(page: state.PageRef, data: LoadedData, params: GMMParams,
                        width: int) -> None:
    """"Sample from the model": draw N points in two stages (z from π, then x), seeded."""
    p = state.page_of(page)
    # Lazy (issue 10): built only while open, not on every stepper click.
    expander = st.expander("Sample from the model", icon=":material/casino:", on_change="rerun",
                           expanded=_link_set(p.id, ("sample_n", "sample_seed", "sample_data")),
                           key=state.widget_key(p.id, "panel", "sample"))
    if expander.open is False:
        return
    with expander:
        st.caption(
            "A mixture is a recipe for making data: first pick a component z with "
            "probability \u03c0 (its weight), then draw a point from that component's "
            "Gaussian. Colours show z."
        )
        row = st.container(horizontal=True)
        with row:
            n = setting_widget(p.id, "sample_n", width=150)
            seed = setting_widget(p.id, "sample_seed", width=150)
        show = setting_widget(p.id, "sample_data")
        samples, z = models.draw_samples(params.to_dict(), int(n), int(seed))
        counts = np.bincount(z, minlength=params.n_components)
        st.caption(
            "Stage 1, z from \u03c0: "
            + ", ".join(f"{c} from component {k + 1} (\u03c0 = {params.weights[k]:.2f})"
                        for k, c in enumerate(counts))
            + ". Stage 2: each point from its component's Gaussian."
        )
        if data.X.shape[1] == 2:
            fig = figures_models.samples_figure_2d(
                data.X, samples, z, params.n_components, show_data=bool(show),
                feature_names=data.feature_names, width=width,
            )
        else:
            fig = figures_models.samples_figure_1d(
                data.X[:, 0], samples[:, 0], z, params.n_components, show_data=bool(show),
                feature_name=data.feature_names[0], width=width,
            )
        st.plotly_chart(fig, width="content", config=PLOT_CONFIG,
                        key=state.widget_key(p.id, "chart", "samples"))


def render_unusual_panel(page: state.PageRef, data: LoadedData, params: GMMParams,
                         width: int) -> None:
    """"Unusual points": flag the lowest-density share of the data, list them, download."""
    p = state.page_of(page)
    # Lazy (issue 10): built only while open, not on every stepper click.
    expander = st.expander("Unusual points", icon=":material/report:", on_change="rerun",
                           expanded=_link_set(p.id, ("unusual_pct",)),
                           key=state.widget_key(p.id, "panel", "unusual"))
    if expander.open is False:
        return
    with expander:
        st.caption(
            "Points where the fitted mixture puts very little density are unusual: a simple "
            "detector of anomalies. The slider sets the share of the data to flag."
        )
        pct = float(setting_widget(p.id, "unusual_pct"))
        table, threshold, log_density, flags = models.unusual_table(
            data.X, params, pct, data.feature_names
        )
        st.caption(
            f"{int(flags.sum())} of {flags.size} points ({100 * flags.mean():.1f} %) have a "
            f"log density below {fmt_number(threshold)}."
        )
        if data.X.shape[1] == 2:
            from gmm_app.geometry import grid_2d
            from gmm_core import score_samples

            gx, gy, pts = grid_2d(data.X, 90)
            grid = (gx, gy, score_samples(pts, params).reshape(gy.size, gx.size))
            fig = figures_models.unusual_figure(
                data.X, log_density, flags, threshold, grid,
                feature_names=data.feature_names, width=width,
            )
        else:
            fig = figures_models.unusual_figure_1d(
                data.X[:, 0], log_density, flags, threshold,
                feature_name=data.feature_names[0], width=width,
            )
        st.plotly_chart(fig, width="content", config=PLOT_CONFIG,
                        key=state.widget_key(p.id, "chart", "unusual"))
        shown = table.head(UNUSUAL_LISTED)
        st.dataframe(shown, hide_index=True, height=min(36 * (len(shown) + 1), 260),
                     width=width)
        st.download_button(
            "Points with log density and flag (CSV)",
            data=lambda: unusual_csv(data.X, data.feature_names, params, pct),
            file_name=f"{download_stem(data.dataset)}_unusual.csv",
            mime=private_mime("text/csv"),
            on_click="ignore",
            key=state.widget_key(p.id, "button", "unusual_csv"),
            icon=":material/download:",
        )


def render_model_panels(page: state.PageRef, data: LoadedData, params: GMMParams,
                        width: int) -> None:
    """Both panels, for the parameters the stepper shows."""
    render_sample_panel(page, data, params, width)
    render_unusual_panel(page, data, params, width)
