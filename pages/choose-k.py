"""Choose K: BIC, AIC and held-out log-likelihood for K = 1..10 and every covariance type."""

from gmm_app.model_pages import render_choose_k
from gmm_app.routing import ensure_app_navigation

ensure_app_navigation()

render_choose_k()
