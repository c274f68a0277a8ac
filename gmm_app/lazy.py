"""Modules imported at their first use (for the stepper pages' cold start, issue 11).

A stepper page imports modules that use pandas only in some functions (downloads, the code
and model panels, uploads); importing pandas with them was 0.4-0.5 s of a fresh server's
first page, before its first chart could be sent. The page's very first element (the frame
that makes the browser compile plotly.js, :func:`gmm_app.live_chart.preload_plotly`) waits
for nothing but :mod:`gmm_app.live_chart`, which reads numpy only when it encodes a figure
(numpy: ~0.2 s). Use::

    from typing import TYPE_CHECKING

    if TYPE_CHECKING:
        import pandas as pd
    else:
        from gmm_app.lazy import pandas as pd
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module ``name`` and imports it at the first attribute read.

    Every attribute read is then kept on this object, so later reads (``pd.NA`` in a loop
    over the points) cost what an ordinary attribute read costs.
    """

    def __init__(self, name: str) -> None:
        self._lazy_name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._lazy_name), attr)
        setattr(self, attr, value)
        return value

    def __repr__(self) -> str:
        return f"<lazily imported module {self._lazy_name!r}>"


pandas = LazyModule("pandas")
numpy = LazyModule("numpy")
