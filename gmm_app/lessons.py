"""The Lessons page (work in progress)."""

from __future__ import annotations

import streamlit as st


def render_lessons() -> None:
    """Draw the Lessons page."""
    st.title("Lessons", anchor=False)
