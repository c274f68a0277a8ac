"""gmm_app.lazy, and what a stepper page imports before its first element (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gmm_app.lazy import LazyModule

REPO = Path(__file__).resolve().parents[1]


def test_lazy_module_reads_the_real_module_and_keeps_what_it_read() -> None:
    lazy = LazyModule("json")
    assert lazy.dumps is json.dumps
    assert lazy.loads('{"a": [1, 2]}') == {"a": [1, 2]}
    assert vars(lazy)["dumps"] is json.dumps  # later reads are plain attribute reads
    assert "json" in repr(lazy)


def test_a_stepper_page_sends_its_preload_before_numpy_and_never_imports_pandas() -> None:
    # A fresh interpreter, as a fresh server's first page: Streamlit loaded, then the page's
    # imports in the page's order (pages/em-2d.py).
    code = (
        "import sys\n"
        "import streamlit, streamlit.components.v1\n"
        "import gmm_app.live_chart\n"
        "before_preload = sorted(m for m in ('numpy', 'pandas') if m in sys.modules)\n"
        "import gmm_app.routing, gmm_app.stepper\n"
        "print(before_preload, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "[] False", done.stdout + done.stderr
