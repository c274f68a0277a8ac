"""A scikit-learn-like estimator on top of the pure EM functions."""

from __future__ import annotations

import warnings

import numpy as np

from gmm_core._em import (
    ComponentCollapseError,
    EMHistory,
    aic,
    bic,
    check_data,
    log_likelihood,
    predict,
    predict_proba,
    run_em,
    sample,
    score_samples,
)
from gmm_core._init import INIT_METHODS, InitMethod, initialize
from gmm_core._params import CovarianceType, GMMParams, check_covariance_type


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled."""


class GaussianMixture:
    """Gaussian mixture model fitted by EM, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Convergence threshold on the change of the mean per-sample log-likelihood.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
    n_init : int, default 1
        Number of starts; the one with the highest final log-likelihood is kept.
    init : {"kmeans", "kmeans++", "random_from_data", "random_resp"}, default "kmeans"
    random_state : int, numpy.random.Generator or None

    Attributes
    ----------
    weights_ : ndarray, shape (K,)
    means_ : ndarray, shape (K, D)
    covariances_ : ndarray, shape (K, D, D)
        Always full matrices (unlike scikit-learn, whose shape depends on the type).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean per-sample log-likelihood of the fitted parameters.
    params_ : GMMParams
    history_ : EMHistory
        The run that was kept.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: CovarianceType = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init: InitMethod = "kmeans",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init = init
        self.random_state = random_state

    def _check_settings(self) -> None:
        check_covariance_type(self.covariance_type)
        if self.init not in INIT_METHODS or self.init == "manual":
            raise ValueError(
                f"init must be one of kmeans, kmeans++, random_from_data, random_resp; "
                f"got {self.init!r}."
            )
        if int(self.n_init) < 1 or int(self.max_iter) < 1 or int(self.n_components) < 1:
            raise ValueError("n_components, n_init and max_iter must be at least 1.")

    def fit(self, X: np.ndarray, y: object = None) -> GaussianMixture:
        """Fit the mixture to ``X`` (shape (N, D)) by EM; returns ``self``.

        Raises
        ------
        ValueError
            If every start collapses, with what to do about it.
        """
        self._check_settings()
        X = check_data(X)
        if X.shape[0] < 2:
            raise ValueError("Fitting needs at least 2 points.")
        rng = np.random.default_rng(self.random_state)
        best: EMHistory | None = None
        last_error: ComponentCollapseError | None = None
        for _ in range(int(self.n_init)):
            try:
                params0 = initialize(
                    X, self.n_components, self.init, rng,
                    covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                )
            except ComponentCollapseError as err:
                last_error = err
                continue
            history = run_em(
                X, params0, covariance_type=self.covariance_type, reg_covar=self.reg_covar,
                tol=self.tol, max_iter=self.max_iter,
            )
            if history.collapse is not None:
                last_error = ComponentCollapseError(history.collapse)
                continue
            if best is None or history.final.log_likelihood > best.final.log_likelihood:
                best = history
        if best is None:
            assert last_error is not None
            raise ValueError(
                f"Every EM start failed. {last_error} (reg_covar is {self.reg_covar:g}; "
                f"n_components is {self.n_components}.)"
            ) from last_error
        if not best.converged:
            warnings.warn(
                f"EM did not converge in {self.max_iter} iterations (tol={self.tol:g}); "
                "raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.history_ = best
        self.params_ = best.final.params
        self.weights_ = self.params_.weights
        self.means_ = self.params_.means
        self.covariances_ = self.params_.covariances
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.final.log_likelihood / X.shape[0]
        return self

    def fit_predict(self, X: np.ndarray, y: object = None) -> np.ndarray:
        """Fit, then return the hard labels of ``X``, shape (N,)."""
        return self.fit(X).predict(X)

    def _fitted(self) -> GMMParams:
        if not hasattr(self, "params_"):
            raise ValueError("This GaussianMixture is not fitted yet; call fit(X) first.")
        return self.params_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most responsible component of each point, shape (N,)."""
        return predict(X, self._fitted())

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Responsibilities, shape (N, K)."""
        return predict_proba(X, self._fitted())

    def score_samples(self, X: np.ndarray) -> np.ndarray:
        """Log density of the mixture at each point, shape (N,)."""
        return score_samples(X, self._fitted())

    def score(self, X: np.ndarray, y: object = None) -> float:
        """Mean per-sample log-likelihood of ``X``."""
        X = check_data(X)
        return log_likelihood(X, self._fitted()) / X.shape[0]

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points; returns ``(X (n, D), labels (n,))``."""
        return sample(self._fitted(), n_samples, np.random.default_rng(self.random_state))

    def bic(self, X: np.ndarray) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        return bic(X, self._fitted(), self.covariance_type)

    def aic(self, X: np.ndarray) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        return aic(X, self._fitted(), self.covariance_type)
