"""Lessons: ready scenarios for a class, each a complete link, a script for the lecturer
and prompts for the students.

Every link is made from the declared settings (:class:`gmm_app.declared.Settings`, then
:meth:`~gmm_app.declared.Settings.to_query`), never written by hand: a link keeps working
when a setting's URL key or default changes. The Old Faithful lesson also shows the
textbook figure: the state after 1, 2, 5 and 20 iterations side by side, drawn by the
stepper's own figure builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
import streamlit as st

from gmm_app import engine, figures, state, teaching_figures
from gmm_app.data import load_data
from gmm_app.declared import PAGE, Settings
from gmm_app.geometry import blend_colours
from gmm_app.live_chart import live_chart

OLD_FAITHFUL_POOR_START = ((4.0, 78.0), (4.6, 84.0))
"""A poor start for Old Faithful: both starting means in the cluster of long eruptions, none
in the other (EM needs about 17 iterations; after 20 it has found both clusters)."""
SNAPSHOT_ITERATIONS = (1, 2, 5, 20)
"""The iterations of the textbook figure."""


def lesson_link(settings: Settings) -> str:
    """The link (path and query) to the page ``settings.page`` showing ``settings``."""
    return f"/{PAGE[settings.page].path}?{urlencode(settings.to_query())}"


@dataclass(frozen=True)
class Lesson:
    """One ready scenario.

    Attributes
    ----------
    id : str
        Stable name (used in tests and as an anchor).
    title : str
    links : tuple of (str, Settings)
        What each link opens, and the view it opens (the first one is the lesson's).
    script : str
        What the lecturer does and says (Markdown).
    prompts : tuple of str
        Questions for the students.
    figure : callable() -> plotly Figure, optional
        A figure shown with the lesson.
    """

    id: str
    title: str
    links: tuple[tuple[str, Settings], ...]
    script: str
    prompts: tuple[str, ...]
    figure: Callable[[], go.Figure] | None = field(default=None, compare=False)


# The iteration limit of lessons whose runs crawl (overlapping clusters; axis-aligned
# ellipses on tilted ones): from their starts, EM converges after 879 (soft versus hard) and
# 381 (diagonal) iterations, past the default limit, and "Run to convergence" must end in
# "converged" in front of the class (tests/test_lessons.py).
_SLOW_MAX_ITER = 1000


def _em2d(dataset: str, knobs: dict[str, float] | None = None, **values: Any) -> Settings:
    return Settings.defaults("em2d", dataset, knobs).replace(**values)


def old_faithful_poor_start() -> Settings:
    """Old Faithful, K = 2, from the crossed starting means."""
    return _em2d("old_faithful", n_components=2, init_method="manual",
                 manual_means=OLD_FAITHFUL_POOR_START, seed=0)


def lessons() -> tuple[Lesson, ...]:
    """The lessons, in the order of a course."""
    of = old_faithful_poor_start()
    blobs_close = {"separation": 2.0}
    return (
        Lesson(
            "old-faithful",
            "Old Faithful, K = 2, from a poor start",
            (("Open the lesson", of.replace(presenter=True)),
             ("Same, predict first", of.replace(predict=True))),
            "Both starting means sit in the cluster of long eruptions; none is near the short "
            "ones. Press **E** (the points take the colour of the nearer Gaussian), then "
            "**M** (each Gaussian moves to the points it owns). Repeat a few times, then "
            "**Space** to play. The figure below is the textbook's: the state after 1, 2, 5 "
            "and 20 iterations.",
            ("Before the first M-step: where will each mean go? Point at the screen.",
             "Why does the log-likelihood only ever go up?",
             "After 20 iterations, what do the two clusters mean for a visitor waiting for "
             "the geyser?"),
            figure=old_faithful_snapshots,
        ),
        Lesson(
            "soft-hard",
            "Soft versus hard assignment",
            (("Open the lesson", _em2d("blobs", blobs_close, n_components=3, tab="inspect",
                                       max_iter=_SLOW_MAX_ITER)),
             ("k-means beside the mixture",
              Settings.defaults("kmeans_gmm", "blobs", blobs_close).replace(n_components=3))),
            "Three blobs that overlap. Run to convergence (it takes several hundred "
            "iterations: where clusters overlap, EM climbs slowly), then click a point between two "
            "clusters: the 'Inspect a point' tab shows its responsibilities γ, a share of "
            "each component, not a single label. Its colour is a blend. The second link "
            "shows k-means, which gives every point to exactly one cluster.",
            ("Find a point whose colour is half one cluster, half another. What are its γ?",
             "Where do hard labels (k-means) and the mixture disagree most?"),
        ),
        Lesson(
            "full-covariances",
            "Why full covariances: anisotropic data",
            (("Full covariances", _em2d("anisotropic", covariance_type="full",
                                        max_iter=_SLOW_MAX_ITER)),
             ("Spherical (circles only)", _em2d("anisotropic", covariance_type="spherical",
                                                max_iter=_SLOW_MAX_ITER)),
             ("Diagonal (axis-aligned)", _em2d("anisotropic", covariance_type="diag",
                                               max_iter=_SLOW_MAX_ITER))),
            "The clusters are long, tilted ellipses. Open the three links side by side and "
            "run each to convergence. With circles or axis-aligned ellipses the mixture "
            "cuts clusters in the wrong direction; full covariances follow the tilt.",
            ("Compare the final log-likelihoods of the three links. Which is highest, and "
             "why must it be?",
             "How many numbers does each covariance type learn per component in 2-D?"),
        ),
        Lesson(
            "local-optima",
            "Local optima: two starts, two answers",
            (("Start A (seed 1)", _em2d("two_moons", n_components=4, seed=1)),
             ("Start B (seed 7)", _em2d("two_moons", n_components=4, seed=7))),
            "The same data, the same K = 4, two random starts. Run both to convergence: "
            "both are 'converged', yet they end at different log-likelihoods (about "
            "−606 and −750) with different ellipses. EM only climbs to the nearest peak.",
            ("Which answer is better, and how can you tell without looking?",
             "What would you do in practice? (Hint: the Restarts page.)"),
        ),
        Lesson(
            "collapse",
            "Collapse, and what reg_covar does",
            (("reg_covar = 0: collapse", _em2d("iris", n_components=5, seed=3, reg_covar=0.0)),
             ("reg_covar = 1e-6 (default)", _em2d("iris", n_components=5, seed=3)),
             ("reg_covar = 1e-3", _em2d("iris", n_components=5, seed=3, reg_covar=1e-3))),
            "Iris petal sizes are measured to 0.1 cm, so many flowers share a point. With "
            "five components and no regularisation, one component shrinks onto a few "
            "identical points and its variance reaches 0: EM stops with a collapse (marked "
            "with a red cross). A tiny reg_covar keeps it alive but it still hugs those "
            "points (log-likelihood near −18, far above the others); 1e-3 gives a sensible "
            "fit.",
            ("Why does the log-likelihood go to +∞ when a variance goes to 0?",
             "Is the highest log-likelihood always the best model?"),
        ),
        Lesson(
            "choose-k",
            "Choosing K",
            (("Choose K on four blobs",
              Settings.defaults("choose_k", "blobs", {"n_clusters": 4})),
             ("The stepper with K = 4", _em2d("blobs", {"n_clusters": 4}, n_components=4))),
            "More components always raise the log-likelihood, so it cannot choose K. The "
            "Choose K page scores K = 1 to 10 with BIC, AIC and held-out log-likelihood.",
            ("Why does the training log-likelihood keep rising with K?",
             "Where do BIC and the held-out score agree?"),
        ),
        Lesson(
            "stopping-rule",
            "When to stop: an honest stopping rule",
            (("scikit-learn's rule", _em2d("old_faithful", n_components=2, seed=0,
                                           stop_rule="loglik_change")),
             ("The honest rule", _em2d("old_faithful", n_components=2, seed=0,
                                       stop_rule="aitken"))),
            "Old Faithful, K = 2, seed 0, random data points as starts. Run to convergence "
            "with scikit-learn's rule: it stops after 2 iterations at −1289.17, because one "
            "step changed little (a plateau). The honest rule (Aitken's estimate of what "
            "more EM would gain) goes on to −1130.26.",
            ("Look at the log-likelihood chart of the first link: is it flat because EM "
             "has finished?",
             "What does a small change between two steps really tell you?"),
        ),
    )


def old_faithful_snapshots() -> go.Figure:
    """The textbook figure: Old Faithful from the poor start after 1, 2, 5 and 20 iterations."""
    settings = old_faithful_poor_start()
    data = load_data(settings, None)
    outcome = engine.compute_run(data, settings)
    history = outcome.history
    if history is None:  # pragma: no cover - the run is fixed and known to work
        raise RuntimeError(outcome.error or "the Old Faithful run failed")
    steps = history.steps
    # The M-step of iteration t is half-step 2t (init, E1, M1, E2, M2, ...).
    shown = snapshot_cursors(len(steps))
    extent = teaching_figures.run_extent(data.X, [steps[i].params for i in shown])
    panels = []
    for i in shown:
        view = engine.step_view(data.X, history, i)
        panels.append(figures.figure_2d(
            data.X, view.params, blend_colours(view.resp, len(data.X)),
            feature_names=data.feature_names, extent=extent, height=330,
        ))
    titles = [f"L = {t}" for t in SNAPSHOT_ITERATIONS]
    return teaching_figures.small_multiples(panels, titles, height=330)


def render_lessons() -> None:
    """Draw the Lessons page."""
    st.title("Lessons", anchor=False)
    st.markdown(
        "Ready scenarios for a class. Each link opens the app exactly as the lesson needs "
        "it, in a new tab (share it with the students, or show it with **Presenter view**). "
        "Keys in the steppers: **E**, **M**, **←** / **→**, **Space** (play), **R** "
        "(reset), **?** (list)."
    )
    for lesson in lessons():
        with st.container(border=True, key=state.widget_key("lessons", "lesson", lesson.id)):
            st.subheader(lesson.title, anchor=lesson.id)
            links = " \u00b7 ".join(f"[{label}]({lesson_link(s)})" for label, s in lesson.links)
            st.markdown(f"**Links:** {links}")
            st.markdown(f"**For the lecturer.** {lesson.script}")
            st.markdown("**Ask the students:**\n" + "\n".join(f"- {p}" for p in lesson.prompts))
            if lesson.figure is not None:
                live_chart(lesson.figure(), key=state.widget_key("lessons", "chart", lesson.id),
                           config={"displaylogo": False}, export_name=f"lesson-{lesson.id}")


def snapshot_cursors(n_steps: int) -> list[int]:
    """Half-step indices of :data:`SNAPSHOT_ITERATIONS` in a run of ``n_steps`` half-steps."""
    return [min(2 * t, n_steps - 1) for t in SNAPSHOT_ITERATIONS]
