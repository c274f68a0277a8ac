"""The app's pages, and deep links on a fresh server.

``app.py`` configures the page and routes with :data:`PAGE_CONFIG` and
:func:`pages`; every page file first calls :func:`ensure_app_navigation`.

Why the latter exists. A folder named ``pages/`` beside ``app.py`` makes
Streamlit 1.67 start in its older "pages directory" mode
(``PagesManager.uses_pages_directory``); only a call of ``st.navigation``
switches it off, for the whole server. So when the very first visitor of a
freshly started server opens a deep link such as ``/em-2d``, Streamlit runs
``pages/em-2d.py`` *without* ``app.py``: no ``set_page_config`` (narrow
layout) and a sidebar listing the raw files (``app``, ``em-1d``, ...). Naming
each page file after its ``url_path`` makes both modes resolve the same page
(they hash the URL path), so the deep link opens the right page; the page then
calls :func:`ensure_app_navigation`, which does what ``app.py`` would have done
(page config and navigation, which leaves the old mode) and carries on drawing
the page in the same run, so no click is lost. (``AppTest`` starts every run in
the old mode, so the tests exercise this path on every run.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from gmm_app.declared import PAGE, PAGES

APP_DIR = Path(__file__).resolve().parents[1]
"""The folder of ``app.py`` (the page files are in its ``pages/``)."""

PAGE_CONFIG: dict[str, Any] = {
    "page_title": "Gaussian mixtures and EM, step by step",
    # An emoji: Streamlit draws it as an inline SVG favicon. A ":material/...:" icon
    # would make the browser fetch the favicon from fonts.gstatic.com.
    "page_icon": "\U0001f4ca",
    "layout": "wide",
}


def pages() -> list[Any]:
    """The pages of :data:`gmm_app.declared.PAGES`, each with its stable ``url_path``.

    Add a page there (one ``Page(...)`` entry), with its file named after the url_path.
    """
    # Absolute file paths: the pages resolve the same whichever script runs (app.py, or a
    # page file opened directly); a page's identity is its url_path.
    return [
        st.Page(str(APP_DIR / p.file), title=p.title, icon=p.icon, url_path=p.path,
                default=not p.path)
        for p in PAGES
    ]


def page(page_id: str) -> Any:
    """The ``st.Page`` of a declared page, as the app's navigation has it.

    A page object (rather than a file path) works for ``st.switch_page`` and ``st.page_link``
    whatever the main script is: ``app.py``, or a page file opened directly.
    """
    path = PAGE[page_id].path
    return next(p for p in pages() if p.url_path == path)


def _uses_pages_directory() -> bool:
    try:  # a Streamlit internal, read defensively so that a rename cannot break the pages
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - depends on the Streamlit version
        return False
    return bool(getattr(PagesManager, "uses_pages_directory", False))


def ensure_app_navigation() -> None:
    """Call first in every page file: sets up ``app.py``'s config and navigation if bypassed.

    Only :func:`gmm_app.live_chart.preload_plotly` may come before it (the stepper pages):
    the hidden frame that makes the browser compile plotly.js while the server imports. On a
    deep link to a fresh server that frame's id is then derived from the page file's hash in
    the first run and from the page's in later ones, so it is drawn again once; nothing reads
    its value, and this call is 0.4 s of imports (the page table needs gmm_core) that the
    browser would otherwise wait through first (issue 11).
    """
    if _uses_pages_directory():
        st.set_page_config(**PAGE_CONFIG)
        st.navigation(pages(), position="sidebar")  # not .run(): this page is running
        _use_page_widget_ids()


def _use_page_widget_ids() -> None:
    """Give the widgets of this run the ids they get in navigation mode.

    In the old mode the page file runs as the main script, so Streamlit derives widget ids
    from the main script's hash; in navigation mode from the page's (its url_path hash).
    Without this, the first interaction with any widget of a deep-linked page on a fresh
    server is lost: the ids it sends do not exist in the next run.
    """
    try:  # Streamlit internals, read defensively (as in _uses_pages_directory)
        from streamlit.runtime.scriptrunner_utils.script_run_context import (
            ThreadState,
            get_script_run_ctx,
        )
    except ImportError:  # pragma: no cover - depends on the Streamlit version
        return
    ctx = get_script_run_ctx()
    if ctx is not None and ctx.page_script_hash:
        ThreadState.update(active_script_hash=ctx.page_script_hash)


LINK_WARNING_ICON = ":material/link:"


def link_warnings(page_id: str) -> None:
    """Check the link that opened a page without settings (Lessons, Your data) and say what
    it could not use, as the other pages do: ``/lessons?x=1`` names ``x`` as not used here.

    The link is checked once per session (:func:`gmm_app.state.init_page`); its messages
    are shown while the address still carries parameters (leaving the page clears them).
    """
    from gmm_app import state  # here: a page's first import stays as light as it was

    messages = state.init_page(page_id)
    if not messages and st.query_params:
        messages = state.link_messages(page_id)
    if len(messages) == 1:
        st.warning(messages[0], icon=LINK_WARNING_ICON)
    elif messages:
        st.warning("Parts of this link were not used:\n" + "\n".join(f"- {m}" for m in messages),
                   icon=LINK_WARNING_ICON)
