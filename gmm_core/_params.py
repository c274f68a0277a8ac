"""The parameters of a Gaussian mixture, and the covariance types.

Covariances are always stored as full ``(K, D, D)`` matrices, whatever the
covariance type the model was fitted with: a ``"diag"`` model simply has
diagonal matrices, a ``"tied"`` model ``K`` identical ones. Code that draws or
evaluates a mixture therefore never branches on the type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

CovarianceType = Literal["full", "tied", "diag", "spherical"]
COVARIANCE_TYPES: tuple[str, ...] = get_args(CovarianceType)


def check_covariance_type(covariance_type: str) -> CovarianceType:
    """Return ``covariance_type`` if it is known, else raise a ValueError naming the choices."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}; "
            f"got {covariance_type!r}."
        )
    return covariance_type  # type: ignore[return-value]


def _frozen(array: Any, name: str, ndim: int) -> np.ndarray:
    out = np.array(array, dtype=np.float64, copy=True)
    if out.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {out.shape}.")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class GMMParams:
    """Immutable parameters of a K-component Gaussian mixture in D dimensions.

    Parameters
    ----------
    weights : array_like, shape (K,)
        Mixing proportions :math:`\\pi_k`, non-negative and summing to 1.
    means : array_like, shape (K, D)
        Component means :math:`\\mu_k`.
    covariances : array_like, shape (K, D, D)
        Component covariance matrices :math:`\\Sigma_k`, always full matrices
        (a diagonal, spherical or tied model stores its matrices in full).

    Notes
    -----
    The arrays are copied and made read-only, so a ``GMMParams`` can be kept in
    a history and shared without defensive copies. Positive definiteness is not
    checked here: it is the E-step that needs it, and it reports a failing
    component by name (:class:`gmm_core.ComponentCollapseError`).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        weights = _frozen(self.weights, "weights", 1)
        means = _frozen(self.means, "means", 2)
        covariances = _frozen(self.covariances, "covariances", 3)
        k, d = means.shape
        if k < 1 or d < 1:
            raise ValueError(f"means must have shape (K, D) with K, D >= 1; got {means.shape}.")
        if weights.shape != (k,):
            raise ValueError(f"weights must have shape ({k},); got {weights.shape}.")
        if covariances.shape != (k, d, d):
            raise ValueError(
                f"covariances must have shape ({k}, {d}, {d}); got {covariances.shape}."
            )
        if np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-6:
            raise ValueError(
                f"weights must be non-negative and sum to 1; got sum {weights.sum():.6g}."
            )
        # Renormalise away the rounding the tolerance above allows, so that the
        # weights are exactly a probability vector (sampling needs it).
        weights = weights / weights.sum()
        weights.setflags(write=False)
        if not np.allclose(covariances, np.swapaxes(covariances, 1, 2), rtol=1e-10, atol=0):
            raise ValueError("covariances must be symmetric matrices.")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "covariances", covariances)

    @classmethod
    def _trusted(
        cls, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray
    ) -> GMMParams:
        """Wrap arrays that gmm_core's M-step has just computed, without copies or checks.

        They are fresh float64 arrays of the right shapes, the weights a probability
        vector and the covariances symmetric by construction; the checks and copies of
        ``__init__`` would cost as much as an EM iteration's arithmetic on small data.
        Only finiteness is checked (``__init__``'s message if it fails). The arrays
        are made read-only.
        """
        if not (np.isfinite(means).all() and np.isfinite(covariances).all()):
            return cls(weights, means, covariances)  # raises the usual ValueError
        obj = object.__new__(cls)
        for name, value in (("weights", weights), ("means", means), ("covariances", covariances)):
            value.setflags(write=False)
            object.__setattr__(obj, name, value)
        return obj

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(self.means.shape[0])

    @property
    def n_features(self) -> int:
        """Dimension D of the data."""
        return int(self.means.shape[1])

    def permuted(self, order: np.ndarray | list[int]) -> GMMParams:
        """Return the same mixture with its components listed in ``order`` (shape (K,))."""
        order = np.asarray(order)
        return GMMParams(self.weights[order], self.means[order], self.covariances[order])

    def allclose(self, other: GMMParams, *, rtol: float = 1e-10, atol: float = 0.0) -> bool:
        """True if ``other`` has the same shapes and element-wise close arrays."""
        return (
            self.means.shape == other.means.shape
            and np.allclose(self.weights, other.weights, rtol=rtol, atol=atol)
            and np.allclose(self.means, other.means, rtol=rtol, atol=atol)
            and np.allclose(self.covariances, other.covariances, rtol=rtol, atol=atol)
        )

    def to_dict(self) -> dict[str, list]:
        """Plain, JSON-serialisable lists: ``{"weights", "means", "covariances"}``."""
        return {
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GMMParams:
        """Inverse of :meth:`to_dict`."""
        return cls(
            weights=np.asarray(data["weights"], dtype=float),
            means=np.asarray(data["means"], dtype=float),
            covariances=np.asarray(data["covariances"], dtype=float),
        )
