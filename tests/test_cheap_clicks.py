"""Issue 10, cheap clicks: the vectorised colour paths give exactly what the per-point code
gave, and the fast figure spec decodes to the figure plotly itself serialises."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from gmm_app import figures, geometry
from gmm_app.bounded import BoundedCache
from gmm_app.live_chart import decode_spec, figure_spec, pack_colour_array, pack_colours
from gmm_core import GMMParams


def _reference_colours(resp: np.ndarray) -> list[str]:
    """The per-point formula, written independently: responsibilities x palette RGB."""
    palette = geometry.component_colours(resp.shape[1])
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in palette], dtype=float)
    mixed = np.clip(np.rint(resp @ rgb), 0, 255).astype(int)
    return ["#{:02x}{:02x}{:02x}".format(*row) for row in mixed.tolist()]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_blend_colours_array_matches_the_per_point_formula(k: int, n: int, seed: int) -> None:
    resp = np.random.default_rng(seed).dirichlet(np.ones(k), size=n)
    array = geometry.blend_colours_array(resp)
    assert array.dtype == np.dtype("<U7")
    assert array.tolist() == _reference_colours(resp) == geometry.blend_colours(resp)


def test_grey_before_any_e_step() -> None:
    assert geometry.blend_colours_array(None, 5).tolist() == [geometry.UNASSIGNED] * 5


@pytest.mark.parametrize(
    "colours",
    [
        ["#aabbcc", "#001122"] * 40,
        ["#AABBCC", "#001122"] * 40,
        ["#888888"] * 70,
        ["#aAbbcc"] * 70,  # mixed case: not packed
        ["#zzbbcc"] * 70,  # not hex: not packed
        ["rgb(1,2,3"] * 70,
    ],
)
def test_pack_colour_array_agrees_with_pack_colours(colours: list[str]) -> None:
    as_array = np.array(colours)
    expected = pack_colours(colours)
    got = pack_colour_array(as_array) if as_array.dtype == np.dtype("<U7") else None
    assert got == expected


def _params() -> GMMParams:
    return GMMParams(
        weights=np.array([0.4, 0.6]),
        means=np.array([[0.0, 0.0], [3.0, 1.0]]),
        covariances=np.array([np.eye(2), [[2.0, 0.3], [0.3, 1.0]]]),
    )


@pytest.mark.parametrize("n", [50, 6000])
def test_fast_spec_decodes_to_plotlys_own_json(n: int) -> None:
    X = np.random.default_rng(1).normal(size=(n, 2))
    resp = np.random.default_rng(2).dirichlet([1, 1], size=n)
    fig = figures.figure_2d(X, _params(), geometry.blend_colours_array(resp), width=400)
    oracle = json.loads(fig.to_json())
    got = decode_spec(figure_spec(fig))
    for trace_got, trace_ref in zip(got["data"], oracle["data"], strict=True):
        trace_ref.pop("uid", None)
        assert trace_got.keys() == trace_ref.keys()
        colour = trace_ref.get("marker", {}).get("color")
        if isinstance(colour, list) and len(colour) == n:
            assert trace_got["marker"]["color"] == colour
        for axis in ("x", "y"):
            if isinstance(trace_ref.get(axis), dict):  # base64 typed arrays: compare values
                ref = np.frombuffer(
                    __import__("base64").b64decode(trace_ref[axis]["bdata"]),
                    dtype=trace_ref[axis]["dtype"],
                )
                val = np.frombuffer(
                    __import__("base64").b64decode(trace_got[axis]["bdata"]),
                    dtype=trace_got[axis]["dtype"],
                )
                np.testing.assert_allclose(val, ref, rtol=1e-6)
    assert got["layout"] == oracle["layout"]


def test_bounded_cache_evicts_by_entries_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = BoundedCache("gmm_app.engine.responsibilities")
    monkeypatch.setattr(cache, "max_entries", 3)
    monkeypatch.setattr(cache, "max_bytes", 3 * 8_000 + 3 * 112)
    for key in range(5):
        cache.get_or_compute(key, lambda: np.zeros(1000))
    assert len(cache) == 3
    assert cache.size_bytes <= cache.max_bytes
    calls = []
    cache.get_or_compute(0, lambda: calls.append(1) or np.zeros(1000))  # evicted: recomputed
    assert calls == [1]
    big = cache.get_or_compute("big", lambda: np.zeros(100_000))  # larger than the budget
    assert big.size == 100_000
    assert "big" not in cache._items


class _Cells(HTMLParser):
    """Every cell of an HTML table: (text, style attribute), row by row (stdlib parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: list[str] | None = None
        self._style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell, self._style = [], dict(attrs).get("style") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(("".join(self._cell), self._style))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _cells(html_text: str) -> list[list[tuple[str, str]]]:
    parser = _Cells()
    parser.feed(html_text)
    return parser.rows


@pytest.mark.parametrize("with_nk", [True, False])
def test_parameter_table_html_shows_the_tables_cells_on_component_colours(with_nk: bool) -> None:
    params = GMMParams(
        weights=np.array([0.2, 0.3, 0.5]),
        means=np.array([[0.0, -1.5], [3.0, 1.0], [-2.0, 4.0]]),
        covariances=np.array([np.eye(2), [[2.0, -0.3], [-0.3, 1.0]], 0.5 * np.eye(2)]),
    )
    nk = np.array([120.0, 180.0, 300.0]) if with_nk else None
    table = figures.parameter_table(params, nk)
    text = figures.parameter_table_html(table)
    assert text == figures.parameter_table_html(figures.parameter_rows(params, nk))
    assert "\n" not in text  # one Markdown HTML block
    rows = _cells(text)
    assert [cell for cell, _ in rows[0]] == list(table.columns)
    assert [[cell for cell, _ in row] for row in rows[1:]] == table.values.tolist()
    for k, row in enumerate(rows[1:]):
        style = row[0][1]
        assert f"background-color:{geometry.component_colours(3)[k]}" in style
        assert all(not s for _, s in row[1:])  # only the k cell is coloured
    # light palette colours get dark text, dark ones light text (readable swatches)
    palette = geometry.component_colours(3)
    for k, row in enumerate(rows[1:]):
        rgb = [int(palette[k][i : i + 2], 16) for i in (1, 3, 5)]
        dark_text = "color:#000000" in row[0][1]
        assert dark_text == (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 140)


def test_table_html_escapes_cells_and_bolds_the_sum_row() -> None:
    import pandas as pd

    table = pd.DataFrame({"k": ["1", "sum"], "<b>": ["<script>x</script>", "1 & 2"]})
    text = figures.table_html(table, ["#0072B2"], bold_last=True)
    assert "<script>" not in text
    assert "<b>" not in text
    rows = _cells(text)
    assert [c for c, _ in rows[0]] == ["k", "<b>"]
    assert [c for c, _ in rows[1]] == ["1", "<script>x</script>"]
    assert [c for c, _ in rows[2]] == ["sum", "1 & 2"]
    assert all("font-weight:bold" in s for _, s in rows[2])


def _use_upload(text: str, label: str | None) -> AppTest:
    """One session: paste ``text`` on /your-data, pick the label column, use it on /em-2d."""
    from tests.test_app_your_data import ok, open_your_data, paste, selectbox, use_this_data

    at = paste(open_your_data(), text)
    if label is not None:
        ok(selectbox(at, "Label column (optional)").set_value(label).run())
    return use_this_data(at, "EM in 2-D")


def test_a_cached_chart_is_shared_only_by_uploads_with_the_same_drawn_content() -> None:
    """The main chart's spec is shared between sessions on the same run (issue 10), and an
    upload's run is keyed by its numbers only: two uploads with the same numbers but other
    column names and labels must still each draw their own names and label shapes."""
    from tests.test_app_pages import chart

    rng = np.random.default_rng(5)
    xy = rng.normal(size=(120, 2)) + np.repeat([[0.0, 0.0], [4.0, 4.0]], 60, axis=0)
    rows = "\n".join(f"{a:.4f},{b:.4f}" for a, b in xy)
    labels_a = ["p" if i % 2 else "q" for i in range(120)]
    labels_b = ["p" if i < 60 else "q" for i in range(120)]
    text_a = "alpha,beta,tag\n" + "\n".join(
        f"{r},{t}" for r, t in zip(rows.split("\n"), labels_a, strict=True))
    text_b = "gamma,delta,tag\n" + "\n".join(
        f"{r},{t}" for r, t in zip(rows.split("\n"), labels_b, strict=True))
    figs = []
    for text in (text_a, text_b, text_a):
        at = _use_upload(text, "tag")  # label shapes are on by default
        assert at.toggle(key="em2d.shapes").value
        figs.append(chart(at, "em2d.chart"))
    titles = [(f["layout"]["xaxis"]["title"]["text"], f["layout"]["yaxis"]["title"]["text"])
              for f in figs]
    assert titles == [("alpha", "beta"), ("gamma", "delta"), ("alpha", "beta")]
    symbols = [f["data"][figures.TRACE_POINTS]["marker"]["symbol"] for f in figs]
    assert symbols[0] == symbols[2]
    assert symbols[0] != symbols[1]
    assert len(set(symbols[1][:60])) == 1  # b: the first 60 rows share a label
    assert len(set(symbols[0][:2])) == 2  # a: labels alternate


def test_large_buffers_get_their_own_pages_even_after_a_larger_one_was_freed() -> None:
    """Issue 10, memory: glibc's dynamic mmap threshold would put a 300 KiB buffer on the heap
    once an 8 MiB one had been freed; tuned, it still gets pages of its own (returned on free).
    Checked with glibc's own statistics (mallinfo2: bytes in mmapped blocks), in a fresh
    interpreter (a heap with large free blocks would serve the buffer from them)."""
    import platform
    import subprocess
    import sys

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")  # the app runs on Linux (deploy/Containerfile: Debian)
    code = """if True:
        import ctypes
        class MallInfo2(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        import gmm_app.janitor as janitor
        assert janitor.MALLOC_TUNED
        big = bytearray(8 * 1024 * 1024)
        del big  # glibc's default would now raise its threshold to 8 MiB
        before = libc.mallinfo2().hblkhd
        buffer = bytearray(300 * 1024)
        during = libc.mallinfo2().hblkhd
        del buffer
        after = libc.mallinfo2().hblkhd
        print(during - before, after - before)
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1])
    mapped, left = (int(v) for v in out.stdout.split())
    assert mapped >= 300 * 1024  # in pages of its own
    assert left <= 0  # unmapped when freed


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:8501/em-2d?dataset=blobs&K=3",
        "http://h/em-2d?x=</script><script>alert(1)</script>",
        "http://h/em-2d?x=<!--&y=\u202eatad&z=\"'\\",
    ],
)
def test_copy_button_carries_its_link_as_a_safe_literal(link: str) -> None:
    """The copy button's document holds the link as one JavaScript string literal: read back
    with ``json.loads`` it is the link, and nothing in it can end the script element."""
    import re

    from gmm_app.sharing import copy_button_html

    document = copy_button_html(link)
    literal = re.search(r"const LINK = (.*);\n", document)
    assert literal is not None
    assert json.loads(literal.group(1)) == link
    assert "<" not in literal.group(1)
    assert document.count("</script>") == 1


def test_the_share_panel_is_built_only_while_open() -> None:
    """Closed, the stepper's "Share and download" panel sends no link, no copy frame and no
    download button on a click (issue 10); opened, it holds all of them, and its link is the
    page's own view."""
    from tests.test_app_pages import open_page

    at = open_page("pages/em-2d.py")
    at.button(key="em2d.button.E").click().run()
    assert not at.exception
    assert not at.get("download_button")
    assert not at.get("code")
    assert not at.get("iframe")
    at.session_state["em2d.share_panel"] = True
    at.run()
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Parameters (JSON)", "Points and responsibilities (CSV)",
                      "Animation to half-step 1 (GIF)"]
    link = at.get("code")[0].value
    assert link.startswith("/em-2d?")
    assert "step=1" in link
    assert len(at.get("iframe")) == 1  # the copy button
