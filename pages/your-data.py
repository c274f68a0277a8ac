"""Your data: upload or paste a table, choose its columns, and step EM through it."""

from gmm_app.routing import ensure_app_navigation
from gmm_app.your_data import render_your_data

ensure_app_navigation()

render_your_data()
