"""Lessons: ready scenarios for a class, each a link with a script and prompts."""

from gmm_app.lessons import render_lessons
from gmm_app.routing import ensure_app_navigation, link_warnings

ensure_app_navigation()

link_warnings("lessons")
render_lessons()
