"""Downloads of a run: parameters (JSON), points with responsibilities (CSV), animation (GIF).

One module for every file the app offers, used by the stepper pages ("EM in 1-D", "EM in
2-D", every data set) and by the "Your data" page (:func:`render_downloads`). The text
writers are :func:`gmm_app.upload.params_json` and :func:`gmm_app.upload.responsibilities_csv`
(strict JSON; CSV with text cells escaped against spreadsheet formula injection); this module
decides what goes into them. PNG and SVG of the charts are made in the browser by the chart
component itself (:mod:`gmm_app.live_chart`).

No shared bytes. Streamlit keeps download files in one in-memory store shared by all
sessions and names a file above 1 MiB by a partial fingerprint (its length, first, middle and
last 64 KiB, its MIME type and file name), so two sessions' different files could get the
same ``/media`` URL and one session would receive the other's file. Here every file is
generated only when its button is clicked (Streamlit's deferred downloads: no bytes are built
on an ordinary click) and its MIME type carries a random token drawn for that button in that
session (:func:`private_mime`), which enters the file's id: no two sessions (and no two
renders) can share an id, whatever the store's fingerprint covers.

No mathematics here: numbers come from :mod:`gmm_core` and :mod:`gmm_app.engine`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import streamlit as st

from gmm_app import animation, engine, figures, state
from gmm_app.data import LoadedData
from gmm_app.formatting import status_line
from gmm_app.geometry import blend_colours, histogram_density
from gmm_app.upload import params_json, responsibilities_csv
from gmm_core import EMHistory, GMMParams, datasets, predict, predict_proba

__all__ = [
    "ANIMATION_MAX_FRAMES",
    "ANIMATION_MAX_POINT_FRAMES",
    "ANIMATION_SIZE",
    "Labels",
    "animation_gif",
    "animation_problem",
    "download_stem",
    "params_document",
    "point_labels",
    "points_document",
    "private_mime",
    "render_downloads",
]

ANIMATION_MAX_FRAMES = 201
"""Most half-steps (frames) in one animation: the start and 100 iterations."""
ANIMATION_MAX_POINT_FRAMES = 1_000_000
"""Most points drawn over all frames (N x frames): bounds the server's work per animation
(about 10 s at the limit on one busy core)."""
ANIMATION_SIZE = {1: (640, 460), 2: (640, 560)}
"""Pixel size (width, height) of the animation's plot, per dimension (the caption adds
:data:`gmm_app.animation.CAPTION_HEIGHT`)."""

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- pure helpers
def download_stem(name: str) -> str:
    """A safe file-name stem from a data-set name (letters, digits, ``.``, ``_``, ``-``).

    ``"old faithful.csv"`` gives ``"old_faithful"``; a name with nothing usable gives
    ``"data"``.
    """
    stem = re.sub(r"\.(csv|tsv|txt)$", "", str(name), flags=re.IGNORECASE)
    stem = _UNSAFE_FILE_CHARS.sub("_", stem).strip("._-")[:60]
    return stem or "data"


def private_mime(mime: str) -> str:
    """``mime`` with a parameter holding a fresh random token (128 bits).

    Streamlit's media store names a file by a fingerprint that includes its MIME type, so
    the token makes the file's id unique to this button in this session: another session's
    file can never be served in its place (nor this one in another's). Browsers ignore an
    unknown MIME parameter; the file name comes from ``Content-Disposition``.
    """
    return f"{mime}; gmm-file={secrets.token_hex(16)}"


@dataclass(frozen=True)
class Labels:
    """Known groups of the points: ``names[codes[n]]`` is point n's label.

    Attributes
    ----------
    codes : ndarray, shape (N,)
    names : tuple of str
    """

    codes: np.ndarray
    names: tuple[str, ...]


def point_labels(data: LoadedData, settings: state.Settings) -> Labels | None:
    """The known label of every point of ``data``, or None.

    Uploaded data: the user's label column, if one was chosen. A built-in data set: its
    classes (species of a real data set, the generating component of a synthetic one).
    """
    codes, names = getattr(data, "labels", None), getattr(data, "label_names", None)
    if codes is not None and names is not None:  # carried by the loaded data
        return Labels(np.asarray(codes), tuple(names))
    if data.dataset == state.UPLOADED:
        uploaded = state.uploaded_dataset(data.X.shape[1])
        if uploaded is None or data.key != f"upload:{uploaded.content_key}":
            return None
        if uploaded.labels is None or uploaded.label_names is None:
            return None
        return Labels(np.asarray(uploaded.labels), tuple(uploaded.label_names))
    try:
        loaded = datasets.load(settings.dataset, **settings.knobs)
    except (KeyError, ValueError, TypeError):
        return None
    if loaded.labels is None or loaded.label_names is None:
        return None
    if loaded.X.shape != data.X.shape or not np.array_equal(loaded.X, data.X):
        return None  # not the points shown: no labels rather than wrong ones
    return Labels(np.asarray(loaded.labels), tuple(loaded.label_names))


def params_document(
    data: LoadedData, settings: state.Settings, history: EMHistory, cursor: int
) -> str:
    """The parameters of half-step ``cursor`` of a run, with the run's settings, as JSON.

    Parameters
    ----------
    data : LoadedData
        The data the run was fitted to, X of shape (N, D).
    settings : gmm_app.state.Settings
        The run's settings.
    history : gmm_core.EMHistory
        The run.
    cursor : int
        The half-step, ``0 <= cursor < len(history.steps)``.

    Returns
    -------
    str
        See :func:`gmm_app.upload.params_json`: "weights" (K,), "means" (K, D),
        "covariances" (K, D, D), "log_likelihood", "iteration" and "settings".
    """
    step = history.steps[cursor]
    run_settings: dict[str, Any] = {
        "data": data.title,
        "dataset": data.dataset,
        "features": list(data.feature_names),
        "n_points": int(data.X.shape[0]),
        "n_components": settings.n_components,
        "covariance_type": settings.covariance_type,
        "init_method": settings.init_method,
        "seed": settings.seed,
        "reg_covar": settings.reg_covar,
        "tol": settings.tol,
        "max_iter": settings.max_iter,
        "half_step": int(cursor),
        "phase": step.phase,
        # A run still being computed (lazily, issue 10) has not ended: say so, not "stopped".
        "run_stop_reason": (history.stop_reason if history.stop_reason != "stopped"
                            else "not finished (computed so far)"),
    }
    if data.dataset != state.UPLOADED and settings.knobs:
        run_settings["dataset_settings"] = dict(settings.knobs)
    if settings.init_method == "manual":
        run_settings["manual_means"] = [list(m) for m in settings.manual_means]
    return params_json(
        step.params.to_dict(),
        log_likelihood=step.log_likelihood,
        iteration=step.iteration,
        settings=run_settings,
    )


def points_document(
    X: np.ndarray,
    feature_names: tuple[str, ...],
    params: GMMParams,
    labels: np.ndarray | None = None,
    label_names: tuple[str, ...] | None = None,
) -> str:
    """The points with their responsibilities under ``params`` and hard labels, as CSV.

    Parameters
    ----------
    X : numpy.ndarray
        Shape (N, D).
    feature_names : tuple of str
        Length D.
    params : gmm_core.GMMParams
        K components; the responsibilities are ``gmm_core.predict_proba(X, params)`` and the
        hard labels ``gmm_core.predict(X, params)`` (written 1 … K).
    labels : numpy.ndarray, optional
        Shape (N,), int codes into ``label_names``: the known label of each point.
    label_names : tuple of str, optional

    Returns
    -------
    str
        Header ``<features>, resp_1 … resp_K, hard_label[, label]`` and N rows; see
        :func:`gmm_app.upload.responsibilities_csv` (formula-escaped text cells).
    """
    resp = predict_proba(X, params)
    hard = predict(X, params)
    values = None
    if labels is not None and label_names is not None:
        values = [label_names[int(code)] for code in labels]
    return responsibilities_csv(X, feature_names, resp, hard, values)


def _points_file(data: LoadedData, settings: state.Settings, params: GMMParams,
                 labels: Labels | None) -> str:
    if labels is None:
        return points_document(data.X, data.feature_names, params)
    return points_document(data.X, data.feature_names, params, labels.codes, labels.names)


# --------------------------------------------------------------------------- animation
def animation_problem(n_points: int, cursor: int) -> str | None:
    """Why the animation up to half-step ``cursor`` is refused (too long or too big), or None."""
    frames = cursor + 1
    if frames > ANIMATION_MAX_FRAMES:
        return (
            f"The animation holds at most {ANIMATION_MAX_FRAMES} half-steps, and this view is "
            f"at half-step {cursor} ({frames} frames). Drag the history slider back to "
            f"{ANIMATION_MAX_FRAMES - 1} or less."
        )
    if n_points * frames > ANIMATION_MAX_POINT_FRAMES:
        most = max(ANIMATION_MAX_POINT_FRAMES // max(n_points, 1) - 1, 0)
        return (
            f"The animation draws at most {ANIMATION_MAX_POINT_FRAMES:,} points in all "
            f"(points \u00d7 frames); here {n_points:,} \u00d7 {frames} = "
            f"{n_points * frames:,}. Go back to half-step {most} or less, or use fewer points."
        )
    return None


def _frame_figure(n_features: int, data: LoadedData, history: EMHistory, cursor: int,
                  histogram: tuple[np.ndarray, np.ndarray] | None) -> Any:
    """The stepper's main figure of half-step ``cursor`` (same builders as the page)."""
    view = engine.step_view(data.X, history, cursor)
    colours = blend_colours(view.resp, data.X.shape[0])
    width, height = ANIMATION_SIZE[n_features]
    if n_features == 2:
        return figures.figure_2d(
            data.X, view.params, colours, feature_names=data.feature_names,
            collapsed=view.collapsed, width=width, height=height,
        )
    curves = engine.curves_1d(data.X, view.params, engine.last_e_params(history, cursor))
    assert histogram is not None
    return figures.figure_1d(
        data.X, view.params, colours, histogram=histogram, grid=curves.grid,
        component_density=curves.component_density, mixture_density=curves.mixture_density,
        grid_resp=curves.grid_resp, feature_name=data.feature_names[0],
        collapsed=view.collapsed, width=width, height=height,
    )


def animation_gif(n_features: int, data: LoadedData, history: EMHistory, cursor: int) -> bytes:
    """A GIF of the run from the start to half-step ``cursor``: one frame per half-step.

    Each frame is the stepper's main figure of that half-step (:mod:`gmm_app.figures`)
    rasterised by :func:`gmm_app.animation.render_figure`, under a caption with the
    half-step number and the status line.

    Raises
    ------
    ValueError
        If :func:`animation_problem` refuses it.
    """
    problem = animation_problem(data.X.shape[0], cursor)
    if problem is not None:
        raise ValueError(problem)
    histogram = histogram_density(data.X[:, 0]) if n_features == 1 else None
    frames = []
    for i in range(cursor + 1):
        fig = _frame_figure(n_features, data, history, i, histogram)
        parts = [p for p in status_line(history, i).split(" \u00b7 ") if not p.startswith("next")]
        caption = f"Half-step {i} \u00b7 " + " \u00b7 ".join(parts)
        frames.append(animation.render_figure(fig, caption))
    return animation.gif_bytes(frames)


# --------------------------------------------------------------------------- the panel
def _button(label: str, make: Callable[[], str | bytes], file_name: str, mime: str, key: str,
            help_text: str, *, disabled: bool = False) -> None:
    st.download_button(
        label,
        data=make,  # a callable: the file is made only when the button is clicked
        file_name=file_name,
        mime=private_mime(mime),
        on_click="ignore",
        key=key,
        icon=":material/download:",
        disabled=disabled,
        help=help_text,
    )


def render_downloads(
    n_features: int,
    data: LoadedData,
    settings: state.Settings,
    history: EMHistory,
    cursor: int,
    *,
    place: str = "stepper",
) -> None:
    """Download buttons for the fit shown at half-step ``cursor``.

    Parameters (JSON), points with responsibilities, hard labels and known labels (CSV), and
    on the stepper page the animation of the run up to ``cursor`` (GIF). Every file is made
    only when its button is clicked, under a MIME type private to this session (see the
    module docstring).

    Parameters
    ----------
    n_features : int
        1 or 2.
    data : LoadedData
        The run's data, X of shape (N, D): a built-in data set or this session's upload.
    settings : gmm_app.state.Settings
    history : gmm_core.EMHistory
    cursor : int
        The shown half-step.
    place : {"stepper", "your_data"}
        Which page draws the panel (its widget keys and what it offers).
    """
    k = state.keys(n_features)
    step = history.steps[cursor]
    uploaded = state.uploaded_dataset(n_features) if data.dataset == state.UPLOADED else None
    stem = download_stem(uploaded.name if uploaded is not None else data.dataset)
    step_stem = f"{stem}-step{cursor}"
    collapsed = history.collapse is not None and cursor == len(history.steps) - 1
    prefix = "" if place == "stepper" else f"{place}."
    if data.dataset == state.UPLOADED:  # the session's labels, read now (in the script run)
        make_points = partial(_points_file, data, settings, step.params,
                              point_labels(data, settings))
    else:  # a built-in set's classes are looked up only when the file is made (a click)
        make_points = partial(_builtin_points_file, data, settings, step.params)
    if place != "stepper":
        st.caption(f"Fit shown on EM in {n_features}-D: {status_line(history, cursor)}")
    with st.container(horizontal=True, gap="small"):
        _button(
            "Parameters (JSON)",
            partial(params_document, data, settings, history, cursor),
            f"{stem}-gmm-parameters.json" if place != "stepper"
            else f"{step_stem}-gmm-parameters.json",
            "application/json",
            k.button(f"download.{prefix}json"),
            "Weights, means, covariances, log-likelihood, iteration and settings of the "
            "half-step shown.",
        )
        _button(
            "Points and responsibilities (CSV)",
            make_points,
            f"{stem}-gmm-responsibilities.csv" if place != "stepper"
            else f"{step_stem}-gmm-responsibilities.csv",
            "text/csv",
            k.button(f"download.{prefix}csv"),
            "Undefined where a component has collapsed: go Back one step first."
            if collapsed
            else "Each point, its responsibility for every component under the parameters "
            "shown (resp_1 \u2026 resp_K), the most responsible component (hard_label) and "
            "its known label (your label column, or the data set's classes), if any.",
            disabled=collapsed,
        )
        if place == "stepper":
            problem = animation_problem(data.X.shape[0], cursor)
            _button(
                f"Animation to half-step {cursor} (GIF)",
                partial(animation_gif, n_features, data, history, cursor),
                f"{step_stem}-em-animation.gif",
                "image/gif",
                k.button(f"download.{prefix}gif"),
                problem
                or f"One frame per half-step, from the start to half-step {cursor}: the "
                "points, ellipses (2-D) or curves (1-D) and means, for slides. Made when "
                "you click (a few seconds for long runs).",
                disabled=problem is not None,
            )
            if problem is not None:
                st.caption(problem)


def _builtin_points_file(data: LoadedData, settings: state.Settings, params: GMMParams) -> str:
    return _points_file(data, settings, params, point_labels(data, settings))
