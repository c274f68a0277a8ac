"""The mathematics of EM for Gaussian mixtures: densities, E-step, M-step, runs.

Read :mod:`gmm_core.textbook` first: it computes the same E-step, M-step and
EM loop exactly as the formulas read, in a few lines of plain numpy, and the
tests check every function here against it. This module computes the same
numbers fast, in one pass over the data per iteration, and decides when EM has
converged (see "When to stop" below :class:`EMHistory`).

Notation (used in every docstring): ``N`` points :math:`x_n \\in \\mathbb{R}^D`,
``K`` components with weights :math:`\\pi_k`, means :math:`\\mu_k` and
covariances :math:`\\Sigma_k`; responsibilities :math:`\\gamma_{nk}`.

How the numbers are computed, and why
-------------------------------------
* **Log-space.** Densities of points far from every component underflow to 0
  in floating point, which would make responsibilities 0/0. Everything is kept
  as logarithms and normalised with :func:`scipy.special.logsumexp`.
* **Quadratic features.** For a point :math:`x` the weighted log density
  :math:`\\log \\pi_k + \\log \\mathcal{N}(x \\mid \\mu_k, \\Sigma_k)` is a quadratic
  polynomial in :math:`x`, so for all points and components at once it is one
  matrix product :math:`\\Phi W` with the features
  :math:`\\Phi(x) = (1, x_1, \\dots, x_D, x_1^2, x_1 x_2, \\dots, x_D^2)`
  (shape ``(N, F)``, ``F = 1 + D + D(D+1)/2``) and a coefficient matrix ``W``
  of shape ``(F, K)`` built from the Cholesky factors of the covariances. The
  M-step's sufficient statistics are the product the other way round,
  :math:`\\gamma^\\top \\Phi` (shape ``(K, F)``): counts :math:`N_k`, first and
  second moments in one BLAS call.
* **Centring.** Expanding the quadratic and the one-pass moment formula
  :math:`\\Sigma = E[xx^\\top] - \\mu\\mu^\\top` both lose digits when the data sit
  far from the origin (1e8 away, a float64 keeps only 8 of its 16 digits for
  the spread). The data are therefore centred on their mean before the
  features are formed; means are moved back at the end.
* **Whitening narrow components.** Centring cannot help a component that is
  tiny compared with the extent of the data (a thin cluster far from the
  centre, or one collapsing onto a point): the expanded form errs by about
  ``eps * (extent / width)**2`` and its one-pass moments cancel. Such a
  component is evaluated in its own whitened coordinates
  :math:`y = L_k^{-1}(x - \\mu_k)` (one affine map of the features' first
  rows; error ``eps * extent / width``) and its moments are summed in them,
  where they do not cancel (see :class:`_LogDensity`). If a component shrinks
  so much within one step that even those lose digits, its scatter is
  recomputed in a second pass with the two-pass formula. The tests are the
  expected rounding errors.
* **Chunks.** Points are processed in chunks of a few thousand rows, so the
  ``(N, K)`` intermediate arrays of a fused EM iteration never exist in full:
  memory stays flat in ``N`` and the working set stays in cache.
* **Memory reused between runs.** A run's large buffers (the data's features,
  a pass's scratch) come from a small pool and go back to it when the run
  ends: fresh memory costs a page fault per 4 KiB on first touch, more than
  the arithmetic done in it (see :mod:`gmm_core._memory`).
* **Skipping negligible components.** In a large run the points are put
  once in a spatial order (a Morton key), so that each cell of 512
  consecutive points is a compact piece of the data with a bounding
  ellipsoid. Each pass bounds every component's log density over each cell
  (triangle inequality in the component's Mahalanobis metric) and skips,
  cell by cell, the components that are provably 60 nats below the best one
  at every point (responsibility < 1e-26) and whose skipped mass is below a
  tenth of a rounding unit of their N_k; a pass whose N_k came out smaller
  than predicted is redone in full. Only sums are returned, so the order of
  the points changes nothing but rounding (see :func:`_negligible`).
* **reg_covar** is added to the diagonal of every covariance after the
  M-step, as in scikit-learn: it keeps a component that sits on a single point
  or on a line positive definite. With ``reg_covar=0`` such a component
  *collapses*, and this is reported as a :class:`Collapse` naming the
  component, not as a ``LinAlgError`` or a NaN.
* **The epsilon on N_k.** :math:`N_k` gets ``10 * eps`` added before it
  divides (as in scikit-learn), so a component with no points yields finite
  numbers that can be reported instead of a division by zero.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, TypeVar

import numpy as np
from scipy.special import logsumexp

from gmm_core import _memory
from gmm_core._params import CovarianceType, GMMParams, check_covariance_type

_EPS = np.finfo(np.float64).eps
_LOG_2PI = np.log(2.0 * np.pi)
# Point-component values per chunk (512 KiB of float64): measured fastest of 2^14..2^17
# on a 2-core machine (100k x 5 and 1M x 10): smaller chunks pay more per-call overhead
# of numpy, larger ones fall out of cache.
_CHUNK_ELEMENTS = 65_536
# From this many point-component pairs on, the fused EM pass evaluates its
# exponentials in float32 (see _normalise): below it the cost does not matter,
# and small runs keep full float64 agreement with other implementations.
_SINGLE_EXP_MIN_ELEMENTS = 1 << 18
# From this many point-component pairs on, a pass splits its chunks across threads
# (_THREADS). Measured on a 2-core machine, threads interleaved with one thread in one
# process (10-iteration runs): 0.5M pairs 118 vs 98 ms (slower: numpy's calls on
# chunk-sized arrays contend for the GIL and the shared cache), 1.5M and 5M even, 10M
# 979 vs 1112 ms.
_THREAD_MIN_ELEMENTS = 1 << 23
# Largest tolerated rounding error of the expanded quadratic form and of the
# one-pass moments, relative to one unit of Mahalanobis distance or variance.
_CANCELLATION_LIMIT = 1e-9
# Skipping negligible components (see _negligible). From this many point-component
# pairs on, a run's chunks are ordered in space once (_spatial_order) and each pass
# skips, chunk by chunk, the components whose responsibilities there are provably
# negligible. Below it a pass is cheap and ordering would cost more than it saves.
_SKIP_MIN_ELEMENTS = 1 << 18
# A component is skipped in a chunk only when its log density is below the largest
# one of every point by at least this many nats: its responsibility is then below
# e^-60 ~ 1e-26 for each point, so each point's log-likelihood
# top + log(1 + sum of the rest) changes by less than K * 1e-26, far below the
# rounding of any float64 log-likelihood (and below float32's e^-87 floor only by
# 27 nats less than the float32 exponentials already drop).
_SKIP_MARGIN = 60.0
# ... and only when the skipped responsibilities, summed over all skipped chunks and
# weighted by how far the points lie (their largest squared Mahalanobis distance or
# squared distance from the centre), stay below this fraction of the component's
# N_k: a tenth of one float64 rounding unit of its sums. (A component whose N_k is
# itself tiny is then never skipped.)
_SKIP_MASS = _EPS / 10
# Points per cell whose bounds decide what to skip: small cells hug the clusters
# tightly; consecutive cells that skip the same components are evaluated together.
_SKIP_CELL = 512
# What numpy's overhead for one more piece of a pass costs, in point-row values
# evaluated (~15 calls of a few microseconds each, against ~7 ns a value).
_PIECE_OVERHEAD = 8192
# Bits of the space-filling key that orders the points (16: numpy's radix sort).
_ORDER_BITS = 16
# Counters of the skipping, read by tests: (chunk, component) pairs evaluated and
# skipped, and passes redone without skipping because a component's N_k shrank.
_SKIP_COUNTS = {"pairs": 0, "skipped": 0, "redone": 0}
# A component whose N_k falls below this many points has lost all its points.
_EMPTY_N_K = 1e-10
# Squares of values beyond this overflow float64 (1e308) in the second moments.
_MAX_ABS_VALUE = 1e150
# A component whose smallest variance, measured in units of the data's own
# variance along each feature, is below this has shrunk onto a point or a line:
# its density there is ~1e6 times the data's scale and the likelihood is running
# to infinity. (With the default reg_covar and data of unit scale, variances
# never get below 1e-6.)
_COLLAPSED_VARIANCE = 1e-12

Phase = Literal["init", "E", "M"]
StopReason = Literal["converged", "max_iter", "collapse", "stopped"]
ConvergenceRule = Literal["aitken", "loglik_change"]
CONVERGENCE_RULES: tuple[str, ...] = ("aitken", "loglik_change")
CollapseReason = Literal["singular_covariance", "empty_component", "non_finite"]
_T = TypeVar("_T")
_U = TypeVar("_U")


# ---------------------------------------------------------------------------
# Collapse: a typed report of a component that cannot go on
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Collapse:
    """Why EM cannot continue, and which component is to blame.

    Attributes
    ----------
    component : int
        Index ``k`` (0-based) of the component that collapsed.
    reason : {"singular_covariance", "empty_component", "non_finite"}
        ``"singular_covariance"``: :math:`\\Sigma_k` is no longer positive
        definite (the component shrank onto a point or a line);
        ``"empty_component"``: :math:`N_k \\approx 0`, no point belongs to it;
        ``"non_finite"``: a density or parameter became infinite.
    detail : str
        The numbers behind the verdict, as a clause (e.g. "its smallest variance
        is 2e-32 times the data's"); the message says it as a sentence.
    """

    component: int
    reason: CollapseReason
    detail: str = ""

    @property
    def message(self) -> str:
        """A sentence saying what happened to which component, why, and what fixes it."""
        k = self.component + 1
        what = {
            "singular_covariance": (
                f"Component {k} collapsed: it shrank onto a single point (or a line), so a "
                "variance fell to almost zero and its covariance became singular; there the "
                "likelihood grows without bound."
            ),
            "empty_component": (
                f"Component {k} is empty: no point has any responsibility left for it, so "
                "its mean and covariance are undefined."
            ),
            "non_finite": (
                f"Component {k} made the likelihood infinite or undefined (a variance "
                "reached zero)."
            ),
        }[self.reason]
        fix = (
            " To fix it: raise reg_covar (e.g. to 1e-6 of the data's variance), restart "
            "from another initialisation or seed, use fewer components, or scale the data."
        )
        said = f" In numbers: {self.detail}." if self.detail else ""
        return what + said + fix


class ComponentCollapseError(ValueError):
    """A component collapsed; ``.collapse`` says which one and why."""

    def __init__(self, collapse: Collapse) -> None:
        super().__init__(collapse.message)
        self.collapse = collapse


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def check_data(X: np.ndarray, n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a float64 array of shape (N, D), or raise a ValueError saying what to fix."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (N, D); got shape {X.shape}. "
            "For 1-D data use X.reshape(-1, 1)."
        )
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must hold at least one point and one feature; got shape {X.shape}.")
    # Two reductions and no temporary array (a fresh N x D array costs page faults):
    # NaN propagates through min and max, so both are finite exactly when all of X is.
    lo, hi = float(X.min()), float(X.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int(np.count_nonzero(~np.isfinite(X).all(axis=1)))
        raise ValueError(
            f"X contains NaN or infinite values in {bad} row(s); drop or impute them first."
        )
    if max(-lo, hi) > _MAX_ABS_VALUE:
        raise ValueError(
            f"X has values as large as {max(-lo, hi):.3g}; their squares overflow. "
            "Standardise or rescale the data first."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} feature(s) but the mixture has {n_features}."
        )
    return X


# ---------------------------------------------------------------------------
# Gaussian log densities
# ---------------------------------------------------------------------------


def _cholesky(covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors and log-determinants, reporting a non-PD component by index.

    Parameters
    ----------
    covariances : ndarray, shape (K, D, D)

    Returns
    -------
    chol : ndarray, shape (K, D, D)
        Lower-triangular :math:`L_k` with :math:`\\Sigma_k = L_k L_k^\\top`.
    log_det : ndarray, shape (K,)
        :math:`\\log |\\Sigma_k| = 2 \\sum_i \\log (L_k)_{ii}`.
    """
    try:
        chol = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        for k, cov in enumerate(covariances):
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                smallest = float(np.linalg.eigvalsh(cov)[0])
                raise ComponentCollapseError(
                    Collapse(k, "singular_covariance", f"its smallest variance is {smallest:.2g}")
                ) from None
        raise  # pragma: no cover - the loop above always finds the culprit
    diag = np.diagonal(chol, axis1=1, axis2=2)
    with np.errstate(divide="ignore"):
        log_det = 2.0 * np.log(diag).sum(axis=1)
    bad = ~np.isfinite(log_det) | ~np.isfinite(chol).all(axis=(1, 2))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ComponentCollapseError(
            Collapse(k, "singular_covariance", "a variance fell to exactly zero")
        )
    return chol, log_det


# The factors of the covariances an M-step has just checked, for the next pass that
# evaluates them (one per thread: a run stays in its thread). Held with the array they
# factor and a private copy of its numbers: the array is read-only, but numpy lets its
# owner turn writing back on, so identity alone would not prove the same numbers (a
# comparison of K * D * D values costs far less than the factorisation).
_LAST_FACTOR = threading.local()


def _factor(covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_cholesky` of ``covariances``, reusing the M-step's if it factored these."""
    last = getattr(_LAST_FACTOR, "value", None)
    if last is not None and last[0] is covariances and np.array_equal(last[1], covariances):
        return last[2], last[3]
    return _cholesky(covariances)


@lru_cache(maxsize=16)
def _triu(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle of a D x D matrix (cached)."""
    return np.triu_indices(d)


def _features(XcT: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Quadratic features of centred points, one point per column.

    Parameters
    ----------
    XcT : ndarray, shape (D, c)
        Centred points as columns (the transposed layout keeps every
        per-component row below contiguous, so reductions over K are fast).
    out : ndarray, shape (F, c), optional
        Where to write them.

    Returns
    -------
    phi : ndarray, shape (F, c), F = 1 + D + D(D+1)/2
        Rows ``1``, ``x_i`` (i < D), ``x_i x_j`` (i <= j, row-major upper triangle).
        Rows ``0..D`` are ``(1, x)``, the input of an affine map of x.
    """
    d, c = XcT.shape
    phi = np.empty((1 + d + d * (d + 1) // 2, c)) if out is None else out
    phi[0] = 1.0
    phi[1 : d + 1] = XcT
    iu, ju = _triu(d)
    np.multiply(XcT[iu], XcT[ju], out=phi[d + 1 :])
    return phi


@dataclass(frozen=True)
class _LogDensity:
    """Everything needed to evaluate :math:`\\log \\pi_k \\mathcal{N}(x \\mid \\mu_k, \\Sigma_k)`.

    Built once per set of parameters; evaluated chunk by chunk, in one of two
    ways per component:

    * **expanded**: one product ``coef @ phi`` gives every component's
      quadratic polynomial at once. Its rounding error is about
      ``eps * |Sigma_k^-1| * reach**2`` (``reach``: how far points and mean lie
      from the centre), too large for a component much narrower than the data.
    * **whitened**, for such *narrow* components:
      :math:`y = L_k^{-1}(x - \\mu_k) = L_k^{-1} x - L_k^{-1} \\mu_k` is an affine
      map of the rows ``(1, x)`` of ``phi`` (one stacked product for all narrow
      components), and the log density is ``const_k - |y|^2 / 2``. Rounding
      ``x`` and ``mu`` at the data's scale errs by ``eps * reach / width`` in
      ``y`` -- the square root of the expanded form's relative error, and the
      same as forming ``x - mu`` first. The M-step then accumulates the
      moments of ``y`` (see :func:`_params_from_moments`), which do not cancel.

    Rows are evaluated in the order ``order``: the expanded components first,
    the narrow ones last, so that each kind fills one block of rows.

    Attributes
    ----------
    centre : ndarray, shape (D,)
        Point subtracted from the data before forming features.
    order : ndarray of int, shape (K,)
        The component of each row: ``order[:W]`` expanded, ``order[W:]`` narrow.
    coef : ndarray, shape (W, F)
        Coefficients with ``log pi_k N(x | k) = coef[r] @ features(x - centre)``
        for ``k = order[r]``.
    const : ndarray, shape (K,)
        :math:`\\log\\pi_k - \\tfrac12 (D \\log 2\\pi + \\log|\\Sigma_k|)`, by row.
    whiten : ndarray, shape (D * E, 1 + D)
        ``[-L_k^{-1} mu_k, L_k^{-1}]`` of the narrow components, coordinate by
        coordinate: ``(whiten @ phi[:1 + D]).reshape(D, E, c)[i, j]`` is
        coordinate ``i`` of ``y`` for the narrow component ``order[W + j]``.
    means_c : ndarray, shape (K, D)
        Means relative to ``centre`` (components in their own order).
    chol : ndarray, shape (K, D, D)
        :math:`L_k` (maps whitened moments back).
    chol_inv : ndarray, shape (K, D, D)
        :math:`L_k^{-1}` (bounds the log densities over a chunk, see :func:`_negligible`).
    """

    centre: np.ndarray
    order: np.ndarray
    coef: np.ndarray
    const: np.ndarray
    whiten: np.ndarray
    means_c: np.ndarray
    chol: np.ndarray
    chol_inv: np.ndarray | None = None

    @property
    def narrow(self) -> np.ndarray:
        """The narrow (whitened) components, shape (E,), in row order."""
        return self.order[self.coef.shape[0] :]

    def rows(self, rows: np.ndarray) -> _LogDensity:
        """The same evaluation restricted to the rows ``rows`` (ascending row indices).

        Rows keep their order (expanded ones first, narrow ones last), so the
        result evaluates ``order[rows]`` exactly as this one does.
        """
        w, d = self.coef.shape[0], self.means_c.shape[1]
        e = self.order.size - w
        narrow = rows[rows >= w] - w
        whiten = self.whiten.reshape(d, e, d + 1)[:, narrow].reshape(d * narrow.size, d + 1)
        return _LogDensity(
            self.centre, self.order[rows], self.coef[rows[rows < w]], self.const[rows],
            whiten, self.means_c, self.chol, self.chol_inv,
        )

    @classmethod
    def build(
        cls,
        params: GMMParams,
        centre: np.ndarray,
        extent: float,
        moments_of: tuple[int, int] | None = None,
    ) -> _LogDensity:
        """Prepare the evaluation of ``params`` on data centred at ``centre``.

        ``extent`` is the largest distance of a data point from ``centre``.
        ``moments_of = (N, step)``: the pass will also sum M-step moments over
        N points in chunks of ``step``; components whose one-pass moments would
        lose digits (see :func:`_cancelled`) are then narrow as well.
        """
        d = params.n_features
        chol, log_det = _factor(params.covariances)
        chol_inv = np.linalg.inv(chol)
        means_c = params.means - centre
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        const = log_w - 0.5 * (d * _LOG_2PI + log_det)

        # 1 / (smallest variance) = |P|_2 <= |L^-1|_F^2: a bound from the factor at hand
        # (an SVD or eigvalsh per iteration would cost more than the few components it
        # might spare from the whitened path).
        inv_var = np.einsum("kij,kij->k", chol_inv, chol_inv)
        reach = extent + np.sqrt((means_c * means_c).sum(axis=1))
        narrow = _EPS * inv_var * reach**2 > _CANCELLATION_LIMIT
        if moments_of is not None:
            # The test of _cancelled, on the current parameters, with a tenfold margin
            # for the covariance shrinking in this step.
            second = means_c * means_c + np.diagonal(params.covariances, axis1=1, axis2=2)
            narrow |= (
                _sum_rounding(*moments_of) * second.max(axis=1) * inv_var
                > _CANCELLATION_LIMIT / 10
            )
        wide, ks = np.flatnonzero(~narrow), np.flatnonzero(narrow)

        # Expanded: -1/2 (x - mu)^T P (x - mu) = -1/2 x^T P x + (P mu)^T x - 1/2 mu^T P mu
        inv_w = chol_inv[wide]
        precision = np.swapaxes(inv_w, 1, 2) @ inv_w  # Sigma_k^-1
        p_mu = (precision @ means_c[wide, :, None])[:, :, 0]
        iu, ju = _triu(d)
        coef = np.empty((wide.size, 1 + d + iu.size))
        coef[:, 0] = const[wide] - 0.5 * (means_c[wide] * p_mu).sum(axis=1)
        coef[:, 1 : d + 1] = p_mu
        coef[:, d + 1 :] = -0.5 * precision[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)

        # Whitened: y = [-L^-1 mu, L^-1] @ (1, x), rows ordered coordinate by coordinate.
        whiten = np.concatenate([-(chol_inv[ks] @ means_c[ks, :, None]), chol_inv[ks]], axis=2)
        whiten = np.swapaxes(whiten, 0, 1).reshape(d * ks.size, d + 1)
        order = np.concatenate([wide, ks])
        return cls(centre, order, coef, const[order], whiten, means_c, chol, chol_inv)

    def weighted_log_prob(
        self,
        phi: np.ndarray,
        out: np.ndarray | None = None,
        psi: np.ndarray | None = None,
    ) -> np.ndarray:
        """Weighted log densities of a chunk, rows in the order ``order``.

        Parameters
        ----------
        phi : ndarray, shape (F, c)
            Features of the centred points (:func:`_features`).
        out : ndarray, shape (K, c), optional
            Where to write the result (a reused buffer).
        psi : ndarray, shape (D + D(D+1)/2, E, c), optional
            If given, receives the whitened points ``y`` of the narrow components
            and their products ``y_i y_j``: the features of their M-step moments.

        Returns
        -------
        ndarray, shape (K, c)
            :math:`\\log \\pi_k + \\log \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)`
            for ``k = order[row]``.
        """
        k, w = self.order.size, self.coef.shape[0]
        d, c = self.means_c.shape[1], phi.shape[1]
        lp = np.empty((k, c)) if out is None else out
        np.matmul(self.coef, phi, out=lp[:w])
        e = k - w
        if e:
            maha = lp[w:]
            if psi is None:
                y = (self.whiten @ phi[: d + 1]).reshape(d, e, c)
                np.add.reduce(np.square(y, out=y), axis=0, out=maha)
            else:
                y = psi[:d]
                np.matmul(self.whiten, phi[: d + 1], out=y.reshape(d * e, c))
                for m, (i, j) in enumerate(zip(*_triu(d), strict=True)):
                    np.multiply(y[i], y[j], out=psi[d + m])
                squares = d + _diag_positions(d)  # the rows y_i^2
                np.copyto(maha, psi[squares[0]])
                for m in squares[1:]:
                    maha += psi[m]
            maha *= -0.5
            maha += self.const[w:, None]
        return lp


def _centre_and_extent(X: np.ndarray) -> tuple[np.ndarray, float]:
    """The data's mean (D,) and the largest distance of a point from it.

    Computed on a transposed copy (D, N): numpy reduces an (N, D) array with
    small D along its long axis ~20x slower than the rows of a (D, N) one.
    """
    lease = _memory.Lease()  # the copy's memory comes from (and returns to) the pool
    XT = lease.empty(X.shape[::-1])
    np.copyto(XT, X.T)
    centre = XT.mean(axis=1)
    XT -= centre[:, None]
    np.square(XT, out=XT)
    extent = float(np.sqrt(XT.sum(axis=0).max()))
    lease.release()
    return centre, extent


def _centred_chunk(X: np.ndarray, start: int, step: int, centre: np.ndarray) -> np.ndarray:
    """Rows ``start:start+step`` of X (N, D), centred, as a C-contiguous (D, c) array.

    Points along contiguous rows make every per-point array derived from them
    contiguous too, so reductions along the points run at full speed. (The
    transposed copy is made first and then centred row by row: broadcasting a
    subtraction over short (D,) rows is several times slower.)
    """
    XcT = X[start : start + step].T.copy()  # always a copy (C order): centred in place
    XcT -= centre[:, None]
    return XcT


def _chunk_step(n: int, k: int) -> int:
    return max(256, _CHUNK_ELEMENTS // max(k, 1))


def _weighted_log_prob(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """All weighted log densities, shape (N, K); used where the full matrix is wanted."""
    X = check_data(X, params.n_features)
    centre, extent = _centre_and_extent(X)
    dens = _LogDensity.build(params, centre, extent)
    n, k = X.shape[0], params.n_components
    out = np.empty((n, k))
    step = _chunk_step(n, k)
    for start in range(0, n, step):
        XcT = _centred_chunk(X, start, step, centre)
        out[start : start + step, dens.order] = dens.weighted_log_prob(_features(XcT)).T
    return out


def weighted_log_prob(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Weighted log density of every point under every component.

    .. math:: \\log \\pi_k + \\log \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)

    The numerators of the responsibilities, in log space (``-inf`` for a
    component of weight 0).

    Parameters
    ----------
    X : array_like, shape (N, D)
    params : GMMParams

    Returns
    -------
    ndarray, shape (N, K)
    """
    return _weighted_log_prob(X, params)


def _non_finite_collapse(wlp: np.ndarray) -> Collapse:
    """Name the component responsible for a non-finite log-likelihood."""
    bad = ~np.isfinite(wlp) & ~np.isneginf(wlp)
    k = int(np.argmax(bad.any(axis=0))) if bad.any() else int(np.argmax(np.nanmax(wlp, axis=0)))
    return Collapse(k, "non_finite", "the log-likelihood is not finite")


def _sum_log(norm: np.ndarray, n_components: int) -> float:
    """:math:`\\sum_n \\log s_n` for sums ``s_n`` in [1, K], with few logarithms.

    A logarithm costs ~5-20 ns in float64 (numpy has no SIMD version on most
    CPUs) against well under 1 ns for a product, so B values are multiplied
    first, B chosen so that the product, at most K**B, stays below 1e300 (and
    at most 32). The B factors of a product are taken B rows apart in a
    (B, c/B) view, so that the products are B-1 vectorised row multiplications.
    Each product has a relative rounding error below B * eps (< 1e-14), an
    absolute error of that size in its logarithm.

    Parameters
    ----------
    norm : ndarray, shape (c,)
        Values in [1, K] (the top term of each sum is exactly 1).
    n_components : int
        K.
    """
    block = max(1, min(32, int(300 / math.log10(max(n_components, 2)))))
    full = norm.size - norm.size % block
    total = float(np.log(np.multiply.reduce(norm[:full].reshape(block, -1), axis=0)).sum())
    if full < norm.size:
        total += float(np.log(np.prod(norm[full:])))
    return total


def _normalise(
    lp: np.ndarray,
    single: bool,
    scratch: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> float:
    """Turn weighted log densities into responsibilities; return their log-sum.

    The log-sum-exp over components is written out rather than calling
    :func:`scipy.special.logsumexp`, so that the exponentials are reused as the
    unnormalised responsibilities: one exponential per entry, not two.
    Subtracting each point's largest term keeps ``exp`` in range and makes
    that term exactly 1, so every sum lies in [1, K].

    ``single``: evaluate the exponentials in float32. numpy vectorises float32
    ``exp`` on AVX2 but float64 ``exp`` only on AVX-512, so this is 5-10x
    faster, and the exponentials are the cost of an EM iteration. The
    exponents are exact float64 differences; float32 rounds each exponential
    to a relative 2e-7 at most, with a bias of about -5e-9 (measured).
    Responsibilities then carry an error of that size (normalising removes
    the bias), their sums over N points a relative error ~1e-7 / sqrt(N); the
    log-likelihood of a point, ``top + log(1 + rest)``, an absolute error below
    2e-7 * rest / (1 + rest), whose sum over the points is dominated by the
    bias: ~1e-9 of the total, nearly the same from one iteration to the next,
    so that the changes the stopping rule reads stay accurate (to ~1e-5 at
    N = 1e5; tests/test_textbook.py). Used only for N * K >=
    ``_SINGLE_EXP_MIN_ELEMENTS``.

    Parameters
    ----------
    lp : ndarray, shape (K, c)
        :math:`\\log \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)`; overwritten
        (with :math:`\\gamma_{nk}` unless ``out`` is given).
    single : bool
    scratch : ndarray of float32, shape (K, c), optional
        A reused buffer for the single-precision exponentials.
    out : ndarray, shape (K, c), optional
        Where to write the responsibilities (default: ``lp``).

    Returns
    -------
    float
        The chunk's log-likelihood,
        :math:`\\sum_n \\log \\sum_k \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)`.
    """
    out = lp if out is None else out
    top = lp.max(axis=0)
    if single:
        e = np.empty(lp.shape, np.float32) if scratch is None else scratch
        np.subtract(lp, top, out=e, casting="same_kind")
        np.exp(e, out=e)
        norm = e.sum(axis=0, dtype=np.float64)
        np.divide(e, norm, out=out)  # float32 / float64 -> float64, in one pass
    else:
        np.subtract(lp, top, out=lp)
        np.exp(lp, out=lp)
        norm = lp.sum(axis=0)
        np.divide(lp, norm, out=out)
    return float(top.sum()) + _sum_log(norm, lp.shape[0])


def e_step(X: np.ndarray, params: GMMParams) -> tuple[np.ndarray, float]:
    """E-step: responsibilities of each component for each point.

    .. math::

        \\gamma_{nk} = \\frac{\\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)}
                            {\\sum_j \\pi_j \\mathcal{N}(x_n \\mid \\mu_j, \\Sigma_j)},
        \\qquad
        \\log L = \\sum_n \\log \\sum_k \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)

    computed in log-space (``log gamma = log pi N - logsumexp_k log pi N``).

    Parameters
    ----------
    X : array_like, shape (N, D)
    params : GMMParams
        K components in D dimensions.

    Returns
    -------
    resp : ndarray, shape (N, K)
        Responsibilities :math:`\\gamma_{nk}` in [0, 1]; each row sums to 1. In
        Fortran order (each component's column contiguous), as computed.
    log_likelihood : float
        Total log-likelihood :math:`\\log L` of ``X`` under ``params``.

    Raises
    ------
    ComponentCollapseError
        If a covariance is not positive definite or the likelihood is not finite.
    """
    X = check_data(X, params.n_features)
    centre, extent = _centre_and_extent(X)
    dens = _LogDensity.build(params, centre, extent)
    n, k = X.shape[0], params.n_components
    # Written component by component into (K, N) rows, each chunk straight from the
    # normalisation (no transposed copy), and returned as the transpose: an (N, K)
    # array in Fortran order, which numpy reads as any (N, K) array.
    resp_t = np.empty((k, n))
    total = 0.0
    step = _chunk_step(n, k)
    lp_buf = np.empty(k * min(step, n))  # reused: fresh arrays would cost page faults
    direct = bool(np.all(dens.order == np.arange(k)))  # rows already in component order
    for start in range(0, n, step):
        XcT = _centred_chunk(X, start, step, centre)
        c = XcT.shape[1]
        lp = dens.weighted_log_prob(_features(XcT), out=lp_buf[: k * c].reshape(k, c))
        # float64 exponentials: these responsibilities are returned to the caller.
        if direct:
            total += _normalise(lp, single=False, out=resp_t[:, start : start + c])
        else:
            total += _normalise(lp, single=False)
            resp_t[dens.order, start : start + c] = lp
    if not np.isfinite(total):
        raise ComponentCollapseError(_non_finite_collapse(_weighted_log_prob(X, params)))
    return resp_t.T, total


def score_samples(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Log density of the mixture at each point.

    .. math:: \\log p(x_n) = \\log \\sum_k \\pi_k \\mathcal{N}(x_n \\mid \\mu_k, \\Sigma_k)

    Parameters
    ----------
    X : array_like, shape (N, D)
    params : GMMParams

    Returns
    -------
    ndarray, shape (N,)
    """
    return logsumexp(_weighted_log_prob(X, params), axis=1)


def log_likelihood(X: np.ndarray, params: GMMParams) -> float:
    """Total log-likelihood :math:`\\sum_n \\log p(x_n)` of ``X`` (N, D) under ``params``."""
    return float(score_samples(X, params).sum())


def predict_proba(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Responsibilities :math:`\\gamma_{nk}`, shape (N, K); see :func:`e_step`."""
    return e_step(X, params)[0]


def predict(X: np.ndarray, params: GMMParams) -> np.ndarray:
    """Hard labels :math:`\\arg\\max_k \\gamma_{nk}`, shape (N,), for ``X`` of shape (N, D)."""
    return np.argmax(_weighted_log_prob(X, params), axis=1)


# ---------------------------------------------------------------------------
# M-step
# ---------------------------------------------------------------------------


@dataclass
class _Moments:
    """Sufficient statistics of a weighted data set, about ``centre``.

    ``stats[k] = sum_n gamma_nk * features(x_n - centre)``, shape (K, F):
    column 0 is :math:`N_k`, columns 1..D the first moments, the rest the
    upper triangle of the second moments. ``step``: they were summed in
    chunks of that many points (None: in one sum), which sets their rounding.
    """

    stats: np.ndarray
    centre: np.ndarray
    n_features: int
    step: int | None = None


@dataclass(frozen=True)
class _WhitenedMoments:
    """Moments of narrow components in their own whitened coordinates.

    For each narrow component k of the parameters evaluated,
    :math:`y = L_k^{-1}(x - \\mu_k)` (see :class:`_LogDensity`).

    Attributes
    ----------
    components : ndarray of int, shape (E,)
    means_c : ndarray, shape (E, D)
        Their means :math:`\\mu_k` (relative to the centre) ...
    chol : ndarray, shape (E, D, D)
        ... and Cholesky factors :math:`L_k`.
    sums : ndarray, shape (E, D + D(D+1)/2)
        :math:`\\sum_n \\gamma_{nk} y_n` and :math:`\\sum_n \\gamma_{nk} y_{ni} y_{nj}`
        (i <= j, row-major upper triangle).
    """

    components: np.ndarray
    means_c: np.ndarray
    chol: np.ndarray
    sums: np.ndarray


def _symmetric(upper: np.ndarray, d: int) -> np.ndarray:
    """Symmetric matrices (..., D, D) from their row-major upper triangles (..., D(D+1)/2)."""
    iu, ju = _triu(d)
    out = np.empty((*upper.shape[:-1], d, d))
    out[..., iu, ju] = upper
    out[..., ju, iu] = upper
    return out


def _scatter_from_moments(mom: _Moments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, centred means and scatter matrices from one-pass moments.

    Returns
    -------
    nk : ndarray, shape (K,)
        :math:`N_k + 10\\,\\epsilon` (the epsilon keeps an empty component finite).
    means_c : ndarray, shape (K, D)
        :math:`\\mu_k - \\text{centre} = \\sum_n \\gamma_{nk} (x_n - c) / N_k`.
    scatter : ndarray, shape (K, D, D)
        :math:`S_k = \\sum_n \\gamma_{nk} (x_n - \\mu_k)(x_n - \\mu_k)^\\top
        = \\sum_n \\gamma_{nk} (x_n - c)(x_n - c)^\\top - N_k (\\mu_k - c)(\\mu_k - c)^\\top`.
    """
    d = mom.n_features
    nk = mom.stats[:, 0] + 10 * _EPS
    means_c = mom.stats[:, 1 : d + 1] / nk[:, None]
    second = _symmetric(mom.stats[:, d + 1 :], d)
    scatter = second - nk[:, None, None] * (means_c[:, :, None] * means_c[:, None, :])
    return nk, means_c, scatter


def _sum_rounding(n: float, step: int | None = None) -> float:
    """Relative rounding error of a sum of ``n`` float64 terms.

    Random rounding errors grow like the square root of the number of
    additions: ``eps * sqrt(n)`` for one running sum. Summed in chunks of
    ``step`` terms (each one product in BLAS) and then chunk after chunk, a sum
    errs by about ``eps * (sqrt(step) + sqrt(n / step))`` (at N = 1e6 in chunks
    of ~3,000, 75 eps instead of 1,000 eps).
    """
    n = max(float(n), 1.0)
    if step is None or step >= n:
        return _EPS * math.sqrt(n)
    return _EPS * (math.sqrt(step) + math.sqrt(n / step))


def _cancelled(
    second_diag: np.ndarray, scatter: np.ndarray, n: float, step: int | None = None
) -> np.ndarray:
    """Components whose one-pass scatter lost too many digits to cancellation.

    Parameters
    ----------
    second_diag : ndarray, shape (K, D)
        Diagonal of the second moments :math:`E[x x^\\top]` about the centre used.
    scatter : ndarray, shape (K, D, D)
        Covariances obtained from them, :math:`E[xx^\\top] - \\mu\\mu^\\top`.
    n : float
        Number of points summed ...
    step : int, optional
        ... in chunks of this many (see :func:`_sum_rounding`).

    The subtraction has a rounding error of about ``sum_rounding * max_i
    E[x_i^2]``; compared with the smallest variance left, that is the relative
    error of the covariance.
    """
    smallest = np.linalg.eigvalsh(scatter)[:, 0]
    scale = second_diag.max(axis=1)
    return np.flatnonzero(
        _sum_rounding(n, step) * scale > _CANCELLATION_LIMIT * np.maximum(smallest, 0.0)
    )


def _covariances_from_scatter(
    nk: np.ndarray, scatter: np.ndarray, covariance_type: CovarianceType, reg_covar: float
) -> np.ndarray:
    """Covariance matrices of each type from scatter matrices.

    Parameters
    ----------
    nk : ndarray, shape (K,)
    scatter : ndarray, shape (K, D, D)
        :math:`S_k = \\sum_n \\gamma_{nk}(x_n-\\mu_k)(x_n-\\mu_k)^\\top`.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float

    Returns
    -------
    ndarray, shape (K, D, D)
        full: :math:`S_k/N_k + rI`; tied: :math:`\\sum_k S_k / N + rI` for every k;
        diag: :math:`\\mathrm{diag}(S_k)/N_k + rI`; spherical:
        :math:`(\\mathrm{tr}(S_k)/(D N_k) + r) I`.
    """
    k, d, _ = scatter.shape
    eye = np.eye(d)
    if covariance_type == "full":
        cov = scatter / nk[:, None, None]
    elif covariance_type == "tied":
        cov = np.broadcast_to(scatter.sum(axis=0) / nk.sum(), (k, d, d))
    elif covariance_type == "diag":
        cov = np.diagonal(scatter, axis1=1, axis2=2)[:, :, None] * eye / nk[:, None, None]
    else:  # spherical
        var = np.trace(scatter, axis1=1, axis2=2) / (d * nk)
        cov = var[:, None, None] * eye
    # Symmetrise (rounding can leave 1-ulp asymmetry) and regularise the diagonal.
    cov = 0.5 * (cov + np.swapaxes(cov, 1, 2)) + reg_covar * eye
    return cov


def _check_m_step_result(
    nk: np.ndarray, cov: np.ndarray, data_variance: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Raise ComponentCollapseError for an empty, singular or vanishing component.

    Parameters
    ----------
    nk : ndarray, shape (K,)
    cov : ndarray, shape (K, D, D)
    data_variance : ndarray, shape (D,)
        The data's variance along each feature. Covariances are compared in
        these units, so that features of very different scales (dollars and
        fractions) do not make a healthy component look collapsed.

    Returns
    -------
    chol, log_det
        :func:`_cholesky` of ``cov`` (computed for the test; the next pass reuses it).
    """
    empty = np.flatnonzero(nk - 10 * _EPS < _EMPTY_N_K)
    if empty.size:
        k = int(empty[0])
        raise ComponentCollapseError(
            Collapse(
                k, "empty_component", f"its share of the points, N_k, is {nk[k] - 10 * _EPS:.2g}"
            )
        )
    factor = _cholesky(cov)  # raises ComponentCollapseError naming a non-PD component
    log_det = factor[1]
    if not np.any(data_variance > 0):
        return factor  # no spread in the data at all: any positive definite covariance will do
    # A feature without spread keeps its own units (the largest data variance).
    scale = np.where(data_variance > 0, data_variance, data_variance.max())
    # Cheap sufficient test first: the smallest eigenvalue of a positive definite
    # matrix is at least det / trace^(D-1) (det = prod of eigenvalues, each at most
    # the trace); with the determinant from the Cholesky factor this spares the
    # eigenvalues of healthy components.
    d = cov.shape[1]
    trace = (np.diagonal(cov, axis1=1, axis2=2) / scale).sum(axis=1)
    log_lower = log_det - np.log(scale).sum() - (d - 1) * np.log(trace)
    if np.all(log_lower > math.log(_COLLAPSED_VARIANCE)):
        return factor
    inv_sd = 1.0 / np.sqrt(scale)
    smallest = np.linalg.eigvalsh(cov * inv_sd[:, None] * inv_sd[None, :])[:, 0]
    tiny = np.flatnonzero(smallest <= _COLLAPSED_VARIANCE)
    if tiny.size:
        k = int(tiny[0])
        raise ComponentCollapseError(
            Collapse(
                k,
                "singular_covariance",
                f"its smallest variance is {smallest[k]:.2g} times the data's",
            )
        )
    return factor


def _params_from_moments(
    mom: _Moments,
    covariance_type: CovarianceType,
    reg_covar: float,
    two_pass: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
    whitened: _WhitenedMoments | None = None,
    check_collapse: bool = True,
) -> GMMParams:
    """M-step from sufficient statistics.

    ``check_collapse=False`` skips the empty / singular / vanishing-component
    verdicts and returns the parameters as computed (scikit-learn's behaviour,
    used by :class:`gmm_core.GaussianMixture`; a covariance that is not positive
    definite then fails when the parameters are next evaluated).

    ``whitened``: moments of the narrow components in their whitened
    coordinates (see :class:`_WhitenedMoments`), used for their means and
    scatter instead of the one-pass moments about the data's centre, which
    lose digits for them. ``two_pass(ks, means_c)`` recomputes the scatter of
    components ``ks`` about ``means_c`` exactly, as a last resort, for the
    components whose moments lost digits all the same.
    """
    d, k = mom.n_features, mom.stats.shape[0]
    nk, means_c, scatter = _scatter_from_moments(mom)
    second_diag = mom.stats[:, d + 1 :][:, _diag_positions(d)] / nk[:, None]
    n = float(mom.stats[:, 0].sum())
    if whitened is None or not whitened.components.size:
        redo = _cancelled(second_diag, scatter / nk[:, None, None], n, mom.step)
    else:
        ks = whitened.components
        nw = nk[ks][:, None]
        # With y = L^-1 (x - mu_old): ybar = sum gamma y / N_k, and the scatter of y is
        # S_y = sum gamma y y^T - N_k ybar ybar^T. The old component is the unit sphere
        # at 0 in these coordinates and one step moves it little, so S_y does not cancel.
        # Back in x: mu = mu_old + L ybar, S = L S_y L^T.
        ybar = whitened.sums[:, :d] / nw
        y2 = _symmetric(whitened.sums[:, d:], d)
        s_y = y2 - nw[:, :, None] * (ybar[:, :, None] * ybar[:, None, :])
        # One test for both kinds of moments: rows K.. are the whitened ones.
        lost = np.zeros(k + ks.size, dtype=bool)
        lost[
            _cancelled(
                np.concatenate([second_diag, np.diagonal(y2, axis1=1, axis2=2) / nw]),
                np.concatenate([scatter / nk[:, None, None], s_y / nw[:, :, None]]),
                n,
                mom.step,
            )
        ] = True
        ok = ~lost[k:]
        chol = whitened.chol[ok]
        means_c[ks[ok]] = whitened.means_c[ok] + (chol @ ybar[ok, :, None])[:, :, 0]
        scatter[ks[ok]] = chol @ s_y[ok] @ np.swapaxes(chol, 1, 2)
        redo = lost[:k]
        redo[ks] = ~ok  # a narrow component only if its whitened moments lost digits
        redo = np.flatnonzero(redo)
    if redo.size and two_pass is not None:
        # The textbook's two passes: the mean, then the scatter about it.
        scatter[redo] = two_pass(redo, means_c[redo])
    cov = _covariances_from_scatter(nk, scatter, covariance_type, reg_covar)
    total = mom.stats.sum(axis=0)  # features summed over all points: the data's moments
    n = total[0]
    data_variance = total[d + 1 :][_diag_positions(d)] / n - (total[1 : d + 1] / n) ** 2
    factor = _check_m_step_result(nk, cov, data_variance) if check_collapse else None
    weights = nk / nk.sum()
    weights /= weights.sum()  # (renormalised: exactly a probability vector)
    params = GMMParams._trusted(weights, means_c + mom.centre, cov)
    if factor is not None and params.covariances is cov:
        for array in factor:
            array.setflags(write=False)
        _LAST_FACTOR.value = (cov, cov.copy(), *factor)
    return params


@lru_cache(maxsize=16)
def _diag_positions(d: int) -> np.ndarray:
    """Positions of the pairs (i, i) among the row-major upper-triangle pairs (cached)."""
    iu, ju = _triu(d)
    return np.flatnonzero(iu == ju)


def m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: CovarianceType = "full",
    reg_covar: float = 1e-6,
) -> GMMParams:
    """M-step: the parameters that maximise the expected complete-data log-likelihood.

    .. math::

        N_k = \\sum_n \\gamma_{nk}, \\quad
        \\pi_k = \\frac{N_k}{N}, \\quad
        \\mu_k = \\frac{1}{N_k} \\sum_n \\gamma_{nk} x_n, \\quad
        \\Sigma_k = \\frac{1}{N_k} \\sum_n \\gamma_{nk} (x_n - \\mu_k)(x_n - \\mu_k)^\\top
                    + r I

    with the covariance constrained by ``covariance_type`` (tied: one
    :math:`\\Sigma = \\frac1N \\sum_k \\sum_n \\gamma_{nk}(x_n-\\mu_k)(x_n-\\mu_k)^\\top + rI`;
    diag: the diagonal of :math:`\\Sigma_k`; spherical: :math:`\\sigma_k^2 I` with
    :math:`\\sigma_k^2` the mean of that diagonal) and :math:`r` = ``reg_covar``.

    Parameters
    ----------
    X : array_like, shape (N, D)
    resp : array_like, shape (N, K)
        Responsibilities (rows summing to 1; hard 0/1 labels work too).
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float, default 1e-6
        Non-negative value added to the diagonal of each covariance.

    Returns
    -------
    GMMParams

    Raises
    ------
    ComponentCollapseError
        If a component is empty or its covariance is not positive definite.
    """
    X = check_data(X)
    covariance_type = check_covariance_type(covariance_type)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != X.shape[0]:
        raise ValueError(f"resp must have shape ({X.shape[0]}, K); got {resp.shape}.")
    if not np.all(np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError("resp must be finite and non-negative.")
    _check_reg_covar(reg_covar)
    centre = np.ascontiguousarray(X.T).mean(axis=1)  # (see _centre_and_extent)
    (n, k), d = resp.shape, X.shape[1]
    stats = np.zeros((k, 1 + d + d * (d + 1) // 2))
    step = _chunk_step(n, k)
    for start in range(0, n, step):
        XcT = _centred_chunk(X, start, step, centre)
        stats += resp[start : start + step].T @ _features(XcT).T
    mom = _Moments(stats, centre, d, step)

    def two_pass(ks: np.ndarray, means_c: np.ndarray) -> np.ndarray:
        # Second pass, only for components whose one-pass scatter lost its digits.
        out = np.zeros((ks.size, d, d))
        for start in range(0, n, step):
            XcT = _centred_chunk(X, start, step, centre)
            r = resp[start : start + step, ks].T  # (E, c)
            for i in range(ks.size):
                diff = XcT - means_c[i][:, None]
                out[i] += (diff * r[i]) @ diff.T
        return out

    return _params_from_moments(mom, covariance_type, reg_covar, two_pass)


def _check_reg_covar(reg_covar: float) -> None:
    if not (np.isfinite(reg_covar) and reg_covar >= 0):
        raise ValueError(f"reg_covar must be a non-negative number; got {reg_covar!r}.")


# ---------------------------------------------------------------------------
# A fused EM iteration: E-step and M-step statistics in one pass over the data
# ---------------------------------------------------------------------------


# Threads for the chunks of a large pass: numpy releases the GIL inside its
# loops and BLAS calls, so the chunks of one pass run in parallel on separate
# cores. Small passes stay on one thread (starting threads would cost more).
_THREADS = max(1, min(4, os.cpu_count() or 1))


@lru_cache(maxsize=1)
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="gmm_core")


def _join(futures: list[Future]) -> None:
    """Wait until none of ``futures`` runs any more (those not started are cancelled).

    A pass ends only when all its threads have: they write into the run's scratch
    buffers, which go back to the pool (:mod:`gmm_core._memory`) when the run ends,
    also when it ends by an exception (one thread's error, or KeyboardInterrupt in the
    waiting thread), and a thread still running would write into the next run's memory.
    """
    for future in futures:
        future.cancel()
    while True:
        try:
            wait(futures)
            return
        except KeyboardInterrupt:  # a second interrupt: the threads still have to end
            continue


@dataclass(frozen=True)
class _ChunkGeometry:
    """Where the points of each cell lie: inside an ellipsoid.

    Cell ``i`` lies in :math:`\\{m_i + G_i u : |u| \\le r_i\\}` (centred
    coordinates), with :math:`G_i G_i^\\top = A_i` the cell's own covariance (plus
    a small ridge): for a cell of a thin, tilted cluster the ellipsoid is as thin
    and tilted as its points, where a ball would be as wide as their length.

    Attributes
    ----------
    mid : ndarray, shape (C, D)
        :math:`m_i`, the cell's mean (relative to the data's centre).
    spread : ndarray, shape (C, D * D)
        :math:`A_i`, flattened.
    radius : ndarray, shape (C,)
        :math:`r_i = \\max_n |G_i^{-1}(x_n - m_i)|` over the cell's points.
    reach2 : ndarray, shape (C,)
        :math:`1 + \\max_n |x_n - c|^2`: the largest feature of a point, which
        bounds what it adds to any component's moments per unit of responsibility.
    size : ndarray, shape (C,)
        Points in the cell.
    """

    mid: np.ndarray
    spread: np.ndarray
    radius: np.ndarray
    reach2: np.ndarray
    size: np.ndarray


@dataclass(frozen=True)
class _Blocks:
    """The data's quadratic features, built once for a run.

    Every EM iteration needs the same features of ``x - centre``; a run of many
    iterations builds them once when they fit in ``_BLOCKS_MAX_BYTES``. For a
    large run the points are first put in a spatial order (``order``), so that
    each *cell* of ``cell`` consecutive points is a compact piece of the data
    (``cells``), where components can be skipped (see :func:`_negligible`). A
    pass returns only sums, which do not depend on the order of the points but
    for rounding.

    Attributes
    ----------
    step : int
        Points per chunk (:func:`_chunk_step`; with cells, a multiple of ``cell``).
    chunks : tuple of ndarray, each shape (F, c)
        Features of the centred points, in the order ``order`` (rows ``1..D``
        are the centred points).
    order : ndarray of int, shape (N,), or None
        The rows of X in that order (None: X's own order, no skipping).
    cells : _ChunkGeometry or None
        Bounding ellipsoids of the cells (None: no skipping).
    cell : int
        Points per cell.
    lease : _memory.Lease
        Where the chunks and the passes' scratch buffers come from; the run
        calls :meth:`release` when it ends, and the next run reuses the memory.
    """

    step: int
    chunks: tuple[np.ndarray, ...]
    order: np.ndarray | None = None
    cells: _ChunkGeometry | None = None
    cell: int = 0
    lease: _memory.Lease = field(default_factory=_memory.Lease, compare=False, repr=False)
    workspace: dict = field(default_factory=dict, compare=False, repr=False)

    def release(self) -> None:
        """End of the run: its buffers go back to the pool (see :mod:`gmm_core._memory`)."""
        self.workspace.clear()
        self.lease.release()


def _scratch(
    blocks: _Blocks | None, slot: int, name: str, size: int, dtype: type = np.float64
) -> np.ndarray:
    """A buffer of ``size`` values for thread ``slot``, kept in the run's blocks.

    A pass's buffers (up to a few MiB with narrow components) would otherwise come
    from fresh memory at every pass, and page faults on fresh memory cost more than
    the arithmetic done in it (see :mod:`gmm_core._memory`, where they come from).
    Each thread has its own ``slot``.
    """
    if blocks is None:
        return np.empty(size, dtype)
    buf = blocks.workspace.get((slot, name))
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = blocks.workspace[slot, name] = blocks.lease.empty(size, dtype)
    return buf[:size]


# Largest memory spent on _Blocks (2-D data: 48 bytes a point, so up to ~1.4M points).
_BLOCKS_MAX_BYTES = 64 << 20


def _spatial_order(X: np.ndarray) -> np.ndarray:
    """An order of the points X (N, D) in which consecutive points lie close together.

    The points are sorted by a Morton (Z-order) key: each coordinate is scaled
    to an integer on a grid over the data's bounding box and the bits of the D
    integers are interleaved, so that points sharing a leading part of the key
    share a grid cell. Consecutive points then form compact cells, except
    where the curve jumps (such a cell is merely wider: fewer components are
    negligible in it, none wrongly). A 16-bit key is sorted by numpy's radix
    sort in O(N); in more than 16 dimensions only the 16 coordinates of largest
    spread get a bit.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    n, d = X.shape
    # Column by column (strided views, no copy): numpy reduces an (N, D) array along
    # its long axis slowly, and a transposed copy would cost fresh memory.
    lo = np.array([X[:, j].min() for j in range(d)])
    span = np.array([X[:, j].max() for j in range(d)]) - lo
    dims = np.argsort(-span, kind="stable")[:_ORDER_BITS]
    dims = dims[span[dims] > 0]
    if not dims.size:
        return np.arange(n)
    bits = _ORDER_BITS // dims.size
    level = 1 << bits
    # spread[v]: the bits of v, dims.size positions apart (bit b at position b * D)
    values = np.arange(level, dtype=np.uint16)
    spread = np.zeros(level, np.uint16)
    for b in range(bits):
        spread |= ((values >> b) & 1) << (b * dims.size)
    key = np.zeros(n, np.uint16)
    for pos, j in enumerate(dims):
        scaled = (X[:, j] - lo[j]) * (level / span[j])
        # The largest value lands on the grid's edge: clipped before the cast (with 16 bits,
        # one dimension, it is 2^16, which no uint16 holds: the cast wrapped it to key 0).
        np.minimum(scaled, level - 1, out=scaled)
        q = scaled.astype(np.uint16)
        key |= spread[q] << pos
    return np.argsort(key, kind="stable")


def _cell_views(chunks: Sequence[np.ndarray], cell: int, f: int) -> Iterator[np.ndarray]:
    """Each chunk's features as views of shape (F, cells, width): its full cells of ``cell``
    points, then its last, shorter cell (if any), in the order of the points."""
    for phi in chunks:
        full = phi.shape[1] // cell * cell
        for part, width in ((phi[:, :full], cell), (phi[:, full:], phi.shape[1] - full)):
            if part.shape[1]:
                yield part.reshape(f, -1, width)


def _cell_geometry(chunks: tuple[np.ndarray, ...], cell: int, d: int) -> _ChunkGeometry:
    """Bounding ellipsoids (see :class:`_ChunkGeometry`) of the cells of ``cell`` points.

    Everything comes from the features (F, c) of the chunks, a few vectorised
    operations per chunk and one batched factorisation for all cells:

    * the cell's mean m and covariance A = E[x x^T] - m m^T from the sums of its
      features. The one-pass covariance may lose digits, but any positive definite
      A gives a valid ellipsoid (the radius is measured with it): only its
      tightness depends on them. A ridge of 1e-9 of the mean variance (a flat cell)
      plus 1e-12 of the largest second moment (above the subtraction's rounding,
      ~eps * sqrt(cell) of it) keeps A positive definite.
    * the radius r^2 = max_n (x_n - m)^T A^{-1} (x_n - m), a quadratic form in the
      features (one product per cell), plus its rounding: at most
      ``4 F eps sum_f |coef_f| max|phi_f|``, with max|phi_f| <= 1 + |x|^2; and a
      relative 1e-5 for the rounding of A^{-1} (a condition number up to ~1e9
      after the ridge).
    """
    f = 1 + d + d * (d + 1) // 2
    squares = d + 1 + _diag_positions(d)
    sums, tops, sizes = [], [], []
    for cells in _cell_views(chunks, cell, f):
        sums.append(cells.sum(axis=2).T)
        tops.append(cells[squares].sum(axis=0).max(axis=1))  # max |x - centre|^2
        sizes.append(np.full(cells.shape[1], float(cells.shape[2])))
    stats, size = np.concatenate(sums), np.concatenate(sizes)
    reach2 = 1.0 + np.concatenate(tops)
    mid = stats[:, 1 : d + 1] / size[:, None]
    second = _symmetric(stats[:, d + 1 :], d) / size[:, None, None]
    spread = second - mid[:, :, None] * mid[:, None, :]
    diag = np.diagonal(second, axis1=1, axis2=2)
    ridge = 1e-9 * np.trace(spread, axis1=1, axis2=2) / d + 1e-12 * diag.max(axis=1) + 1e-300
    spread[:, np.arange(d), np.arange(d)] += ridge[:, None]
    inv = np.linalg.inv(spread)
    # Symmetric, as the expansion below assumes (upper triangle doubled, B m for the linear
    # term): an inverse asymmetric by 1e-8 of its size made q off by many units when the
    # cell lies far from the centre (|m|^2 |B| >> q).
    inv = 0.5 * (inv + np.swapaxes(inv, 1, 2))
    # (x - m)^T B (x - m) = m^T B m - 2 (B m)^T x + x^T B x, as coefficients of phi
    b_m = (inv @ mid[:, :, None])[:, :, 0]
    iu, ju = _triu(d)
    coef = np.empty((size.size, f))
    coef[:, 0] = (mid * b_m).sum(axis=1)
    coef[:, 1 : d + 1] = -2.0 * b_m
    coef[:, d + 1 :] = inv[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)
    quad, first = [], 0
    for cells in _cell_views(chunks, cell, f):
        count = cells.shape[1]
        q = np.einsum("cf,fcn->cn", coef[first : first + count], cells)
        quad.append(q.max(axis=1))
        first += count
    slack = 4 * f * _EPS * np.abs(coef).sum(axis=1) * reach2
    radius = np.sqrt(np.maximum(np.concatenate(quad), 0.0) * (1 + 1e-5) + slack)
    return _ChunkGeometry(mid, spread.reshape(-1, d * d), radius, reach2, size)


def _blocks(X: np.ndarray, centre: np.ndarray, n_components: int) -> _Blocks | None:
    """:class:`_Blocks` of X (N, D) about ``centre``, or None if they would not fit.

    The caller calls ``release()`` on the result when its run ends.
    """
    n, d = X.shape
    f = 1 + d + d * (d + 1) // 2
    if n * f * 8 > _BLOCKS_MAX_BYTES:
        return None
    step = _chunk_step(n, n_components)
    lease = _memory.Lease()
    if n_components > 1 and n * n_components >= _SKIP_MIN_ELEMENTS:
        order = _spatial_order(X)
        cell = min(_SKIP_CELL, step)
        step = step // cell * cell  # chunks made of whole cells
        chunks = []
        for start in range(0, n, step):
            rows = order[start : start + step]
            XcT = np.empty((d, rows.size))
            # Column by column: X[rows] is several times slower, and np.take of a
            # strided column copies the whole column first.
            for j in range(d):
                XcT[j] = X[rows, j]
            XcT -= centre[:, None]
            chunks.append(_features(XcT, lease.empty((f, rows.size))))
        cells = _cell_geometry(tuple(chunks), cell, d)
        return _Blocks(step, tuple(chunks), order, cells, cell, lease)
    chunks = [
        _features(XcT, lease.empty((f, XcT.shape[1])))
        for XcT in (_centred_chunk(X, start, step, centre) for start in range(0, n, step))
    ]
    return _Blocks(step, tuple(chunks), lease=lease)


def _negligible(
    dens: _LogDensity, cells: _ChunkGeometry, nk: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The components whose responsibilities are negligible in each cell.

    For a point :math:`x = m + G u` (:math:`|u| \\le r`) of a cell, component k's
    Mahalanobis distance :math:`|L_k^{-1}(x - \\mu_k)|` differs from that of the
    cell's mean, :math:`a_k = |L_k^{-1}(m - \\mu_k)|`, by at most
    :math:`r\\,|L_k^{-1} G|` (triangle inequality; the Frobenius norm, whose square
    is :math:`\\langle \\Sigma_k^{-1}, A \\rangle`, bounds the spectral one). So over
    the cell its log density lies between
    :math:`L_k = c_k - \\tfrac12 (a_k + r s_k)^2` and
    :math:`U_k = c_k - \\tfrac12 \\max(0, a_k - r s_k)^2` (:math:`c_k` the
    weighted normalising constant). Every point has some component at least at
    :math:`\\max_j L_j`, so its responsibility for k is below
    :math:`e^{\\Delta_k}`, :math:`\\Delta_k = U_k - \\max_j L_j`.

    Component k is skipped in the cell when :math:`\\Delta_k < -` ``_SKIP_MARGIN``
    and what the cell's points could add to its sums, at most
    :math:`c\\, e^{\\Delta_k} \\max(\\text{reach}^2, 1 + (a_k + r s_k)^2)` (per unit of
    responsibility a point adds at most its largest feature to the expanded moments
    and its squared whitened distance to the whitened ones), is below
    ``_SKIP_MASS / C`` of the component's N_k: all cells together then skip less
    than ``_SKIP_MASS * N_k``.

    Parameters
    ----------
    dens : _LogDensity
    cells : _ChunkGeometry
        C cells.
    nk : ndarray, shape (K,)
        The components' expected N_k (from the weights), in row order.

    Returns
    -------
    skip : ndarray of bool, shape (C, K)
        Rows (in the order ``dens.order``) to skip in each cell; never all of them.
    mass : ndarray, shape (K,)
        The bound on what was skipped, by row, summed over the cells.
    """
    order = dens.order
    linv, mu = dens.chol_inv[order], dens.means_c[order]
    precision = np.swapaxes(linv, 1, 2) @ linv
    with np.errstate(over="ignore", invalid="ignore"):
        # y = L_k^-1 (m - mu_k) by broadcasting: (C, K, D, D) products of tiny matrices
        # (einsum or a batched matmul pays more per matrix than the arithmetic costs).
        y = (linv[None] * (cells.mid[:, None, None, :] - mu[None, :, None, :])).sum(axis=3)
        a = np.sqrt((y * y).sum(axis=2))
        s2 = cells.spread @ precision.reshape(precision.shape[0], -1).T
        rs = cells.radius[:, None] * np.sqrt(np.maximum(s2, 0.0))
        far = a + rs
        upper = dens.const - 0.5 * np.maximum(a - rs, 0.0) ** 2
        lower = dens.const - 0.5 * far**2
        gap = upper - lower.max(axis=1, keepdims=True)
        mass = cells.size[:, None] * np.exp(gap) * np.maximum(cells.reach2[:, None], 1.0 + far**2)
        skip = (gap < -_SKIP_MARGIN) & (mass <= _SKIP_MASS / gap.shape[0] * nk)
    return skip, np.where(skip, mass, 0.0).sum(axis=0)


# A piece of a pass: points start:stop, evaluated for the rows ``kept`` of the
# _LogDensity (None: all rows).
_Piece = tuple[int, int, "np.ndarray | None"]


def _pieces(n: int, step: int, skip: np.ndarray | None, cell: int, capacity: int) -> list[_Piece]:
    """Split a pass into pieces.

    Without ``skip``: chunks of ``step`` points. With it (cells, K): runs of
    consecutive cells of one chunk, each run evaluated for the rows that any of
    its cells keeps, cut so that a piece holds at most ``capacity`` point-row
    values. Spatially ordered cells mostly agree with their neighbours; a
    neighbour that keeps other rows joins the run when evaluating its rows for
    the whole run costs less than a piece of its own (numpy's overhead per
    call, about ``_PIECE_OVERHEAD`` point-row values, is paid per piece).
    """
    if skip is None:
        return [(s, min(s + step, n), None) for s in range(0, n, step)]
    k, count = skip.shape[1], skip.shape[0]
    chunk_cells = step // cell
    if k > 64:  # too many rows for a bit mask: every run of identical cells is a piece
        change = np.flatnonzero(np.any(skip[1:] != skip[:-1], axis=1)) + 1
        edges = np.union1d(np.concatenate([change, [0, count]]), np.arange(0, count, chunk_cells))
        out: list[_Piece] = []
        for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            kept = np.flatnonzero(~skip[a])
            _emit(out, a, b, kept, k, n, cell, capacity)
        return out
    # The rows each cell keeps, as bit masks; runs of identical cells, never across a
    # chunk's edge (Python integers below: the greedy loop runs once per run, where
    # numpy's per-call overhead would dominate).
    bits_of_cell = (~skip) @ (np.uint64(1) << np.arange(k, dtype=np.uint64))
    starts = np.zeros(count + 1, dtype=bool)
    starts[1:count] = bits_of_cell[1:] != bits_of_cell[:-1]
    starts[::chunk_cells] = True
    starts[count] = True
    edges = np.flatnonzero(starts).tolist()
    runs = bits_of_cell[edges[:-1]].tolist()
    out = []
    first, last, bits = edges[0], edges[1], runs[0]
    for a, b, run in zip(edges[1:-1], edges[2:], runs[1:], strict=True):
        union = bits | run
        size, extra = (last - first) * cell, (b - a) * cell
        joined = (size + extra) * union.bit_count()
        apart = size * bits.bit_count() + extra * run.bit_count() + _PIECE_OVERHEAD
        if a % chunk_cells and joined <= apart:
            last, bits = b, union
        else:
            _emit(out, first, last, _kept_rows(bits, k), k, n, cell, capacity)
            first, last, bits = a, b, run
    _emit(out, first, last, _kept_rows(bits, k), k, n, cell, capacity)
    return out


@lru_cache(maxsize=1024)
def _kept_rows(bits: int, k: int) -> np.ndarray:
    """The rows of a bit mask, ascending (cached and read-only: pieces share them)."""
    kept = np.array([j for j in range(k) if bits >> j & 1])
    kept.setflags(write=False)
    return kept


def _emit(
    out: list[_Piece], first: int, last: int, kept: np.ndarray, k: int, n: int, cell: int,
    capacity: int,
) -> None:
    """Pieces of cells ``first:last`` evaluated for rows ``kept``, at most ``capacity``
    point-row values each."""
    most = max(1, capacity // (kept.size * cell)) * cell  # points per piece
    use = None if kept.size == k else kept
    hi = min(last * cell, n)
    out.extend((s, min(s + most, hi), use) for s in range(first * cell, hi, most))


def _split(pieces: list[_Piece], k: int, wide: int, workers: int) -> list[list[_Piece]]:
    """Contiguous groups of pieces of about equal work, one per thread.

    Work is points x rows, a narrow (whitened) row counted three times: it costs
    about three expanded ones (the whitening product, the products of its
    coordinates for the M-step, and their sums).
    """
    if workers == 1:
        return [pieces]

    def rows(kept: np.ndarray | None) -> int:
        if kept is None:
            return wide + 3 * (k - wide)
        return int(kept.size + 2 * np.count_nonzero(kept >= wide))

    work = np.cumsum([(b - a) * rows(kept) for a, b, kept in pieces])
    cut = np.searchsorted(work, work[-1] * np.arange(1, workers) / workers, side="right")
    edges = [0, *cut.tolist(), len(pieces)]
    return [pieces[edges[i] : edges[i + 1]] for i in range(workers)]


def _piece_features(
    X: np.ndarray, start: int, stop: int, centre: np.ndarray, blocks: _Blocks | None
) -> np.ndarray:
    """Features (F, c) of points ``start:stop`` (of the blocks' order, if any), in one chunk."""
    if blocks is not None:
        first = start // blocks.step * blocks.step
        return blocks.chunks[start // blocks.step][:, start - first : stop - first]
    return _features(_centred_chunk(X, start, stop - start, centre))


@dataclass
class _PassSums:
    """What one run of chunks contributes to a fused pass.

    Attributes
    ----------
    total : float
        Sum of the points' log-likelihoods.
    stats : ndarray, shape (K, F), or None
        :math:`\\sum_n \\gamma_{nk} \\phi(x_n - c)` (see :class:`_Moments`), rows
        in the order of ``_LogDensity.order``.
    whitened : ndarray, shape (E, D + D(D+1)/2), or None
        The narrow components' whitened moments (see :class:`_WhitenedMoments`).
    """

    total: float
    stats: np.ndarray | None
    whitened: np.ndarray | None


def _pass_sums(
    X: np.ndarray,
    dens: _LogDensity,
    pieces: list[_Piece],
    capacity: int,
    *,
    single: bool,
    m_step: bool,
    blocks: _Blocks | None = None,
    slot: int = 0,
) -> _PassSums:
    """E-step and M-step sums over ``pieces`` (see :func:`_em_pass`).

    The responsibilities of each piece are used for the sufficient statistics
    straight away and then dropped, so memory does not grow with N. Rows a
    piece does not keep (see :func:`_negligible`) count as responsibility 0.
    ``capacity``: the most point-row values of a piece.
    """
    k, f = dens.order.size, dens.coef.shape[1]
    d, w = X.shape[1], dens.coef.shape[0]
    e, g = dens.narrow.size, d + d * (d + 1) // 2
    total = 0.0
    stats = np.zeros((k, f)) if m_step else None
    whitened = np.zeros((e, g)) if m_step and e else None
    # Buffers reused by every piece: fresh arrays of this size would come from new
    # memory pages each time (~20 % of a pass in page faults).
    lp_buf = _scratch(blocks, slot, "lp", capacity)
    e_buf = _scratch(blocks, slot, "e", capacity, np.float32) if single else None
    psi_buf = _scratch(blocks, slot, "psi", g * capacity) if whitened is not None else None
    subsets: dict[bytes, _LogDensity] = {}  # by the rows kept
    for start, stop, kept in pieces:
        phi = _piece_features(X, start, stop, dens.centre, blocks)
        c = phi.shape[1]
        if kept is None:
            sub, rows = dens, np.arange(k)
        else:
            key = kept.tobytes()
            if key not in subsets:
                subsets[key] = dens.rows(kept)
            sub, rows = subsets[key], kept
        m, es = rows.size, sub.narrow.size
        psi = None if psi_buf is None or not es else psi_buf[: g * es * c].reshape(g, es, c)
        wlp = sub.weighted_log_prob(phi, out=lp_buf[: m * c].reshape(m, c), psi=psi)
        if m == 1:
            # One component left: each sum over components is 1 + (terms below e^-60),
            # which rounds to 1, so every responsibility is 1 and the log-likelihood is
            # the log density (what _normalise would return, without the exponentials).
            total += float(wlp[0].sum())
            if stats is not None:
                stats[rows[0]] += phi.sum(axis=1)
                if es:
                    whitened[rows[0] - w] += psi[:, 0].sum(axis=1)
            continue
        scratch = None if e_buf is None else e_buf[: m * c].reshape(m, c)
        total += _normalise(wlp, single, scratch)  # wlp now holds the responsibilities
        if stats is not None:
            if kept is None:
                stats += wlp @ phi.T
            else:
                stats[rows] += wlp @ phi.T
        if whitened is not None:
            for j in range(es):
                # row m - es + j of the piece is narrow component number rows[.] - w
                whitened[rows[m - es + j] - w] += psi[:, j] @ wlp[m - es + j]
    return _PassSums(total, stats, whitened)


def _em_pass(
    X: np.ndarray,
    params: GMMParams,
    centre: np.ndarray,
    extent: float,
    covariance_type: CovarianceType,
    reg_covar: float,
    *,
    m_step: bool = True,
    check_collapse: bool = True,
    blocks: _Blocks | None = None,
) -> tuple[float, GMMParams | None, Collapse | None]:
    """One E-step (log-likelihood) and, optionally, the M-step that follows it.

    The responsibilities of each chunk are used for the sufficient statistics
    straight away and then dropped, so memory does not grow with N. With
    spatially ordered ``blocks``, components negligible in a cell of points are
    skipped there (see :func:`_negligible`).

    Parameters
    ----------
    X : ndarray, shape (N, D)
    params : GMMParams
    centre : ndarray, shape (D,)
    extent : float

    Returns
    -------
    log_likelihood : float
        Total log-likelihood of ``params``.
    new_params : GMMParams or None
        The M-step's result (None if ``m_step`` is False or the M-step failed).
    collapse : Collapse or None
        Why the M-step failed, if it did.

    Raises
    ------
    ComponentCollapseError
        If ``params`` themselves cannot be evaluated.
    """
    n, k = X.shape[0], params.n_components
    step = blocks.step if blocks is not None else _chunk_step(n, k)
    dens = _LogDensity.build(params, centre, extent, (n, step) if m_step else None)
    large = n * k >= _SINGLE_EXP_MIN_ELEMENTS
    workers = _THREADS if n * k >= _THREAD_MIN_ELEMENTS else 1
    capacity = k * min(step, n)

    def over(groups: list[_T], fn: Callable[[_T], _U]) -> list[_U]:
        # One group per thread, summed in a fixed order by the caller, so the result
        # does not depend on which thread finishes first.
        if len(groups) == 1:
            return [fn(groups[0])]
        futures = [_executor().submit(fn, group) for group in groups]
        try:
            return [future.result() for future in futures]
        finally:
            _join(futures)

    def sums(pieces: list[_Piece]) -> list[_PassSums]:
        return over(
            list(enumerate(_split(pieces, k, dens.coef.shape[0], workers))),
            lambda slot_group: _pass_sums(
                X, dens, slot_group[1], capacity, single=large, m_step=m_step, blocks=blocks,
                slot=slot_group[0],
            ),
        )

    cells = None if blocks is None else blocks.cells
    skip = skipped = None
    if cells is not None:
        skip, skipped = _negligible(dens, cells, params.weights[dens.order] * n)
        _SKIP_COUNTS["pairs"] += skip.size
        _SKIP_COUNTS["skipped"] += int(skip.sum())
        if not skip.any():
            skip = None
    full = _pieces(n, step, None, 0, capacity)
    used = full if skip is None else _pieces(n, step, skip, blocks.cell, capacity)
    parts = sums(used)
    if skip is not None and m_step:
        # The skipped mass was bounded against the N_k the weights predicted; if a
        # component's N_k came out smaller (it is emptying), the bound may no longer
        # be negligible beside it: then the pass is redone in full.
        nk = sum(p.stats for p in parts)[:, 0]
        if np.any(skipped > _SKIP_MASS * nk):
            _SKIP_COUNTS["redone"] += 1
            used = full
            parts = sums(used)
    total = sum(p.total for p in parts)
    if not np.isfinite(total):
        raise ComponentCollapseError(_non_finite_collapse(_weighted_log_prob(X, params)))
    if not m_step:
        return total, None, None
    stats = np.empty((k, dens.coef.shape[1]))
    stats[dens.order] = sum(p.stats for p in parts)  # rows back in component order
    whitened = None
    if dens.narrow.size:
        whitened = _WhitenedMoments(
            dens.narrow, dens.means_c[dens.narrow], dens.chol[dens.narrow],
            sum(p.whitened for p in parts),
        )

    def two_pass(ks: np.ndarray, means_c: np.ndarray) -> np.ndarray:
        # Second pass, only for components whose moments lost their digits all the
        # same (a component that shrank by orders of magnitude in this step). Their
        # responsibilities are recomputed exactly as the first pass computed them, with
        # the same pieces: pieces that skipped all these components are skipped whole.
        d = X.shape[1]
        rows = np.argsort(dens.order)[ks]  # where the components' rows are

        def scatter(slot_group: tuple[int, list[_Piece]]) -> np.ndarray:
            slot, group = slot_group
            out = np.zeros((ks.size, d, d))
            lp_buf = _scratch(blocks, slot, "lp", capacity)
            e_buf = _scratch(blocks, slot, "e", capacity, np.float32) if large else None
            subsets: dict[bytes, _LogDensity] = {}
            for start, stop, kept in group:
                if kept is None:
                    sub, where = dens, rows
                else:
                    where = np.searchsorted(kept, rows)  # a row's place among those kept
                    where[where == kept.size] = 0
                    where[kept[where] != rows] = -1  # not kept: skipped in this piece
                    if np.all(where < 0):
                        continue
                    key = kept.tobytes()
                    if key not in subsets:
                        subsets[key] = dens.rows(kept)
                    sub = subsets[key]
                m = sub.order.size
                phi = _piece_features(X, start, stop, centre, blocks)
                c = phi.shape[1]
                resp = sub.weighted_log_prob(phi, out=lp_buf[: m * c].reshape(m, c))
                _normalise(resp, large, None if e_buf is None else e_buf[: m * c].reshape(m, c))
                for i, r in enumerate(where):
                    if r >= 0:
                        diff = phi[1 : d + 1] - means_c[i][:, None]
                        out[i] += (diff * resp[r]) @ diff.T
            return out

        return sum(over(list(enumerate(_split(used, k, dens.coef.shape[0], workers))), scatter))

    try:
        new = _params_from_moments(
            _Moments(stats, centre, X.shape[1], step), covariance_type, reg_covar, two_pass,
            whitened, check_collapse,
        )
    except ComponentCollapseError as err:
        return total, None, err.collapse
    return total, new, None


# ---------------------------------------------------------------------------
# Runs of EM, half-step by half-step
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HalfStep:
    """One state of an EM run.

    Attributes
    ----------
    phase : {"init", "E", "M"}
        ``"init"``: the starting parameters; ``"E"``: after an E-step (same
        parameters as the state before, responsibilities now computed from
        them); ``"M"``: after an M-step (new parameters).
    iteration : int
        Number of the EM iteration this half-step belongs to (0 for init).
    params : GMMParams
    log_likelihood : float
        Total log-likelihood of ``params`` on the data.
    """

    phase: Phase
    iteration: int
    params: GMMParams
    log_likelihood: float


@dataclass(frozen=True)
class EMHistory:
    """The record of an EM run: its half-steps and how it stopped.

    Attributes
    ----------
    steps : tuple of HalfStep
        ``init, E, M, E, M, ...``. Only parameters are kept (O(K D^2) each);
        responsibilities are recomputed with :func:`e_step` when needed, so the
        history does not grow with N.
    converged : bool
        True only when the stopping rule says that more EM would not raise the
        log-likelihood by more than ``tol`` (see :func:`run_em`).
    stop_reason : {"converged", "max_iter", "collapse", "stopped"}
        ``"max_iter"``: stopped at the iteration limit, not converged: either
        still climbing (``last_gain``) or held at a saddle (``twins``).
        ``"stopped"``: the caller's ``should_stop`` asked :func:`run_em` to stop
        before the run ended; pass the history as ``resume=`` to go on.
    collapse : Collapse or None
        Set when ``stop_reason == "collapse"``: the next M-step was impossible.
    n_iter : int
        Number of completed M-steps.
    n_samples : int
    tol : float
    covariance_type : str
    reg_covar : float
    rule : {"aitken", "loglik_change"}
        The stopping rule that was applied.
    last_gain : float
        Log-likelihood gained by the last iteration (NaN before the first).
    expected_gain : float
        Aitken's estimate of the log-likelihood still to be gained from the
        last iterate (``inf`` while the gains are not shrinking; NaN before
        the second iteration).
    twins : tuple of (int, int) or None
        Two components that coincide at the final parameters (a saddle point
        EM leaves only slowly; never reported as converged).
    """

    steps: tuple[HalfStep, ...]
    converged: bool
    stop_reason: StopReason
    collapse: Collapse | None
    n_iter: int
    n_samples: int
    tol: float
    covariance_type: str = "full"
    reg_covar: float = 1e-6
    rule: ConvergenceRule = "aitken"
    last_gain: float = float("nan")
    expected_gain: float = float("nan")
    twins: tuple[int, int] | None = None
    _ll: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ll = np.array([s.log_likelihood for s in self.steps])
        ll.setflags(write=False)
        object.__setattr__(self, "_ll", ll)

    @property
    def log_likelihoods(self) -> np.ndarray:
        """Total log-likelihood of every half-step, shape (len(steps),)."""
        return self._ll

    @property
    def final(self) -> HalfStep:
        """The last state reached."""
        return self.steps[-1]

    @property
    def still_climbing(self) -> bool:
        """Stopped at the iteration limit while the log-likelihood was still rising."""
        return self.stop_reason == "max_iter" and self.twins is None and self.n_iter > 0

    def __len__(self) -> int:
        return len(self.steps)


# ---------------------------------------------------------------------------
# When to stop: an honest convergence test
# ---------------------------------------------------------------------------
#
# scikit-learn stops once the mean log-likelihood changes by less than 1e-3
# between iterations. EM is a first-order method: on a plateau (a start with
# two components on top of each other, a component slowly sliding between two
# clusters) it can gain 1e-4 per point per iteration for dozens of iterations
# and then climb by hundreds. A small step says little about how far the top is.
#
# Rule used here (``rule="aitken"``), in two parts:
#
# 1. Aitken's acceleration (Boehning, Dietz, Schaub, Schlattmann & Lindsay
#    1994; McNicholas, Murphy, McDaid & Frost 2010). Near a maximum EM
#    converges linearly, gains shrinking by a factor a < 1 each iteration, so
#    the log-likelihood's limit is ``l_inf = l_{t-1} + (l_t - l_{t-1}) / (1 - a)``
#    with ``a = (l_t - l_{t-1}) / (l_{t-1} - l_{t-2})``. EM stops when the gain
#    still expected, ``l_inf - l_{t-1}`` (Boehning's more cautious form), is below
#    ``tol`` in units of the TOTAL log-likelihood - the number on the chart. While
#    gains grow or hold (a >= 1, a plateau being left) the estimate is infinite
#    and EM goes on.
# 2. No twins. Two identical components get responsibilities in proportion to
#    their weights, so the M-step keeps them identical: every such point is a
#    fixed point of EM, and a saddle (splitting the pair never lowers the
#    likelihood). Started near it (random responsibilities put every mean near
#    the data's mean), EM crawls for hundreds of iterations with gains that
#    Aitken cannot tell from convergence, then climbs. So a state where two
#    components coincide - Bhattacharyya distance below ``_TWIN_DISTANCE`` - is
#    never called converged. (In healthy fits the closest pair of components
#    sits at distances above 0.5; 0.01 means the two overlap by 99 %.)
#
# Measured on Old Faithful K=2, Blobs K=3, galaxies K=3 and three Gaussians
# (1-D) K=3, 20 seeds x 4 initialisations: scikit-learn's rule called 192 of
# 320 runs converged although continuing gained more than 0.5; this rule, none
# (tests/test_convergence.py).

_TWIN_DISTANCE = 0.01


def aitken_expected_gain(ll_before: float, ll_prev: float, ll_now: float) -> float:
    """Log-likelihood still to be gained, by Aitken's acceleration of the last three values.

    Parameters
    ----------
    ll_before, ll_prev, ll_now : float
        Log-likelihoods after iterations t-2, t-1 and t.

    Returns
    -------
    float
        :math:`\\ell_\\infty - \\ell_{t-1}` with
        :math:`\\ell_\\infty = \\ell_{t-1} + (\\ell_t - \\ell_{t-1}) / (1 - a)`,
        :math:`a = (\\ell_t - \\ell_{t-1}) / (\\ell_{t-1} - \\ell_{t-2})`;
        ``inf`` when the gains are not shrinking (``a >= 1``, or a rise after a
        fall), and the size of a fall when the last step lost likelihood (only
        ``reg_covar`` or rounding can make EM do that).
    """
    d_prev, d_now = ll_prev - ll_before, ll_now - ll_prev
    if d_now <= 0:
        return -d_now
    if d_prev <= 0:
        return float("inf")
    a = d_now / d_prev
    return d_now / (1.0 - a) if a < 1.0 else float("inf")


def twin_components(params: GMMParams, distance: float = _TWIN_DISTANCE) -> tuple[int, int] | None:
    """The closest pair of components if they (nearly) coincide, else None.

    Closeness is the Bhattacharyya distance of the two Gaussians,

    .. math::

        D_B = \\tfrac18 (\\mu_i - \\mu_j)^\\top \\Sigma^{-1} (\\mu_i - \\mu_j)
              + \\tfrac12 \\log \\frac{|\\Sigma|}{\\sqrt{|\\Sigma_i| |\\Sigma_j|}},
        \\qquad \\Sigma = \\tfrac12 (\\Sigma_i + \\Sigma_j),

    which is 0 for identical components and does not depend on the units of
    the data. Weights do not enter: identical Gaussians stay identical under EM
    whatever their weights.

    Parameters
    ----------
    params : GMMParams
    distance : float
        Pairs closer than this count as twins.

    Returns
    -------
    (i, j) with i < j, or None
    """
    k = params.n_components
    if k < 2:
        return None
    i, j = np.triu_indices(k, 1)
    cov_i, cov_j = params.covariances[i], params.covariances[j]
    mid = 0.5 * (cov_i + cov_j)  # (P, D, D)
    diff = params.means[i] - params.means[j]  # (P, D)
    maha = np.einsum("pd,pd->p", diff, np.linalg.solve(mid, diff[..., None])[..., 0])
    log_det = np.linalg.slogdet(mid)[1] - 0.5 * (
        np.linalg.slogdet(cov_i)[1] + np.linalg.slogdet(cov_j)[1]
    )
    d_b = maha / 8.0 + 0.5 * log_det
    best = int(np.argmin(d_b))
    return (int(i[best]), int(j[best])) if d_b[best] < distance else None


def run_em(
    X: np.ndarray,
    params0: GMMParams,
    *,
    covariance_type: CovarianceType = "full",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    rule: ConvergenceRule = "aitken",
    should_stop: Callable[[], bool] | None = None,
    resume: EMHistory | None = None,
) -> EMHistory:
    """Run EM from ``params0`` and record every half-step.

    EM stops at the first of: convergence by ``rule``; ``max_iter``
    iterations; a collapsing component; ``should_stop()`` returning True.

    * ``rule="aitken"`` (default): converged when the log-likelihood still to
      be gained, estimated by Aitken's acceleration of the last three
      iterations, is below ``tol`` (in units of the total log-likelihood), and
      no two components coincide (a saddle). See the comment above
      :func:`aitken_expected_gain` for why.
    * ``rule="loglik_change"``: scikit-learn's rule, for comparison: the mean
      per-sample log-likelihood changed by less than ``tol`` between two
      successive M-steps. It stops on plateaus. (Each iteration here knows the
      log-likelihood of its own M-step's result, so it stops one M-step
      before scikit-learn would.)

    Parameters
    ----------
    X : array_like, shape (N, D)
    params0 : GMMParams
        Starting parameters (see :func:`gmm_core.initialize`).
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float, default 1e-6
    tol : float, default 1e-3
        Tolerance of ``rule``.
    max_iter : int, default 100
        Maximum number of iterations (M-steps); 0 records the start only.
    rule : {"aitken", "loglik_change"}, default "aitken"
    should_stop : callable, optional
        Called with no arguments once before each iteration (it should be cheap,
        e.g. a flag or a clock); when it returns True the run ends there with
        ``stop_reason="stopped"`` (a session that went away, a time budget).
    resume : EMHistory, optional
        A history this function returned with ``stop_reason="stopped"`` for the
        same ``X``, ``params0`` and settings: the run goes on from its last
        half-step, and the result is the history one uninterrupted run would
        have given (the stopping rule sees the whole log-likelihood sequence).
        A history that has already ended is returned unchanged.

    Returns
    -------
    EMHistory
        If a component collapses, the run stops after the E-step whose M-step
        failed, with ``stop_reason="collapse"`` and the :class:`Collapse`.
        If ``params0`` itself cannot be evaluated, the history holds only the
        init state with a log-likelihood of ``nan`` and the collapse.
    """
    X = check_data(X, params0.n_features)
    covariance_type = check_covariance_type(covariance_type)
    _check_reg_covar(reg_covar)
    if max_iter < 0 or not tol >= 0:
        raise ValueError("max_iter and tol must be non-negative.")
    if rule not in CONVERGENCE_RULES:
        raise ValueError(f"rule must be one of {', '.join(CONVERGENCE_RULES)}; got {rule!r}.")
    n = X.shape[0]
    if resume is not None:
        _check_resume(resume, params0, n, covariance_type, reg_covar, tol, rule, max_iter)
        if resume.stop_reason != "stopped":
            return resume
    centre, extent = _centre_and_extent(X)
    steps: list[HalfStep] = []
    lls: list[float] = []  # log-likelihood after each M-step (init first)

    def finish(reason: StopReason, collapse: Collapse | None, n_iter: int) -> EMHistory:
        last = lls[-1] - lls[-2] if len(lls) >= 2 else float("nan")
        ahead = aitken_expected_gain(*lls[-3:]) if len(lls) >= 3 else float("nan")
        twins = twin_components(steps[-1].params) if reason == "max_iter" else None
        return EMHistory(
            tuple(steps), reason == "converged", reason, collapse, n_iter, n, tol,
            covariance_type, reg_covar, rule, last, ahead, twins,
        )

    # Built once when the run has iterations to share them (and memory allows).
    blocks = _blocks(X, centre, params0.n_components) if max_iter > 1 else None
    try:
        params = params0
        first = 1
        pending = False  # resumed: the next M-step is not computed yet
        if resume is not None:
            steps = list(resume.steps)
            lls = [s.log_likelihood for s in steps if s.phase != "E"]
            params, ll, first, pending = steps[-1].params, lls[-1], resume.n_iter + 1, True
        else:
            try:
                ll, new, collapse = _em_pass(
                    X, params, centre, extent, covariance_type, reg_covar, m_step=max_iter > 0,
                    blocks=blocks,
                )
            except ComponentCollapseError as err:
                steps.append(HalfStep("init", 0, params, float("nan")))
                return finish("collapse", err.collapse, 0)
            steps.append(HalfStep("init", 0, params, ll))
            lls.append(ll)
        for it in range(first, max_iter + 1):
            if should_stop is not None and should_stop():
                return finish("stopped", None, it - 1)
            if pending:
                # The pass over the last recorded parameters, as the uninterrupted run made it
                # (m_step=True: it <= max_iter); the pass is deterministic (chunks summed in a
                # fixed order), so its M-step and the history match that run's exactly.
                try:
                    _, new, collapse = _em_pass(
                        X, params, centre, extent, covariance_type, reg_covar, m_step=True,
                        blocks=blocks,
                    )
                except ComponentCollapseError as err:
                    return finish("collapse", err.collapse, it - 1)
                pending = False
            steps.append(HalfStep("E", it, params, ll))
            if new is None:  # the M-step of this iteration failed
                return finish("collapse", collapse, it - 1)
            params = new
            try:
                ll_new, new, collapse = _em_pass(
                    X, params, centre, extent, covariance_type, reg_covar, m_step=it < max_iter,
                    blocks=blocks,
                )
            except ComponentCollapseError as err:
                # The new parameters cannot even be evaluated (infinite likelihood):
                # keep the history at the E-step before them.
                return finish("collapse", err.collapse, it - 1)
            steps.append(HalfStep("M", it, params, ll_new))
            lls.append(ll_new)
            if rule == "loglik_change":
                done = abs(ll_new - ll) / n < tol
            else:
                done = (
                    len(lls) >= 3
                    and aitken_expected_gain(*lls[-3:]) < tol
                    and twin_components(params) is None
                )
            if done:
                return finish("converged", None, it)
            ll = ll_new
        return finish("max_iter", None, max_iter)
    finally:
        if blocks is not None:
            blocks.release()  # its memory serves the next run (see gmm_core._memory)


def _check_resume(
    resume: EMHistory,
    params0: GMMParams,
    n: int,
    covariance_type: str,
    reg_covar: float,
    tol: float,
    rule: str,
    max_iter: int,
) -> None:
    """Raise ValueError unless ``resume`` is a run of these data, start and settings."""
    start = resume.steps[0].params
    same = (
        resume.n_samples == n
        and (resume.covariance_type, resume.reg_covar, resume.tol, resume.rule)
        == (covariance_type, reg_covar, tol, rule)
        and all(
            np.array_equal(a, b)
            for a, b in zip(
                (start.weights, start.means, start.covariances),
                (params0.weights, params0.means, params0.covariances),
                strict=True,
            )
        )
    )
    if not same:
        raise ValueError(
            "resume must be a history of run_em on the same data, starting parameters and "
            "settings (covariance_type, reg_covar, tol, rule)."
        )
    if resume.n_iter > max_iter:
        raise ValueError(
            f"resume has {resume.n_iter} iterations, more than max_iter = {max_iter}."
        )


# ---------------------------------------------------------------------------
# Sampling and model selection
# ---------------------------------------------------------------------------


def sample(params: GMMParams, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points from the mixture.

    Counts per component are multinomial(n, weights); points of component k
    are :math:`\\mu_k + L_k z` with :math:`z \\sim \\mathcal{N}(0, I)`.

    Returns
    -------
    X : ndarray, shape (n, D)
        Grouped by component (component 0 first), as in scikit-learn.
    labels : ndarray of int, shape (n,)
    """
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}.")
    chol, _ = _cholesky(params.covariances)
    counts = rng.multinomial(n, params.weights)
    labels = np.repeat(np.arange(params.n_components), counts)
    z = rng.standard_normal((n, params.n_features))
    X = params.means[labels] + np.einsum("nij,nj->ni", chol[labels], z)
    return X, labels


def n_parameters(n_components: int, n_features: int, covariance_type: CovarianceType) -> int:
    """Number of free parameters of a mixture.

    ``(K - 1)`` weights + ``K D`` means + covariance parameters: full
    ``K D (D + 1) / 2``, tied ``D (D + 1) / 2``, diag ``K D``, spherical ``K``.
    """
    check_covariance_type(covariance_type)
    k, d = n_components, n_features
    if k < 1 or d < 1:
        raise ValueError(f"n_components and n_features must be at least 1; got {k} and {d}.")
    cov = {
        "full": k * d * (d + 1) // 2,
        "tied": d * (d + 1) // 2,
        "diag": k * d,
        "spherical": k,
    }[covariance_type]
    return int(cov + k * d + k - 1)


def bic(X: np.ndarray, params: GMMParams, covariance_type: CovarianceType) -> float:
    """Bayesian information criterion, :math:`-2 \\log L + p \\log N` (lower is better).

    ``X`` has shape (N, D); ``p`` is :func:`n_parameters`.
    """
    X = check_data(X, params.n_features)
    p = n_parameters(params.n_components, params.n_features, covariance_type)
    return -2.0 * log_likelihood(X, params) + p * np.log(X.shape[0])


def aic(X: np.ndarray, params: GMMParams, covariance_type: CovarianceType) -> float:
    """Akaike information criterion, :math:`-2 \\log L + 2p` (lower is better); X (N, D)."""
    X = check_data(X, params.n_features)
    p = n_parameters(params.n_components, params.n_features, covariance_type)
    return -2.0 * log_likelihood(X, params) + 2.0 * p
