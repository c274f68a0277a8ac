"""EM in 2-D: points coloured by responsibilities, covariance ellipses, one half-step at a time."""

from gmm_app.routing import ensure_app_navigation
from gmm_app.stepper import render_stepper

ensure_app_navigation()

render_stepper(n_features=2)
