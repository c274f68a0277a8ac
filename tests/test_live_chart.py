"""The live_chart component: its served directory, its frontend, and the figure it sends.

The figure's JSON is checked against independent decoding (base64 + numpy, hand-built
colours), never against the module's own decoder alone.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import pytest

from gmm_app import live_chart

FRONTEND = Path(live_chart.__file__).resolve().parent / "frontend"


def test_component_dir_holds_the_four_files(tmp_path: Path) -> None:
    built = live_chart.component_dir(tmp_path)
    assert sorted(p.name for p in built.iterdir()) == [
        "index.html", "live_chart.js", "plotly.min.js", "plotly.min.js.gz",
    ]
    assert plotly.__version__ in built.name
    for name in ("index.html", "live_chart.js"):
        assert (built / name).read_bytes() == (FRONTEND / name).read_bytes()
    bundle = (built / "plotly.min.js").read_bytes()
    assert bundle == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    # The copy the page downloads: gzip that the standard library reads back to the bundle,
    # and under a third of its size.
    packed = (built / "plotly.min.js.gz").read_bytes()
    assert gzip.decompress(packed) == bundle
    assert len(packed) < len(bundle) / 3
    # Idempotent: a second build returns the same directory and leaves no staging copy.
    assert live_chart.component_dir(tmp_path) == built
    assert [p.name for p in tmp_path.iterdir()] == [built.name]


def test_component_dir_replaces_a_partial_copy(tmp_path: Path) -> None:
    built = live_chart.component_dir(tmp_path)
    (built / "plotly.min.js").unlink()
    (built / "plotly.min.js.gz").unlink()
    rebuilt = live_chart.component_dir(tmp_path)
    assert rebuilt == built
    assert (rebuilt / "plotly.min.js").stat().st_size > 1_000_000
    assert gzip.decompress((rebuilt / "plotly.min.js.gz").read_bytes()) == (
        rebuilt / "plotly.min.js").read_bytes()


@pytest.mark.parametrize("name", ["index.html", "live_chart.js"])
def test_frontend_loads_nothing_from_the_network(name: str) -> None:
    text = (FRONTEND / name).read_text(encoding="utf-8")
    assert not re.search(r"https?://|//cdn|XMLHttpRequest|import\(", text), name
    if name == "index.html":
        assert "fetch(" not in text
        sources = re.findall(r'(?:src|href)="([^"]+)"', text)
        assert sources == ["live_chart.js"]  # which loads the local plotly.min.js itself
    else:
        assert 'const PLOTLY_FILE = "plotly.min.js";' in text
        assert 'const PLOTLY_GZ_FILE = "plotly.min.js.gz";' in text
        # The one fetch: the component's own plotly.min.js (its gzip copy, or itself), once per
        # page (shared by frames).
        assert re.findall(r"\bfetch\(([^)]*)\)", text) == ["url"]
        assert "const url = new URL(file, location.href).href;" in text
        fetched = set(re.findall(r"fetchBlob\(page, (\w+),", text))
        assert fetched == {"PLOTLY_FILE", "PLOTLY_GZ_FILE"}


def test_frontend_speaks_the_component_protocol() -> None:
    js = (FRONTEND / "live_chart.js").read_text(encoding="utf-8")
    for message in ("streamlit:componentReady", "streamlit:render", "streamlit:setFrameHeight",
                    "streamlit:setComponentValue"):
        assert message in js
    assert "isStreamlitMessage: true" in js
    assert "apiVersion: 1" in js
    assert "Plotly.react" in js
    for field in ("curve_number", "point_index", "point_number"):
        assert field in js


def _b64_array(spec: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))


def test_spec_round_trips_arrays_colours_and_layout() -> None:
    rng = np.random.default_rng(0)
    n = 300
    x, y = rng.normal(size=n), rng.normal(size=n)
    rgb = rng.integers(0, 256, size=(n, 3))
    colours = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]
    fig = go.Figure(
        data=[
            {"type": "scatter", "x": x, "y": y, "mode": "markers", "name": "points",
             "marker": {"color": colours, "size": 5}},
            {"type": "scatter", "x": [0.0, None, 1.0], "y": [1.0, None, 2.0], "name": "gap"},
        ],
        layout={"width": 400, "height": 300, "title": {"text": "t"}},
    )
    spec = json.loads(live_chart.figure_spec(fig))
    points = spec["data"][0]
    np.testing.assert_array_equal(_b64_array(points["x"]), x)  # small: full precision
    np.testing.assert_array_equal(_b64_array(points["y"]), y)
    packed = points["marker"]["color"]
    raw = np.frombuffer(base64.b64decode(packed["packed_rgb"]), dtype=np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(raw, rgb)
    assert "case" not in packed
    assert spec["data"][1]["x"] == [0.0, None, 1.0]
    assert spec["layout"]["width"] == 400
    assert spec["layout"]["title"]["text"] == "t"
    assert "uid" not in points
    # The module's decoder restores what was given.
    assert live_chart.decode_spec(live_chart.figure_spec(fig))["data"][0]["marker"]["color"] == (
        colours
    )


def test_upper_case_and_mixed_colours() -> None:
    upper = ["#8C8C8C"] * 100
    packed = live_chart.pack_colours(upper)
    assert packed is not None
    assert packed["case"] == "upper"
    assert live_chart.unpack_colours(packed) == upper
    assert live_chart.pack_colours(["#8C8C8C", "#8c8c8c"] * 50) is None  # mixed case
    assert live_chart.pack_colours(["red"] * 100) is None  # not #rrggbb: sent as is
    fig = go.Figure(data=[{"type": "scatter", "x": list(range(100)), "y": list(range(100)),
                           "marker": {"color": ["red"] * 100}}])
    assert json.loads(live_chart.figure_spec(fig))["data"][0]["marker"]["color"] == ["red"] * 100


def test_large_point_clouds_travel_as_float32() -> None:
    x = np.random.default_rng(1).normal(size=live_chart.FLOAT32_MIN_POINTS)
    fig = go.Figure(data=[{"type": "scattergl", "x": x, "y": x, "mode": "markers"}])
    sent = json.loads(live_chart.figure_spec(fig))["data"][0]["x"]
    assert sent["dtype"] == "f4"
    np.testing.assert_allclose(_b64_array(sent), x, rtol=1e-6)


# --------------------------------------------------------------------------- nothing sent out
REPO = Path(__file__).resolve().parents[1]


def test_safe_config_removes_every_button_that_sends_data() -> None:
    given = {"displaylogo": True, "showSendToCloud": True, "plotlyServerURL": "https://x.test",
             "modeBarButtonsToRemove": ["lasso2d"], "scrollZoom": False}
    config = live_chart.safe_config(given)
    assert config["showSendToCloud"] is False
    assert config["plotlyServerURL"] == ""
    assert config["showEditInChartStudio"] is False
    assert config["showLink"] is False
    assert config["displaylogo"] is False
    assert config["scrollZoom"] is False  # other settings are kept
    removed = config["modeBarButtonsToRemove"]
    assert removed[0] == "lasso2d"
    assert {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"} <= set(removed)
    assert given["showSendToCloud"] is True  # the caller's dict is not changed
    assert live_chart.safe_config(None)["showSendToCloud"] is False


def test_the_bundled_plotly_knows_the_sending_button_and_its_switch() -> None:
    """The names forced off are the ones this plotly.js uses ("Share chart..." uploads the
    chart to Plotly Cloud unless showSendToCloud is false)."""
    bundle = live_chart.plotly_js_path().read_text(encoding="utf-8")
    assert "sendChartToCloud" in bundle
    assert "showSendToCloud" in bundle
    assert "sendChartToCloud" in live_chart.SENDING_BUTTONS


def test_frontend_forces_the_safe_config_and_exports_in_the_browser() -> None:
    js = (FRONTEND / "live_chart.js").read_text(encoding="utf-8")
    for setting in ("showSendToCloud: false", 'plotlyServerURL: ""', "displaylogo: false"):
        assert setting in js
    for name in live_chart.SENDING_BUTTONS:
        assert f'"{name}"' in js
    assert "Plotly.downloadImage" in js  # PNG and SVG are made in the browser
    html = (FRONTEND / "index.html").read_text(encoding="utf-8")
    assert 'data-format="png"' in html
    assert 'data-format="svg"' in html


def test_every_plotly_chart_of_the_app_uses_the_safe_config() -> None:
    """Every st.plotly_chart passes config=safe_config(...), directly or as a module constant
    built with it (live_chart applies it itself)."""
    sources = [*(REPO / "gmm_app").rglob("*.py"), *(REPO / "pages").glob("*.py"), REPO / "app.py"]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"\bst\.plotly_chart\(", text):
            depth, end = 0, call.end() - 1
            for end in range(call.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            args = text[call.start() : end]
            if "config=safe_config(" in args:
                continue
            named = re.search(r"\bconfig=([A-Za-z_][A-Za-z0-9_]*)\b", args)
            assert named is not None, f"{path}: st.plotly_chart without config=safe_config(...)"
            assert re.search(rf"^{named.group(1)}\s*=\s*safe_config\(", text, re.M), (
                f"{path}: {named.group(1)} is not built with safe_config(...)"
            )


def test_export_file_names_are_safe() -> None:
    assert live_chart.export_file_name("em2d-chart") == "em2d-chart"
    assert live_chart.export_file_name("../a b/<c>") == "a-b-c"
