"""EM in 2-D: points coloured by responsibilities, covariance ellipses, one half-step at a time."""

from gmm_app.live_chart import preload_plotly

# First of all, even before the app's navigation (see gmm_app.routing.ensure_app_navigation):
# the browser downloads and compiles plotly.js (4.8 MB, ~2 s of its main thread) while the
# server imports and computes the page (issue 11).
preload_plotly()

from gmm_app.routing import ensure_app_navigation  # noqa: E402  (after the preload, on purpose)

ensure_app_navigation()

from gmm_app.stepper import render_stepper  # noqa: E402

render_stepper(n_features=2)
