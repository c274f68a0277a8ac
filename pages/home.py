"""Home: what a Gaussian mixture is, what EM does and why, and where to try it."""

import streamlit as st

from gmm_app.routing import ensure_app_navigation, link_warnings, page

ensure_app_navigation()
if st.query_params:  # (checked only then: the landing page's imports stay light)
    link_warnings("home")

st.title("Gaussian mixtures and EM, one half-step at a time", anchor=False)
st.markdown(
    "A **Gaussian mixture** explains data as coming from K bell-shaped clusters. "
    "The **EM algorithm** fits one by alternating two simple steps. Here you can press "
    "each step yourself, go back, and watch what changes."
)

with st.container(horizontal=True, gap="medium"):
    for page_id in ("em1d", "em2d", "your_data"):
        st.page_link(page(page_id))

left, right = st.columns(2, gap="large")
with left:
    st.subheader("The model", anchor=False)
    st.markdown(
        "Each component k has a weight π\u2096 (its share of the points), a mean μ\u2096 "
        "(its centre) and a covariance Σ\u2096 (its spread and shape). The density of the "
        "mixture is the weighted sum of the components:"
    )
    st.latex(r"p(x) = \sum_{k=1}^{K} \pi_k \, \mathcal{N}(x \mid \mu_k, \Sigma_k)")
    st.latex(r"\pi_k \ge 0, \qquad \sum_{k=1}^{K} \pi_k = 1")
    st.markdown("How well parameters θ fit N points is measured by the **log-likelihood**:")
    st.latex(
        r"\log L(\theta) = \sum_{n=1}^{N} \log \sum_{k=1}^{K} \pi_k\,"
        r"\mathcal{N}(x_n \mid \mu_k, \Sigma_k)"
    )
    st.markdown(
        "No formula gives the best θ directly: the sum inside the logarithm couples "
        "the components. EM climbs to a (local) maximum instead, and **each EM iteration "
        "never lowers the log-likelihood** (watch its chart on the stepper pages; the small "
        "reg_covar added to every covariance for safety can cost a tiny amount)."
    )

with right:
    st.subheader("E-step: who owns each point?", anchor=False)
    st.markdown(
        "With the Gaussians held fixed, compute each point's **responsibilities**: the "
        "probability that component k generated point n. The points recolour; the "
        "Gaussians do not move."
    )
    st.latex(
        r"\gamma_{nk} = \frac{\pi_k\,\mathcal{N}(x_n \mid \mu_k, \Sigma_k)}"
        r"{\sum_{j=1}^{K} \pi_j\,\mathcal{N}(x_n \mid \mu_j, \Sigma_j)}"
    )
    st.subheader("M-step: move the Gaussians", anchor=False)
    st.markdown(
        "With the responsibilities held fixed, refit every component to the points "
        "it owns, each point counted with weight γ\u2099\u2096. The Gaussians move; the "
        "colours do not."
    )
    st.latex(r"N_k = \sum_{n} \gamma_{nk}, \qquad \pi_k = \frac{N_k}{N}")
    st.latex(r"\mu_k = \frac{1}{N_k} \sum_{n} \gamma_{nk}\, x_n")
    st.latex(
        r"\Sigma_k = \frac{1}{N_k} \sum_{n} \gamma_{nk}\,(x_n - \mu_k)(x_n - \mu_k)^{\top}"
    )

st.divider()
soft, kmeans = st.columns(2, gap="large")
with soft:
    st.subheader("Soft versus hard assignment", anchor=False)
    st.markdown(
        "A **hard** assignment gives each point to exactly one cluster. EM's "
        "responsibilities are **soft**: a point between two clusters can belong 60 % to "
        "one and 40 % to the other, and it pulls on both means in that proportion. On "
        "the stepper pages such points are drawn in a blend of the two colours. Soft "
        "assignment is what makes each EM step improve the likelihood smoothly instead "
        "of jumping between labellings."
    )
with kmeans:
    st.subheader("GMM versus k-means", anchor=False)
    st.markdown(
        "**k-means** is the hard, round special case: every point goes to the nearest "
        "centre, and every cluster is implicitly a circle of the same size. A **Gaussian "
        "mixture** gives each cluster its own weight and its own covariance, so it can "
        "fit stretched, tilted and unequal clusters, and it says how sure it is about "
        "every point. The price: more parameters, local maxima, and the risk that a "
        "component collapses onto a single point (try `reg_covar = 0`)."
    )

st.divider()
st.subheader("Try it", anchor=False)
st.markdown(
    "1. Open **EM in 2-D**, keep the *Blobs* data and K = 3.\n"
    "2. Press **E-step**: the points take the colours of the components that explain "
    "them best; the ellipses stay put.\n"
    "3. Press **M-step**: the ellipses move to the points they own.\n"
    "4. Press **Iterate** a few times, then **Back** to retrace, or **Run to "
    "convergence** and **Play** to watch the whole climb.\n"
    "5. Click a point to see its E-step with live numbers."
)
st.page_link(page("em2d"), label="Start with EM in 2-D", icon=":material/arrow_forward:")
