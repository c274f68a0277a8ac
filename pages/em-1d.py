"""EM in 1-D: histogram, weighted components, rug and responsibilities, one half-step at a time."""

from gmm_app.live_chart import preload_plotly
from gmm_app.routing import ensure_app_navigation

ensure_app_navigation()
# First: the browser compiles plotly.js while the server imports and computes the page.
preload_plotly()

from gmm_app.stepper import render_stepper  # noqa: E402  (after the preload, on purpose)

render_stepper(n_features=1)
