"""Restarts: many starts of one model, their optima grouped, a gallery sorted by the result."""

from gmm_app.model_pages import render_restarts
from gmm_app.routing import ensure_app_navigation

ensure_app_navigation()

render_restarts()
