"""What each stepper button does to the half-step cursor, and what it says.

An EM run is a list of half-steps ``init, E, M, E, M, ...``
(:class:`gmm_core.EMHistory`), computed before the cursor reaches them (lazily, as far as
it is shown: ``end_known=False`` while the rest is not computed yet); the buttons only
move a cursor over it. Moving
the cursor is a pure function, so every rule ("an M-step before an E-step does
the E-step first and says so", "E-step twice says the responsibilities are
already current", nothing silently skipped) is tested without Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Action = Literal["E", "M", "iterate", "run", "back", "reset", "play"]
ACTIONS: tuple[str, ...] = ("E", "M", "iterate", "run", "back", "reset", "play")


@dataclass(frozen=True)
class Move:
    """The result of a button press.

    Attributes
    ----------
    cursor : int
        The new half-step index.
    message : str or None
        What to tell the user (``None``: the chart says it all).
    at_end : bool
        True when the new cursor is the run's last half-step.
    """

    cursor: int
    message: str | None = None
    at_end: bool = False


ALREADY_CURRENT = (
    "The responsibilities are already current: the E-step has just been done and the "
    "Gaussians have not moved since. Press M-step to move them."
)
E_FIRST = (
    "An M-step needs responsibilities, so the E-step was done first (recolouring the "
    "points), then the M-step (moving the Gaussians)."
)
AT_START = "Already at the start of the run."
RESET_DONE = "Back to the starting parameters; the run is the same, so you can replay it."


def move(
    action: Action, cursor: int, phases: Sequence[str], stop_message: str,
    *, end_known: bool = True,
) -> Move:
    """Apply a stepper button to the cursor.

    Parameters
    ----------
    action : {"E", "M", "iterate", "run", "back", "reset", "play"}
        The button: E-step, M-step, Iterate (E then M), Run to convergence,
        Back, Reset, or one tick of Play.
    cursor : int
        Current half-step index, ``0 <= cursor < len(phases)``.
    phases : sequence of {"init", "E", "M"}, length S
        The phase of every half-step of the run.
    stop_message : str
        Why the run ends where it does (said when a button would go past it); for a run
        whose end is not computed yet, what to do to compute more.
    end_known : bool, default True
        False while the run is still being computed (issue 10): ``phases`` are the
        half-steps computed so far, and a button that would go past them says
        ``stop_message`` (e.g. "not finished yet … press again") instead of "EM has stopped".

    Returns
    -------
    Move
    """
    last = len(phases) - 1
    cursor = min(max(int(cursor), 0), last)
    ended = f"EM has stopped here. {stop_message}" if end_known else stop_message

    def to(index: int, message: str | None = None) -> Move:
        return Move(index, message, end_known and index == last)

    if action == "back":
        return to(cursor - 1) if cursor > 0 else to(0, AT_START)
    if action == "reset":
        return to(0, RESET_DONE if cursor > 0 else AT_START)
    if action == "run":
        return to(last, stop_message)
    if action == "play":
        return to(cursor + 1) if cursor < last else to(last, stop_message)
    if action == "E":
        if phases[cursor] == "E":
            return to(cursor, ALREADY_CURRENT)
        return to(cursor + 1) if cursor < last else to(cursor, ended)
    if action == "M":
        if phases[cursor] == "E":
            return to(cursor + 1) if cursor < last else to(cursor, f"No M-step. {ended}")
        if cursor + 2 <= last:
            return to(cursor + 2, E_FIRST)
        if cursor + 1 <= last:
            return to(cursor + 1, f"The E-step was done, but not the M-step. {ended}")
        return to(cursor, ended)
    if action == "iterate":
        for index in range(cursor + 1, last + 1):
            if phases[index] == "M":
                return to(index)
        if cursor < last:
            return to(last, f"The E-step was done, but not the M-step. {ended}")
        return to(cursor, ended)
    raise ValueError(f"Unknown action {action!r}; expected one of {', '.join(ACTIONS)}.")
