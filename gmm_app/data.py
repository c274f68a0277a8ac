"""The data a stepper page works on: built-in data sets (cached) or this session's upload."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from gmm_app.bounded import CACHE_TTL_S
from gmm_app.state import UPLOADED, Settings, UploadedData, builtin_data_key
from gmm_core import GMMParams, datasets


class DataError(ValueError):
    """The data cannot be loaded; the message says why and what to do."""


@dataclass(frozen=True, eq=False)
class LoadedData:
    """Data ready for EM, with what the page shows about it.

    Attributes
    ----------
    X : ndarray, shape (N, D)
    dataset : str
        Data-set name (or :data:`gmm_app.state.UPLOADED`).
    title : str
        Display title. For uploaded data it contains user text: show it as text only.
    feature_names : tuple of str, length D
    description : str
        One to three sentences about the data.
    trusted : bool
        True for built-in data sets (their text may be rendered as Markdown).
    true_params : GMMParams or None
        The generating mixture of synthetic data.
    key : str
        Identifies the data's content: the cache key of runs on it.
    labels : ndarray of int, shape (N,), or None
        Known label of each point (an uploaded label column), codes into ``label_names``.
    label_names : tuple of str, or None
        User text: show it as text only.
    """

    X: np.ndarray
    dataset: str
    title: str
    feature_names: tuple[str, ...]
    description: str
    trusted: bool
    true_params: GMMParams | None
    key: str
    labels: np.ndarray | None = None
    label_names: tuple[str, ...] | None = None


@st.cache_data(max_entries=32, ttl=CACHE_TTL_S, show_spinner=False)
def _load_builtin(name: str, knob_items: tuple[tuple[str, float], ...]) -> datasets.Dataset:
    return datasets.load(name, **dict(knob_items))


def dataset_title(name: str, uploaded: UploadedData | None) -> str:
    """The label of a data set in the page's list (uploaded: ``Your data: <name>``)."""
    if name == UPLOADED:
        return f"Your data: {uploaded.name}" if uploaded is not None else "Your data"
    try:
        return datasets.describe(name).title
    except (KeyError, ValueError):
        return name


def load_data(settings: Settings, uploaded: UploadedData | None) -> LoadedData:
    """Load the data set the settings name.

    Raises
    ------
    DataError
        If the data set or its knobs are invalid (the message says what to change).
    """
    if settings.dataset == UPLOADED:
        if uploaded is None:
            raise DataError(
                "There is no uploaded data in this session. Choose a data set from the list, "
                "or upload a file on the 'Your data' page."
            )
        return LoadedData(
            X=uploaded.X,
            dataset=UPLOADED,
            title=dataset_title(UPLOADED, uploaded),
            feature_names=uploaded.feature_names,
            description=f"{uploaded.X.shape[0]:,} rows uploaded in this session.",
            trusted=False,
            true_params=None,
            key=uploaded.data_key,
            labels=uploaded.labels if uploaded.label_names is not None else None,
            label_names=uploaded.label_names,
        )
    knob_items = tuple(sorted(dict(settings.knobs).items()))
    try:
        data = _load_builtin(settings.dataset, knob_items)
    except (KeyError, ValueError, TypeError) as err:
        raise DataError(
            f"The data set '{settings.dataset}' could not be made with these settings: {err}"
        ) from None
    spec = datasets.describe(settings.dataset)
    return LoadedData(
        X=data.X,
        dataset=settings.dataset,
        title=spec.title,
        feature_names=tuple(data.feature_names),
        description=spec.description,
        trusted=True,
        true_params=data.true_params,
        key=builtin_data_key(settings.dataset, dict(knob_items)),
    )
