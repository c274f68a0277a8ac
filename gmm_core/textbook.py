"""EM for Gaussian mixtures as the formulas read. Start here.

This module is written to be read, not to be fast: each function is a formula
from the Home page, in plain numpy, one component at a time. The rest of
``gmm_core`` computes the same numbers much faster (one pass over the data,
quadratic features, chunks; see ``gmm_core/_em.py``), and the tests check the
fast path against this module.

Notation: N points ``X`` (shape (N, D)), K components with weights ``pi``
(K,), means ``mu`` (K, D) and covariances ``Sigma`` (K, D, D); the
responsibilities ``gamma`` (N, K).

One numerical precaution is kept, because without it the formulas fail on
ordinary data: densities are handled as logarithms. A point 40 standard
deviations from every component has density exp(-800), which is 0 in floating
point, and its responsibilities would be 0/0. In logarithms nothing underflows;
dividing by the sum becomes subtracting its logarithm (log-sum-exp).
"""

from __future__ import annotations

import numpy as np

from gmm_core._params import GMMParams


def log_gaussian(X: np.ndarray, mu: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """log N(x | mu, Sigma) for every point.

    .. math::

        \\log \\mathcal{N}(x \\mid \\mu, \\Sigma) = -\\tfrac12 \\left(
        D \\log 2\\pi + \\log|\\Sigma| + (x-\\mu)^\\top \\Sigma^{-1} (x-\\mu) \\right)

    Parameters
    ----------
    X : ndarray, shape (N, D)
    mu : ndarray, shape (D,)
    Sigma : ndarray, shape (D, D)

    Returns
    -------
    ndarray, shape (N,)
    """
    D = X.shape[1]
    diff = X - mu  # (N, D): x - mu, formed first so that far-away data lose no digits
    _, log_det = np.linalg.slogdet(Sigma)
    # (x - mu)^T Sigma^-1 (x - mu) for every point; solve() instead of inv() for accuracy.
    mahalanobis = np.sum(diff * np.linalg.solve(Sigma, diff.T).T, axis=1)
    return -0.5 * (D * np.log(2 * np.pi) + log_det + mahalanobis)


def e_step(X: np.ndarray, params: GMMParams) -> tuple[np.ndarray, float]:
    """E-step: the responsibility of each component for each point.

    .. math::

        \\gamma_{nk} = \\frac{\\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)}
                            {\\sum_j \\pi_j \\mathcal{N}(x_n \\mid \\mu_j, \\Sigma_j)}

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params : GMMParams

    Returns
    -------
    gamma : ndarray, shape (N, K)
    log_likelihood : float
        :math:`\\sum_n \\log \\sum_k \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)`.
    """
    pi, mu, Sigma = params.weights, params.means, params.covariances
    K = len(pi)
    # log of the numerator, pi_k N(x_n | mu_k, Sigma_k), one column per component
    with np.errstate(divide="ignore"):  # a weight of 0 has log -inf: that is right
        log_num = np.stack(
            [np.log(pi[k]) + log_gaussian(X, mu[k], Sigma[k]) for k in range(K)], axis=1
        )
    # log of the denominator (the sum over j), by log-sum-exp: factor out the largest term
    top = log_num.max(axis=1, keepdims=True)
    log_den = top + np.log(np.exp(log_num - top).sum(axis=1, keepdims=True))
    gamma = np.exp(log_num - log_den)
    return gamma, float(log_den.sum())


def m_step(
    X: np.ndarray, gamma: np.ndarray, covariance_type: str = "full", reg_covar: float = 0.0
) -> GMMParams:
    """M-step: refit every component to the points it owns, weighted by gamma.

    .. math::

        N_k = \\sum_n \\gamma_{nk}, \\qquad \\pi_k = \\frac{N_k}{N}, \\qquad
        \\mu_k = \\frac{1}{N_k} \\sum_n \\gamma_{nk} x_n, \\qquad
        \\Sigma_k = \\frac{1}{N_k} \\sum_n \\gamma_{nk} (x_n - \\mu_k)(x_n - \\mu_k)^\\top

    The covariance types restrict :math:`\\Sigma_k`: "tied" shares one matrix,
    :math:`\\Sigma = \\frac1N \\sum_k \\sum_n \\gamma_{nk}(x_n-\\mu_k)(x_n-\\mu_k)^\\top`;
    "diag" keeps only the diagonal of :math:`\\Sigma_k`; "spherical" uses
    :math:`\\sigma_k^2 I` with :math:`\\sigma_k^2` the mean of that diagonal.
    ``reg_covar`` is then added to every diagonal (it keeps a component that
    sits on one point from collapsing).

    Parameters
    ----------
    X : ndarray, shape (N, D)
    gamma : ndarray, shape (N, K)
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float

    Returns
    -------
    GMMParams
    """
    N, D = X.shape
    K = gamma.shape[1]
    N_k = gamma.sum(axis=0)  # (K,)
    pi = N_k / N
    mu = np.stack([gamma[:, k] @ X / N_k[k] for k in range(K)])  # (K, D)
    Sigma = np.empty((K, D, D))
    for k in range(K):
        diff = X - mu[k]  # (N, D)
        Sigma[k] = (gamma[:, k, None] * diff).T @ diff / N_k[k]
    if covariance_type == "tied":
        shared = sum(N_k[k] * Sigma[k] for k in range(K)) / N
        Sigma = np.stack([shared] * K)
    elif covariance_type == "diag":
        Sigma = np.stack([np.diag(np.diag(Sigma[k])) for k in range(K)])
    elif covariance_type == "spherical":
        Sigma = np.stack([np.trace(Sigma[k]) / D * np.eye(D) for k in range(K)])
    Sigma = Sigma + reg_covar * np.eye(D)
    return GMMParams(pi, mu, Sigma)


def log_likelihood(X: np.ndarray, params: GMMParams) -> float:
    """:math:`\\log L = \\sum_n \\log \\sum_k \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)`."""
    return e_step(X, params)[1]


def em(
    X: np.ndarray,
    params: GMMParams,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    n_iter: int = 100,
) -> tuple[GMMParams, list[float]]:
    """Run ``n_iter`` EM iterations: E-step, then M-step, and again.

    Each iteration never lowers the log-likelihood (up to ``reg_covar``).
    There is no stopping rule here: when to stop is a question of its own,
    answered in :func:`gmm_core.run_em`.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params : GMMParams
        Where EM starts.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
    n_iter : int

    Returns
    -------
    params : GMMParams
        The parameters after ``n_iter`` iterations.
    log_likelihoods : list of float
        The log-likelihood of the start and after each iteration (``n_iter + 1`` values).
    """
    log_likelihoods = [log_likelihood(X, params)]
    for _ in range(n_iter):
        gamma, _ = e_step(X, params)
        params = m_step(X, gamma, covariance_type, reg_covar)
        log_likelihoods.append(log_likelihood(X, params))
    return params, log_likelihoods
