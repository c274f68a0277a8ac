"""k-means vs a mixture: the same data and K side by side, half-step by half-step."""

from gmm_app.model_pages import render_kmeans_vs_gmm
from gmm_app.routing import ensure_app_navigation

ensure_app_navigation()

render_kmeans_vs_gmm()
