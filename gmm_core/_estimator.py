"""``GaussianMixture``: a drop-in for ``sklearn.mixture.GaussianMixture``.

Same constructor parameters, fitted attributes (with scikit-learn's per-type
shapes), methods, errors and warnings as scikit-learn's estimator, and the same
EM loop, while each iteration is gmm_core's fused pass over the data
(:func:`gmm_core._em._em_pass`: E-step and M-step statistics in one pass). It
imports neither scikit-learn nor anything else beyond numpy and scipy:
``get_params`` / ``set_params`` / ``__sklearn_tags__`` are implemented here, so
that ``sklearn.base.clone``, ``Pipeline`` and ``GridSearchCV`` accept it.

scikit-learn's loop, reproduced exactly (its stopping rule, not the honest one of
:func:`gmm_core.run_em`, so that results match scikit-learn's):

* iteration ``t`` evaluates the current parameters ``theta_{t-1}`` (E-step),
  records their mean log-likelihood as the lower bound ``l_t``, then replaces
  them by the M-step's ``theta_t``;
* EM stops when ``|l_t - l_{t-1}| < tol`` (``l_0 = -inf``; after a warm start
  ``l_0`` is the previous ``lower_bound_``) or after ``max_iter`` iterations;
* ``lower_bound_`` is the last ``l_t`` (the log-likelihood of the parameters
  *before* the last M-step), ``lower_bounds_`` lists every ``l_t``;
* of ``n_init`` starts the one with the highest ``lower_bound_`` is kept;
* one final E-step evaluates the kept parameters (the labels of
  ``fit_predict``; here also the last log-likelihood of ``history_``).

Internally parameters are a :class:`GMMParams` with full ``(K, D, D)``
covariances in float64; the scikit-learn shaped attributes are derived from it
at the end of ``fit`` and cast to the dtype of the data (float32 in, float32 out).
"""

from __future__ import annotations

import inspect
import sys
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.special import logsumexp

from gmm_core._em import (
    ComponentCollapseError,
    EMHistory,
    HalfStep,
    _Blocks,
    _blocks,
    _centre_and_extent,
    _centred_chunk,
    _check_m_step_result,
    _chunk_step,
    _em_pass,
    _features,
    _Moments,
    _params_from_moments,
    _weighted_log_prob,
    aitken_expected_gain,
    check_data,
    n_parameters,
    predict,
    predict_proba,
    sample,
    score_samples,
)
from gmm_core._init import _kmeans_labels
from gmm_core._params import GMMParams

# ---------------------------------------------------------------------------
# Errors and warnings of the same kinds as scikit-learn's
# ---------------------------------------------------------------------------


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted model was called before ``fit``.

    Both a ValueError and an AttributeError, like scikit-learn's
    ``sklearn.exceptions.NotFittedError``, so that code catching either works.
    """


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the lower bound settled within ``tol``."""


class DegenerateFitWarning(UserWarning):
    """The fit has an empty component, or one shrunk onto a point or a line.

    scikit-learn returns such fits without a word (a variance of 1e-26 on an
    isolated point, with ``reg_covar=0``; components left without points when
    K exceeds the number of distinct points); gmm_core returns the same fit and
    says which component and what to do.
    """


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value (checked by ``fit``).

    Both a ValueError and a TypeError, like scikit-learn's
    ``sklearn.utils._param_validation.InvalidParameterError``.
    """


# scikit-learn's wording, kept because its test-suite matches these sentences.
_NOT_FITTED = (
    "This {name} instance is not fitted yet. Call 'fit' with appropriate arguments "
    "before using this estimator."
)
_NOT_CONVERGED = (
    "Best performing initialization did not converge. Try different init parameters, "
    "or increase max_iter, tol, or check for degenerate data."
)
_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples). "
    "Try to decrease the number of components, increase reg_covar, or scale the "
    "input data."
)

# ---------------------------------------------------------------------------
# Parameter validation (scikit-learn's constraints, written out)
# ---------------------------------------------------------------------------

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


def _is_int(value: object) -> bool:
    return isinstance(value, Integral)


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not (isinstance(value, float) and np.isnan(value))


def _int_at_least(low: int) -> tuple[Any, str]:
    return (lambda v: _is_int(v) and v >= low, f"an int in the range [{low}, inf)")


_NON_NEGATIVE_REAL = (lambda v: _is_real(v) and v >= 0, "a float in the range [0.0, inf)")


def _one_of(options: tuple[str, ...]) -> tuple[Any, str]:
    listed = ", ".join(repr(o) for o in options)
    return (lambda v: isinstance(v, str) and v in options, f"a str among {{{listed}}}")


def _random_state_ok(value: object) -> bool:
    if value is None or isinstance(value, (np.random.RandomState, np.random.Generator)):
        return True
    return _is_int(value) and 0 <= value <= 2**32 - 1


def _array_like_or_none(value: object) -> bool:
    return value is None or not isinstance(value, (str, bytes, dict, set))


_CONSTRAINTS: dict[str, tuple[Any, str]] = {
    "n_components": _int_at_least(1),
    "covariance_type": _one_of(_COVARIANCE_TYPES),
    "tol": _NON_NEGATIVE_REAL,
    "reg_covar": _NON_NEGATIVE_REAL,
    "max_iter": _int_at_least(0),
    "n_init": _int_at_least(1),
    "init_params": _one_of(_INIT_PARAMS),
    "weights_init": (_array_like_or_none, "an array-like or None"),
    "means_init": (_array_like_or_none, "an array-like or None"),
    "precisions_init": (_array_like_or_none, "an array-like or None"),
    "random_state": (
        _random_state_ok,
        "an int in the range [0, 4294967295], an instance of 'numpy.random.RandomState', "
        "an instance of 'numpy.random.Generator' or None",
    ),
    "warm_start": (lambda v: isinstance(v, (bool, np.bool_)), "an instance of 'bool'"),
    "verbose": (
        lambda v: isinstance(v, (bool, np.bool_)) or (_is_int(v) and v >= 0),
        "an int in the range [0, inf) or a bool",
    ),
    "verbose_interval": _int_at_least(1),
}


def _as_generator(random_state: object) -> np.random.Generator:
    """A numpy Generator from ``random_state`` (int, None, RandomState or Generator).

    A ``RandomState`` is advanced (a 128-bit seed is drawn from it), so that
    successive fits sharing one RandomState get different starts, as in
    scikit-learn; a Generator is used as it is.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32, size=4, dtype=np.uint64))
    return np.random.default_rng(random_state)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Layouts: gmm_core's (K, D, D) covariances <-> scikit-learn's per-type arrays
# ---------------------------------------------------------------------------


def _sklearn_layout(
    params: GMMParams, covariance_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``covariances_``, ``precisions_cholesky_`` and ``precisions_`` of ``params``.

    Shapes: full (K, D, D); tied (D, D); diag (K, D); spherical (K,).
    ``precisions_cholesky_`` is scikit-learn's upper-triangular ``U`` with
    ``precision = U U^T``, i.e. ``U = L^{-T}`` for the Cholesky factor ``L`` of the
    covariance; ``precisions_ = U U^T`` (``U**2`` for diag and spherical).

    Raises
    ------
    ValueError
        If a covariance is not positive definite (scikit-learn's message).
    """
    covs = params.covariances
    if covariance_type in ("full", "tied"):
        mats = covs if covariance_type == "full" else covs[:1]
        try:
            chol = np.linalg.cholesky(mats)
        except np.linalg.LinAlgError:
            raise ValueError(_ILL_DEFINED) from None
        # L^{-1} is lower triangular; np.triu drops the rounding left above the
        # diagonal of its transpose, so U is exactly upper triangular.
        prec_chol = np.triu(np.swapaxes(np.linalg.inv(chol), 1, 2))
        prec = prec_chol @ np.swapaxes(prec_chol, 1, 2)
        cov = mats
        if covariance_type == "tied":
            cov, prec_chol, prec = cov[0], prec_chol[0], prec[0]
        return cov.copy(), prec_chol, prec
    if covariance_type == "diag":
        cov = np.diagonal(covs, axis1=1, axis2=2).copy()
    else:  # spherical: sigma_k^2 I is stored in full; its (0, 0) entry is sigma_k^2 exactly
        cov = covs[:, 0, 0].copy()
    if np.any(cov <= 0):
        raise ValueError(_ILL_DEFINED)
    prec_chol = 1.0 / np.sqrt(cov)
    return cov, prec_chol, prec_chol**2


def _covariances_from_precisions(
    precisions: np.ndarray, covariance_type: str, k: int, d: int
) -> np.ndarray:
    """Full (K, D, D) covariances from ``precisions_init`` in scikit-learn's layout."""
    if covariance_type in ("full", "tied"):
        mats = precisions if covariance_type == "full" else precisions[None]
        cov = np.linalg.inv(mats)
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))  # exactly symmetric
        return np.broadcast_to(cov, (k, d, d)).copy()
    variances = 1.0 / precisions
    if covariance_type == "spherical":
        variances = np.repeat(variances[:, None], d, axis=1)
    return variances[:, :, None] * np.eye(d)


# ---------------------------------------------------------------------------
# Starting parameters
# ---------------------------------------------------------------------------


def _kmeans_plus_plus_indices(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): indices of K rows of X (N, D).

    Like :func:`gmm_core._init._kmeans_plus_plus`, but it also accepts K above
    the number of distinct points (as scikit-learn does): once every point
    coincides with a seed, further seeds are drawn uniformly (duplicates).
    """
    n = X.shape[0]
    chosen = [int(rng.integers(n))]
    diff = X - X[chosen[0]]
    d2 = np.einsum("ij,ij->i", diff, diff)
    for _ in range(1, k):
        total = d2.sum()
        idx = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        chosen.append(idx)
        diff = X - X[idx]
        np.minimum(d2, np.einsum("ij,ij->i", diff, diff), out=d2)
    return np.array(chosen)


def _m_step_from_rows(
    X: np.ndarray,
    centre: np.ndarray,
    rows: Any,
    k: int,
    covariance_type: str,
    reg_covar: float,
) -> GMMParams:
    """M-step from responsibilities given chunk by chunk, never refusing a degenerate fit.

    Parameters
    ----------
    X : ndarray, shape (N, D)
    centre : ndarray, shape (D,)
    rows : callable
        ``rows(start, stop)`` returns the responsibilities of rows ``start:stop``,
        shape (stop - start, K) (so a hard labelling never materialises (N, K)).
    """
    n, d = X.shape
    step = _chunk_step(n, k)
    stats = np.zeros((k, 1 + d + d * (d + 1) // 2))
    for start in range(0, n, step):
        XcT = _centred_chunk(X, start, step, centre)
        stats += rows(start, start + XcT.shape[1]).T @ _features(XcT).T

    def two_pass(ks: np.ndarray, means_c: np.ndarray) -> np.ndarray:
        # Exact scatter for components whose one-pass moments lost their digits.
        out = np.zeros((ks.size, d, d))
        for start in range(0, n, step):
            XcT = _centred_chunk(X, start, step, centre)
            resp = rows(start, start + XcT.shape[1])
            for i, kk in enumerate(ks):
                diff = XcT - means_c[i][:, None]
                out[i] += (resp[:, kk] * diff) @ diff.T
        return out

    return _params_from_moments(
        _Moments(stats, centre, d, step), covariance_type, reg_covar, two_pass,
        check_collapse=False,
    )


# ---------------------------------------------------------------------------
# One EM run
# ---------------------------------------------------------------------------


@dataclass
class _Run:
    """The outcome of one start: the parameters of every iteration and their bounds."""

    params: list[GMMParams]  # theta_0 ... theta_n
    log_likelihoods: list[float]  # total LL of theta_0 ... theta_{n-1}
    lower_bounds: list[float]  # mean LL per iteration (scikit-learn's lower_bounds_)
    lower_bound: float
    converged: bool
    start_bound: float  # the lower bound before the first iteration (-inf, or a warm start's)

    @property
    def n_iter(self) -> int:
        return len(self.lower_bounds)


def _raise_ill_defined(err: ComponentCollapseError) -> None:
    raise ValueError(f"{_ILL_DEFINED} ({err.collapse.message})") from err


class GaussianMixture:
    """Gaussian mixture fitted by EM: a drop-in for ``sklearn.mixture.GaussianMixture``.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        EM stops when the mean log-likelihood (lower bound) changes by less than
        this between iterations (scikit-learn's rule; :func:`gmm_core.run_em`
        has an honest one that does not stop on plateaus).
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
        0 leaves the starting parameters as the fit.
    n_init : int, default 1
        Number of starts; the one with the highest lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        ``"kmeans"``: k-means (scipy's ``kmeans2`` from k-means++ seeds), then the
        M-step of its hard labels. ``"random"``: uniform random responsibilities,
        then an M-step (``"random_resp"`` in :func:`gmm_core.initialize`).
        ``"k-means++"`` / ``"random_from_data"``: K data points (k-means++
        seeding / uniformly without replacement) as means with covariances
        ``reg_covar * I``, as scikit-learn does (so the first E-step assigns each
        point to its nearest seed; with ``reg_covar=0`` this start is singular),
        and weights 1/K (scikit-learn's are 1/N each, not summing to one).
    weights_init : array_like, shape (K,), optional
    means_init : array_like, shape (K, D), optional
    precisions_init : array_like, optional
        Inverse covariances, shaped as ``precisions_`` for the type. Whichever of
        the three are given replace the initialisation's values.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None
        All randomness goes through one ``numpy.random.Generator`` per fit
        (seeded from an int, drawn from a RandomState, or used as given).
    warm_start : bool, default False
        If True, each ``fit`` after the first continues from the fitted
        parameters (and ``lower_bound_``), with ``n_init`` ignored.
    verbose : int, default 0
        1 prints the starts and every ``verbose_interval``-th iteration; 2 adds
        the lower bound's changes and timings.
    verbose_interval : int, default 10

    Attributes
    ----------
    weights_ : ndarray, shape (K,)
    means_ : ndarray, shape (K, D)
    covariances_ : ndarray
        full (K, D, D), tied (D, D), diag (K, D), spherical (K,).
    precisions_ : ndarray
        Inverses of ``covariances_``, same shape.
    precisions_cholesky_ : ndarray
        Upper-triangular ``U`` with ``precisions_ = U U^T`` (square roots for
        diag / spherical), same shape.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the parameters before the last M-step (``-inf``
        for ``max_iter=0``).
    lower_bounds_ : list of float
        The lower bound of every iteration of the kept start.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a table with string column names.
    params_ : GMMParams
        The fitted mixture for gmm_core's functions (float64, full covariances).
    history_ : EMHistory
        Every half-step of the kept start (init, E, M, ...), with total
        log-likelihoods.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    # ------------------------------------------------------------------ parameters

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters as a dict (with ``name__sub`` entries if ``deep``)."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> GaussianMixture:
        """Set constructor parameters by name; returns ``self``.

        Raises
        ------
        ValueError
            For a name that is not a parameter, listing the valid ones.
        """
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self!r}. Valid parameters "
                    f"are: {sorted(self._get_param_names())!r}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = []
        for name in sorted(self._get_param_names()):  # scikit-learn's order
            value = getattr(self, name)
            default = defaults[name]
            same = value is default or (
                not isinstance(value, np.ndarray) and type(value) is type(default)
                and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (a density estimator), for its meta-estimators.

        Only scikit-learn calls this, so it is already imported: its ``Tags``
        classes are taken from ``sys.modules`` and gmm_core never imports it.
        """
        utils = sys.modules.get("sklearn.utils")
        if utils is None:
            raise RuntimeError("__sklearn_tags__ is for scikit-learn, which is not imported.")
        return utils.Tags(
            estimator_type="density_estimator",
            target_tags=utils.TargetTags(required=False),
            input_tags=utils.InputTags(),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    def _validate_params(self) -> None:
        for name, (ok, description) in _CONSTRAINTS.items():
            value = getattr(self, name)
            if not ok(value):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be {description}. "
                    f"Got {value!r} instead."
                )

    # ------------------------------------------------------------------ data

    def _check_X(self, X: Any, *, fitting: bool) -> tuple[np.ndarray, np.dtype]:
        """X as float64 (N, D) for the computations, and the dtype results take."""
        # The phrases scikit-learn's estimator checks look for are kept in the
        # messages ("Complex data not supported", "Reshape your data", "0 feature(s)
        # (shape=...) while a minimum of 1 is required", "is expecting 2 features").
        name = type(self).__name__
        if type(X).__module__.startswith("scipy.sparse"):
            raise TypeError(
                f"Sparse data was passed, but {name} needs dense data: pass X.toarray()."
            )
        columns = getattr(X, "columns", None)
        arr = np.asarray(X)
        if arr.dtype.kind == "c":
            raise ValueError("Complex data not supported; pass real numbers.")
        if arr.ndim != 2:
            raise ValueError(
                f"Expected a 2-D array X of shape (n_samples, n_features); got shape "
                f"{arr.shape}. Reshape your data: X.reshape(-1, 1) if it has a single "
                "feature, X.reshape(1, -1) if it holds a single sample."
            )
        for count, what, low in ((arr.shape[1], "feature", 1), (arr.shape[0], "sample", 1)):
            if count < low:
                raise ValueError(
                    f"X has {count} {what}(s) (shape={arr.shape}) while a minimum of {low} "
                    f"is required by {name}."
                )
        dtype = np.dtype(np.float32) if arr.dtype == np.float32 else np.dtype(np.float64)
        X64 = check_data(arr)
        n, d = X64.shape
        if fitting:
            if n < 2:
                raise ValueError(
                    f"Fitting a {name} needs at least 2 points (samples); got {n} sample(s) "
                    f"(shape={X64.shape})."
                )
            if n < self.n_components:
                raise ValueError(
                    f"n_components = {self.n_components} is more than the {n} points "
                    "(samples): lower K (n_components) or give more data."
                )
            self.n_features_in_ = d
            if columns is not None and all(isinstance(c, str) for c in columns):
                self.feature_names_in_ = np.asarray(list(columns), dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif d != self.n_features_in_:
            raise ValueError(
                f"X has {d} features, but {name} is expecting {self.n_features_in_} features "
                "as input (the number it was fitted on)."
            )
        return X64, dtype

    def _checked_inits(
        self, d: int
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """Validated ``weights_init``, ``means_init`` and full covariances from ``precisions_init``.

        The messages are scikit-learn's (its tests match them).
        """
        k, covariance_type = self.n_components, self.covariance_type
        weights = means = covariances = None
        if self.weights_init is not None:
            given = np.asarray(self.weights_init)
            weights = _finite_float(given, "weights")
            if weights.shape != (k,):
                raise ValueError(
                    f"The parameter 'weights' should have the shape of {(k,)}, but got "
                    f"{weights.shape}"
                )
            lo, hi = float(weights.min()), float(weights.max())
            if lo < 0.0 or hi > 1.0:
                # scikit-learn's sentence names the two numbers the other way round;
                # it is kept for its tests, and followed by what they are.
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got "
                    f"max value {lo:.5f}, min value {hi:.5f} (the smallest weight is "
                    f"{lo:.5f} and the largest {hi:.5f})."
                )
            atol = 1e-6 if given.dtype == np.float32 else 1e-8
            if abs(1.0 - weights.sum()) > atol:
                raise ValueError(
                    "The parameter 'weights' should be normalized, but got sum(weights) = "
                    f"{weights.sum():.5f}"
                )
        if self.means_init is not None:
            means = _finite_float(np.asarray(self.means_init), "means")
            if means.shape != (k, d):
                raise ValueError(
                    f"The parameter 'means' should have the shape of {(k, d)}, but got "
                    f"{means.shape}"
                )
        if self.precisions_init is not None:
            name = f"{covariance_type} precision"
            prec = _finite_float(np.asarray(self.precisions_init), name)
            shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[
                covariance_type
            ]
            if prec.shape != shape:
                raise ValueError(
                    f"The parameter '{name}' should have the shape of {shape}, but got "
                    f"{prec.shape}"
                )
            if covariance_type in ("full", "tied"):
                mats = prec if covariance_type == "full" else prec[None]
                symmetric = np.allclose(mats, np.swapaxes(mats, 1, 2), rtol=1e-5, atol=1e-8)
                if not symmetric or np.any(np.linalg.eigvalsh(mats)[:, 0] <= 0):
                    raise ValueError(f"'{name}' should be symmetric, positive-definite")
            elif np.any(prec <= 0):
                raise ValueError(f"'{name}' should be positive")
            covariances = _covariances_from_precisions(prec, covariance_type, k, d)
        return weights, means, covariances

    # ------------------------------------------------------------------ starts

    def _start(
        self,
        X: np.ndarray,
        centre: np.ndarray,
        rng: np.random.Generator,
        inits: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
    ) -> GMMParams:
        """Starting parameters: ``init_params``, overridden by whichever ``*_init`` are given."""
        weights, means, covariances = inits
        k, covariance_type, reg_covar = self.n_components, self.covariance_type, self.reg_covar
        if weights is None or means is None or covariances is None:
            n = X.shape[0]
            method = self.init_params
            if method == "kmeans":
                seeds = X[_kmeans_plus_plus_indices(X, k, rng)]
                labels = _kmeans_labels(X, seeds)
                eye = np.eye(k)
                start = _m_step_from_rows(
                    X, centre, lambda a, b: eye[labels[a:b]], k, covariance_type, reg_covar
                )
            elif method == "random":
                resp = rng.random((n, k))
                resp /= resp.sum(axis=1, keepdims=True)
                start = _m_step_from_rows(
                    X, centre, lambda a, b: resp[a:b], k, covariance_type, reg_covar
                )
            else:
                if method == "k-means++":
                    chosen = _kmeans_plus_plus_indices(X, k, rng)
                else:  # random_from_data
                    chosen = rng.choice(n, size=k, replace=False)
                # scikit-learn's start: the M-step of one point per component, i.e.
                # means at the seeds and covariances reg_covar * I (a single point has
                # no spread), so the first E-step assigns points to the nearest seed.
                # Its weights are 1/N each (not summing to 1); 1/K changes only the
                # first lower bound, by log(K / N) for every start alike.
                d = X.shape[1]
                start = GMMParams(
                    np.full(k, 1.0 / k),
                    X[chosen],
                    np.broadcast_to(reg_covar * np.eye(d), (k, d, d)),
                )
            weights = start.weights if weights is None else weights
            means = start.means if means is None else means
            covariances = start.covariances if covariances is None else covariances
        return GMMParams(weights, means, covariances)

    # ------------------------------------------------------------------ EM

    def _run(
        self,
        X: np.ndarray,
        params: GMMParams,
        lower_bound: float,
        centre: np.ndarray,
        extent: float,
        blocks: _Blocks | None,
    ) -> _Run:
        """scikit-learn's EM loop from ``params``; one fused pass per iteration."""
        n = X.shape[0]
        run = _Run([params], [], [], lower_bound, False, lower_bound)
        self._iter_time = time.perf_counter()
        for n_iter in range(1, self.max_iter + 1):
            previous = run.lower_bound
            try:
                ll, new, collapse = _em_pass(
                    X, params, centre, extent, self.covariance_type, self.reg_covar,
                    m_step=True, check_collapse=False, blocks=blocks,
                )
            except ComponentCollapseError as err:
                _raise_ill_defined(err)
            if new is None:  # pragma: no cover - check_collapse=False never refuses
                _raise_ill_defined(ComponentCollapseError(collapse))
            params = new
            run.params.append(params)
            run.log_likelihoods.append(ll)
            run.lower_bound = ll / n
            run.lower_bounds.append(run.lower_bound)
            change = run.lower_bound - previous
            self._say_iteration(n_iter, change)
            if abs(change) < self.tol:
                run.converged = True
                break
        return run

    def _fit(self, X: Any, want_labels: bool) -> np.ndarray | None:
        self._validate_params()
        X64, dtype = self._check_X(X, fitting=True)
        n, d = X64.shape
        inits = self._checked_inits(d)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = int(self.n_init) if do_init else 1
        if not do_init and self.params_.means.shape != (self.n_components, d):
            raise ValueError(
                "warm_start continues from the previous fit, which has "
                f"{self.params_.n_components} components in {self.params_.n_features} "
                "dimensions; set warm_start=False to start afresh."
            )
        centre, extent = _centre_and_extent(X64)
        needs_random = do_init and any(v is None for v in inits)
        rng = _as_generator(self.random_state) if needs_random else None
        # The data's chunks and features, shared by every iteration of every start.
        blocks = _blocks(X64, centre, self.n_components) if self.max_iter > 1 else None

        best: _Run | None = None
        try:
            for init in range(n_init):
                self._say_start(init, n_init)
                if do_init:
                    params0 = self._start(X64, centre, rng, inits)  # type: ignore[arg-type]
                    lower_bound = -np.inf
                else:
                    params0, lower_bound = self.params_, self.lower_bound_
                run = self._run(X64, params0, lower_bound, centre, extent, blocks)
                if self.max_iter == 0:
                    best = run  # scikit-learn keeps the last start's parameters
                    best.lower_bound = -np.inf
                    continue
                self._say_end(run)
                if best is None or run.lower_bound > best.lower_bound:
                    best = run
        finally:
            if blocks is not None:
                blocks.release()  # its memory serves the next fit (gmm_core._memory)
        assert best is not None

        if not best.converged and self.max_iter > 0:
            before = best.lower_bounds[-2] if best.n_iter > 1 else best.start_bound
            gain = best.lower_bounds[-1] - before
            if np.isfinite(gain):
                detail = (
                    f"The kept start stopped at max_iter={self.max_iter} with the lower bound "
                    f"still changing by {gain:.3g} per iteration (tol={self.tol:g})."
                )
            else:
                detail = (
                    f"max_iter={self.max_iter} is too few iterations to measure convergence."
                )
            warnings.warn(f"{_NOT_CONVERGED} {detail}", ConvergenceWarning, stacklevel=3)

        # The final E-step: the labels of fit_predict and the log-likelihood of the
        # kept parameters (for history_); it also proves they can be evaluated.
        final = best.params[-1]
        try:
            if want_labels:
                wlp = _weighted_log_prob(X64, final)
                labels = np.argmax(wlp, axis=1)
                final_ll = float(logsumexp(wlp, axis=1).sum())
                if not np.isfinite(final_ll):
                    raise ValueError(f"{_ILL_DEFINED} (the log-likelihood is not finite)")
            else:
                labels = None
                final_ll = _em_pass(
                    X64, final, centre, extent, self.covariance_type, self.reg_covar,
                    m_step=False,
                )[0]
        except ComponentCollapseError as err:
            _raise_ill_defined(err)

        self._set_fitted(best, final_ll, dtype, n)
        self._warn_if_degenerate(X64, extent)
        return labels

    def _warn_if_degenerate(self, X: np.ndarray, extent: float) -> None:
        """DegenerateFitWarning naming an empty or collapsed component of the fit.

        gmm_core's collapse verdicts (N_k ~ 0; smallest variance <= 1e-12 of the
        data's along the features), applied to the result instead of refusing it.
        """
        params = self.params_
        nk = params.weights * X.shape[0] + 10 * np.finfo(np.float64).eps
        # No feature varies by more than extent^2, so a component whose smallest
        # variance exceeds 1e-12 * extent^2 cannot be vanishing: then the data's
        # variance (a pass over X) is not needed.
        if np.all(nk > 1e-9) and np.all(
            np.linalg.eigvalsh(params.covariances)[:, 0] > 1e-11 * extent**2
        ):
            return
        try:
            _check_m_step_result(nk, params.covariances, X.var(axis=0))
        except ComponentCollapseError as err:
            warnings.warn(
                f"The fitted mixture is degenerate. {err.collapse.message}",
                DegenerateFitWarning,
                stacklevel=4,
            )

    def _set_fitted(self, run: _Run, final_ll: float, dtype: np.dtype, n: int) -> None:
        params = run.params[-1]
        covariances, precisions_cholesky, precisions = _sklearn_layout(
            params, self.covariance_type
        )
        self.params_ = params
        self.weights_ = params.weights.astype(dtype)
        self.means_ = params.means.astype(dtype)
        self.covariances_ = covariances.astype(dtype)
        self.precisions_cholesky_ = precisions_cholesky.astype(dtype)
        self.precisions_ = precisions.astype(dtype)
        self.converged_ = bool(run.converged)
        self.n_iter_ = run.n_iter
        self.lower_bound_ = float(run.lower_bound)
        self.lower_bounds_ = [float(v) for v in run.lower_bounds]
        lls = [*run.log_likelihoods, final_ll]
        steps = [HalfStep("init", 0, run.params[0], lls[0])]
        for it in range(1, run.n_iter + 1):
            steps.append(HalfStep("E", it, run.params[it - 1], lls[it - 1]))
            steps.append(HalfStep("M", it, run.params[it], lls[it]))
        self.history_ = EMHistory(
            steps=tuple(steps),
            converged=self.converged_,
            stop_reason="converged" if self.converged_ else "max_iter",
            collapse=None,
            n_iter=run.n_iter,
            n_samples=n,
            tol=float(self.tol),
            covariance_type=self.covariance_type,
            reg_covar=float(self.reg_covar),
            # scikit-learn's rule (on the lower bounds; run_em's "loglik_change" is its
            # variant); the gains say whether the run was still climbing.
            rule="loglik_change",
            last_gain=lls[-1] - lls[-2] if len(lls) >= 2 else float("nan"),
            expected_gain=aitken_expected_gain(*lls[-3:]) if len(lls) >= 3 else float("nan"),
        )

    def fit(self, X: Any, y: object = None) -> GaussianMixture:
        """Fit the mixture to ``X`` (array_like, shape (N, D)) by EM; returns ``self``.

        ``y`` is ignored (present for scikit-learn's API).

        Raises
        ------
        ValueError
            For bad data or settings, or when a covariance is not positive
            definite (raise ``reg_covar``, use fewer components or scale the data).
        """
        self._fit(X, want_labels=False)
        return self

    def fit_predict(self, X: Any, y: object = None) -> np.ndarray:
        """Fit, then return the labels of ``X`` from the final E-step, shape (N,)."""
        labels = self._fit(X, want_labels=True)
        assert labels is not None
        return labels

    # ------------------------------------------------------------------ verbose

    def _say_start(self, init: int, n_init: int) -> None:
        if self.verbose:
            print(f"EM start {init + 1} of {n_init}")
            self._start_time = time.perf_counter()

    def _say_iteration(self, n_iter: int, change: float) -> None:
        if not self.verbose or n_iter % self.verbose_interval:
            return
        if self.verbose >= 2:
            now = time.perf_counter()
            print(
                f"  iteration {n_iter}: lower bound changed by {change:.5f} "
                f"({now - self._iter_time:.5f} s)"
            )
            self._iter_time = now
        else:
            print(f"  iteration {n_iter}")

    def _say_end(self, run: _Run) -> None:
        if not self.verbose:
            return
        verdict = "converged" if run.converged else "stopped at max_iter without converging"
        if self.verbose >= 2:
            took = time.perf_counter() - self._start_time
            print(f"  {verdict} after {took:.5f} s; lower bound {run.lower_bound:.5f}")
        else:
            print(f"  {verdict}")

    # ------------------------------------------------------------------ fitted model

    def _fitted(self) -> GMMParams:
        if not hasattr(self, "params_"):
            raise NotFittedError(_NOT_FITTED.format(name=type(self).__name__))
        return self.params_

    def _result_dtype(self, dtype: np.dtype) -> np.dtype:
        return np.promote_types(dtype, self.means_.dtype)

    def predict(self, X: Any) -> np.ndarray:
        """Most responsible component of each point of ``X`` (N, D); shape (N,)."""
        params = self._fitted()
        X64, _ = self._check_X(X, fitting=False)
        return predict(X64, params)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities of each component for each point, shape (N, K)."""
        params = self._fitted()
        X64, dtype = self._check_X(X, fitting=False)
        return predict_proba(X64, params).astype(self._result_dtype(dtype), copy=False)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log density of the mixture at each point, shape (N,)."""
        params = self._fitted()
        X64, dtype = self._check_X(X, fitting=False)
        return score_samples(X64, params).astype(self._result_dtype(dtype), copy=False)

    def score(self, X: Any, y: object = None) -> float:
        """Mean log-likelihood per point of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` points: ``(X (n, D) float64, labels (n,))``, grouped by component.

        Uses a Generator from ``random_state`` (so an int gives the same draw each call).
        """
        params = self._fitted()
        if not _is_int(n_samples) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}; sample draws at least one point."
            )
        return sample(params, int(n_samples), _as_generator(self.random_state))

    def _n_parameters(self) -> int:
        """Number of free parameters of the fitted model."""
        params = self._fitted()
        return n_parameters(params.n_components, params.n_features, self.covariance_type)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        n = np.shape(X)[0]
        return -2.0 * self.score(X) * n + 2.0 * self._n_parameters()


def _finite_float(values: np.ndarray, name: str) -> np.ndarray:
    """``values`` as float64, refusing NaN and infinity with a message naming ``name``."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The parameter '{name}' must be numbers; got {values!r}.") from None
    if not np.all(np.isfinite(out)):
        raise ValueError(f"The parameter '{name}' contains NaN or infinite values.")
    return out
