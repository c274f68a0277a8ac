"""gmm_core: Gaussian mixture models and the EM algorithm, one half-step at a time.

A small, fast, dependency-light library (numpy and scipy only) with a drop-in
for ``sklearn.mixture.GaussianMixture`` (:class:`GaussianMixture`: the same
parameters, attributes, errors and EM loop; scikit-learn's own test file passes
against it, see tests/test_sklearn_suite.py), and the pure functions it is
built from, so that EM can be run, inspected and taught step by step::

    >>> import numpy as np
    >>> from gmm_core import initialize, e_step, m_step
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> params = initialize(X, 3, "kmeans++", rng)
    >>> resp, log_lik = e_step(X, params)       # E-step: soft assignments
    >>> params = m_step(X, resp, "full", 1e-6)  # M-step: new weights, means, covariances
"""

from gmm_core import datasets, textbook
from gmm_core._em import (
    CONVERGENCE_RULES,
    Collapse,
    ComponentCollapseError,
    EMHistory,
    HalfStep,
    aic,
    aitken_expected_gain,
    bic,
    e_step,
    log_likelihood,
    m_step,
    n_parameters,
    predict,
    predict_proba,
    run_em,
    sample,
    score_samples,
    twin_components,
    weighted_log_prob,
)
from gmm_core._estimator import (
    ConvergenceWarning,
    DegenerateFitWarning,
    GaussianMixture,
    InvalidParameterError,
    NotFittedError,
)
from gmm_core._init import INIT_METHODS, initialize
from gmm_core._kmeans import (
    KMeansStep,
    kmeans_assign,
    kmeans_inertia,
    kmeans_update,
    run_kmeans,
    shared_variance_e_step,
    shared_variance_m_step,
    shared_variance_params,
)
from gmm_core._memory import clear as clear_memory_pool
from gmm_core._params import COVARIANCE_TYPES, CovarianceType, GMMParams
from gmm_core._sampling import (
    sample_components,
    sample_points,
    sample_two_stage,
    unusual_points,
)
from gmm_core._selection import (
    FitResult,
    ModelScore,
    OptimumGroup,
    best_fit,
    best_model,
    fit_starts,
    group_optima,
    kfold_indices,
    match_components,
    same_optimum,
    score_model,
    select_model,
)

__all__ = [
    "CONVERGENCE_RULES",
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "Collapse",
    "ComponentCollapseError",
    "ConvergenceWarning",
    "DegenerateFitWarning",
    "CovarianceType",
    "EMHistory",
    "GMMParams",
    "GaussianMixture",
    "HalfStep",
    "InvalidParameterError",
    "NotFittedError",
    "aic",
    "aitken_expected_gain",
    "datasets",
    "textbook",
    "twin_components",
    "bic",
    "clear_memory_pool",
    "e_step",
    "initialize",
    "log_likelihood",
    "m_step",
    "n_parameters",
    "predict",
    "predict_proba",
    "run_em",
    "sample",
    "score_samples",
    "weighted_log_prob",
    # Choosing and comparing models (issue 8)
    "FitResult",
    "KMeansStep",
    "ModelScore",
    "OptimumGroup",
    "best_fit",
    "best_model",
    "fit_starts",
    "group_optima",
    "kfold_indices",
    "kmeans_assign",
    "kmeans_inertia",
    "kmeans_update",
    "match_components",
    "run_kmeans",
    "same_optimum",
    "sample_components",
    "sample_points",
    "sample_two_stage",
    "score_model",
    "select_model",
    "shared_variance_e_step",
    "shared_variance_m_step",
    "shared_variance_params",
    "unusual_points",
]
