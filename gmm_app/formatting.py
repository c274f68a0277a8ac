"""Numbers and sentences for people: no ``nan`` ever, a real minus sign, clear stop reasons.

Every function here is pure (no Streamlit, no Plotly), so the words the pages
show can be tested directly.
"""

from __future__ import annotations

import math
import re

import numpy as np

from gmm_core import EMHistory

MINUS = "\u2212"
"""The typographic minus sign, wider and easier to read on a projector than ``-``."""
MISSING = "\u2014"
"""Shown instead of a number that does not exist (never ``nan``)."""

_PHASE_WORDS = {"init": "initial parameters", "E": "after E-step", "M": "after M-step"}


# ASCII punctuation: CommonMark lets a backslash escape every one of them.
_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# Streamlit (remark-gfm) turns "www.", "http://" and e-mail addresses into links after the
# Markdown is parsed, escapes or not; a WORD JOINER (invisible) breaks each pattern.
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto|xmpp)(?=:)|\bwww(?=\.)|(?<=[\w.+-])(?=@)")
_WORD_JOINER = "\u2060"


def md_escape(text: object) -> str:
    """User text made safe to pass to ``st.markdown`` / ``st.warning`` / ``st.caption``.

    Every ASCII punctuation character is backslash-escaped (so no HTML, link, image,
    emphasis, heading, list, table, LaTeX ``$``, ``:color[...]`` or ``:emoji:`` syntax
    survives) and an invisible word joiner is put into the patterns GitHub-flavoured
    Markdown would turn into links without any syntax ("www.", "http:", "name@host").
    The text then renders exactly as written.
    """
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _AUTOLINK.sub(lambda m: m.group(0) + _WORD_JOINER, text)
    return _MD_PUNCTUATION.sub(r"\\\1", text)


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def fmt_number(value: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, scientific when very large or small.

    ``None`` and NaN give an em dash, infinities ``∞`` / ``−∞``; negative numbers
    use the minus sign ``−``.
    """
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)):
        return MISSING
    value = float(value)
    if math.isinf(value):
        return "\u221e" if value > 0 else MINUS + "\u221e"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 10 ** max(digits, 5):
        decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
        return _minus(f"{value:.{decimals}f}")
    return _minus(f"{value:.{digits - 1}e}")


def fmt_fixed(value: float | None, decimals: int = 2) -> str:
    """``value`` with a fixed number of decimals (log-likelihoods); em dash if missing."""
    if value is None or not math.isfinite(float(value)):
        return fmt_number(value)
    return _minus(f"{float(value):.{decimals}f}")


def fmt_signed(delta: float) -> str:
    """A change with its sign, e.g. ``+0.84`` or ``−3.1e−05``; em dash if not finite."""
    if not math.isfinite(delta):
        return fmt_number(delta)
    text = f"{delta:+.2f}" if abs(delta) >= 0.01 or delta == 0 else f"{delta:+.2g}"
    return _minus(text)


def _split_log10(log_value: float) -> tuple[float, int]:
    """Mantissa in [1, 10) and exponent of ``exp(log_value)``, without underflow."""
    log10 = log_value / math.log(10.0)
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    if mantissa >= 9.995:  # rounding to 3 digits would print 10.0
        mantissa, exponent = mantissa / 10.0, exponent + 1
    return mantissa, exponent


def fmt_from_log(log_value: float) -> str:
    """Format ``exp(log_value)`` even when it underflows a float (e.g. ``3.2×10⁻⁴⁰⁰``).

    Densities far from a component are far below the smallest float; they are
    computed as logarithms and shown from their logarithm. ``-inf`` gives ``0``.
    """
    if math.isnan(log_value):
        return MISSING
    if log_value == -math.inf:
        return "0"
    if log_value == math.inf:
        return "\u221e"
    if -6.9 <= log_value <= 9.2:  # 0.001 .. 10,000: plain digits
        return fmt_number(math.exp(log_value), 3)
    mantissa, exponent = _split_log10(log_value)
    sign = MINUS if exponent < 0 else "+"
    return f"{mantissa:.2f}e{sign}{abs(exponent)}"


def latex_from_log(log_value: float) -> str:
    """LaTeX for ``exp(log_value)``: ``0.0123`` or ``3.20 \\times 10^{-400}``."""
    if math.isnan(log_value):
        return r"\text{undefined}"
    if log_value == -math.inf:
        return "0"
    if -6.9 <= log_value <= 9.2:
        return fmt_number(math.exp(log_value), 3).replace(MINUS, "-")
    mantissa, exponent = _split_log10(log_value)
    return rf"{mantissa:.2f} \times 10^{{{exponent}}}"


# --------------------------------------------------------------------------- run status
def _gain_words(gain: float) -> str:
    """A log-likelihood gain in words, e.g. ``0.4`` or ``3.2e-05`` (never "nan")."""
    if not math.isfinite(gain):
        return "an unknown amount"
    return _minus(f"{gain:.2g}")


def _fell(history: EMHistory) -> bool:
    """Whether the run's last iteration lowered the log-likelihood (reg_covar, rounding)."""
    return math.isfinite(history.last_gain) and history.last_gain < 0


def _ahead_words(history: EMHistory) -> str:
    """What the stopping rule expects still to come, said beside its tolerance.

    The last gain alone can be below the tolerance while the run is not converged: the
    rule extrapolates the whole remaining climb (Aitken), which is larger than one step.
    """
    ahead = history.expected_gain
    if history.rule == "loglik_change":
        return (f"the log-likelihood per point still changed by at least {history.tol:g} "
                "(scikit-learn's rule)")
    if math.isnan(ahead):  # fewer than two iterations: nothing to extrapolate from
        return "one iteration is too few to extrapolate how much more EM would gain"
    if not math.isfinite(ahead):
        return "the gains are not shrinking yet, so no end of the climb is in sight"
    return (f"extrapolating the last iterations, more EM would still gain about "
            f"{_gain_words(ahead)}, more than the tolerance {history.tol:g}")


def stop_message(history: EMHistory) -> str:
    """One or two sentences saying how the run ended and what to do about it.

    Three endings, each said plainly: converged (and what that means), stopped at the
    iteration limit while still climbing or while held at a saddle, or a collapse.
    """
    if history.stop_reason == "converged":
        if history.rule == "loglik_change":
            why = (
                f"the log-likelihood per point changed by less than {history.tol:g} "
                "(scikit-learn's rule, which can also stop on a plateau)"
            )
        else:
            why = (
                "extrapolating the last iterations, more EM would raise the log-likelihood "
                f"by less than {history.tol:g}"
            )
        return (
            f"Converged after {history.n_iter} iteration(s): {why}. This is a local "
            "maximum; another start may find a higher one. Press Back or drag the history "
            "slider to replay it."
        )
    if history.stop_reason == "max_iter":
        if history.twins is not None:
            i, j = (c + 1 for c in history.twins)
            return (
                f"Not converged: stopped at the iteration limit ({history.n_iter}) with "
                f"components {i} and {j} on top of each other. That is a saddle point, not "
                "a maximum: EM leaves it only slowly. Raise 'Maximum iterations' in the "
                "sidebar, or start from another initialisation or seed."
            )
        if history.n_iter == 0:
            return "No iterations were run (the limit is 0): raise 'Maximum iterations'."
        if _fell(history):
            return (
                f"Not converged: stopped at the iteration limit ({history.n_iter}). The last "
                f"iteration lowered the log-likelihood by {_gain_words(-history.last_gain)}: "
                "the small reg_covar added to every covariance (or rounding) can do that "
                "near a maximum. Raise 'Maximum iterations' to see whether it settles, or "
                "lower reg_covar."
            )
        return (
            f"Not converged: stopped at the iteration limit ({history.n_iter}) while still "
            f"climbing. The last iteration gained {_gain_words(history.last_gain)}, and "
            f"{_ahead_words(history)}. Raise 'Maximum iterations' in the sidebar to let EM "
            "go on."
        )
    if history.stop_reason == "stopped":
        return still_computing(history)
    if history.collapse is not None:
        return history.collapse.message
    return "EM stopped."  # pragma: no cover - every stop reason is handled above


def still_computing(history: EMHistory, max_iter: int | None = None,
                    budget_s: float | None = None) -> str:
    """What to say when a button would go past the part of a run computed so far.

    A run is computed as far as it is shown (issue 10); when one press's time budget ends
    before the run does, the page says so and how to go on.
    """
    limit = f" of at most {max_iter:,}" if max_iter else ""
    budget = (f" (one press computes for at most {budget_s:g} s)"
              if budget_s is not None else "")
    # Said when this press's share of work has ended: the server is not computing any more,
    # so the words ask for another press rather than for waiting.
    return (
        f"Not finished yet: EM has run {history.n_iter:,} iteration(s){limit} of this run so far "
        f"and has not stopped{budget}. Press again to compute more."
    )


def computed_so_far(history: EMHistory, max_iter: int) -> str:
    """A one-line caption for a run whose end is not computed yet (what the slider covers);
    :data:`COMPUTED_SO_FAR_HELP` says how to go on. One line: in presenter view at 1280x800
    the side panel has no height to spare."""
    return f"Computed so far: {history.n_iter:,} of at most {max_iter:,} iterations"


COMPUTED_SO_FAR_HELP = (
    "EM has not stopped yet: the server computes a run as far as it is shown. Stepping on, "
    "dragging the slider to its end or 'Run to convergence' computes more."
)


def _ll_delta(history: EMHistory, cursor: int) -> float | None:
    """Change of the log-likelihood made by the M-step shown at ``cursor`` (None elsewhere)."""
    steps = history.steps
    if steps[cursor].phase != "M":
        return None
    delta = steps[cursor].log_likelihood - steps[cursor - 1].log_likelihood
    return delta if math.isfinite(delta) else None


def _at_limit_words(history: EMHistory) -> str:
    """The status line's words for a run stopped at the iteration limit."""
    if history.twins is not None:
        i, j = (c + 1 for c in history.twins)
        return f"not converged: at a saddle (components {i} and {j} coincide)"
    if _fell(history):
        return ("not converged: iteration limit reached (the last iteration lost "
                f"{_gain_words(-history.last_gain)})")
    if math.isfinite(history.expected_gain) and history.rule != "loglik_change":
        return ("not converged: iteration limit reached while still climbing "
                f"(about {_gain_words(history.expected_gain)} more to gain)")
    return "not converged: iteration limit reached while still climbing"


def status_line(history: EMHistory, cursor: int) -> str:
    """Where we are in the run, as one line for the page.

    E.g. ``Iteration 3 · after M-step · next: E-step · log-likelihood −1130.26 (+0.84)``;
    after an E-step the log-likelihood is that of the same parameters, "unchanged".

    Parameters
    ----------
    history : EMHistory
        The run.
    cursor : int
        Index of the shown half-step, ``0 <= cursor < len(history.steps)``.
    """
    step = history.steps[cursor]
    # A run still being computed ("stopped" before its end) goes on after its last half-step.
    last = cursor == len(history.steps) - 1 and history.stop_reason != "stopped"
    if step.phase == "init":
        where = "Start (iteration 0)"
    else:
        where = f"Iteration {step.iteration}"
    if last:
        follow = {
            "converged": "converged",
            "max_iter": _at_limit_words(history),
            "collapse": "stopped: "
            + (
                f"component {history.collapse.component + 1} collapsed"
                if history.collapse is not None
                else "a component collapsed"
            ),
        }[history.stop_reason]
    else:
        follow = "next: " + ("M-step" if step.phase == "E" else "E-step")
    ll = step.log_likelihood
    if math.isfinite(ll):
        ll_text = f"log-likelihood {fmt_fixed(ll)}"
        delta = _ll_delta(history, cursor)
        if step.phase == "E":
            # The E-step changes responsibilities, not the parameters the likelihood is of.
            ll_text += " (unchanged by the E-step)"
        elif delta is not None:  # an M-step: what it gained
            ll_text += f" ({fmt_signed(delta)})"
    else:
        ll_text = "log-likelihood undefined (a component has collapsed)"
    return " \u00b7 ".join([where, _PHASE_WORDS[step.phase], follow, ll_text])
