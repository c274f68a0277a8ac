"""Lessons: ready scenarios for a class, each a link with a script and prompts."""

from gmm_app.lessons import render_lessons
from gmm_app.routing import ensure_app_navigation

ensure_app_navigation()

render_lessons()
