"""A Plotly chart that updates in place when its figure changes.

``st.plotly_chart`` gives its element an identity that includes the figure, so every new
figure remounts the chart: Plotly draws it from scratch (a new WebGL context for large
scatter plots) and Streamlit's chart wrapper reprocesses the whole figure. This package is
a Streamlit (v1) custom component with a stable key instead: a new figure is posted to the
same iframe, which calls ``Plotly.react`` and redraws only what changed.

There is no JavaScript build. The frontend is ``frontend/index.html`` and
``frontend/live_chart.js``; the plotly.js bundle is the one shipped in the installed
``plotly`` Python package (nothing is downloaded, nothing is copied into the repository).
At import the three files are assembled in a cache directory, which Streamlit serves.

The figure travels as one bytes argument, ``spec`` (UTF-8 JSON, which Streamlit passes as a
binary argument instead of re-encoding it inside the JSON of the other arguments): Plotly's
own JSON (numeric arrays as base64 ``{"dtype", "bdata"}`` blocks, which plotly.js decodes),
except that a long list of ``"#rrggbb"`` point colours is packed as
``{"packed_rgb": base64 of N x 3 bytes}``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import inspect
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import plotly
import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

from gmm_app import janitor
from gmm_app.bounded import MIB, BoundedCache

if TYPE_CHECKING:
    import numpy as np
else:  # imported when a figure is first encoded: the preload frame is sent before (issue 11)
    from gmm_app.lazy import numpy as np

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
FRONTEND_FILES = ("index.html", "live_chart.js")
PLOTLY_JS_NAME = "plotly.min.js"
PLOTLY_GZ_NAME = "plotly.min.js.gz"
"""plotly.js compressed once when the directory is built (issue 11): Streamlit serves it as
``application/gzip``, which its HTTP compression leaves as it is, and the page unpacks it
(``DecompressionStream``). Served plain, ``plotly.min.js`` is gzipped again on every request
(4.8 MB, ~0.2 s of the server's CPU per page load, during a cold start's first run)."""
PLOTLY_GZ_LEVEL = 6
PACK_MIN_POINTS = 64
"""Colour lists at least this long are packed (shorter ones are not worth it)."""
FLOAT32_MIN_POINTS = 5_000
"""Float arrays at least this long are sent as float32 (drawn, not read: halves the bytes)."""


def plotly_js_path() -> Path:
    """The plotly.js bundle shipped in the installed ``plotly`` Python package."""
    return Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS_NAME


def component_dir(cache_root: Path | None = None) -> Path:
    """Assemble the component's files in a cache directory and return it.

    The directory name holds the plotly version and a hash of our frontend files, so a new
    version gets a new directory. Building is idempotent and atomic: the files are written to
    a private temporary directory that is then renamed into place (a concurrent builder that
    loses the race discards its copy).

    Parameters
    ----------
    cache_root : Path, optional
        Where to build (default: the system temporary directory).

    Returns
    -------
    Path
        A directory holding ``index.html``, ``live_chart.js``, ``plotly.min.js`` and its
        gzip-compressed copy ``plotly.min.js.gz``.
    """
    root = Path(tempfile.gettempdir()) if cache_root is None else Path(cache_root)
    digest = hashlib.sha256()
    for name in FRONTEND_FILES:
        digest.update((FRONTEND_DIR / name).read_bytes())
    target = root / f"gmm_app_live_chart_{plotly.__version__}_{digest.hexdigest()[:16]}"
    names = (*FRONTEND_FILES, PLOTLY_JS_NAME, PLOTLY_GZ_NAME)
    if all((target / name).is_file() for name in names):
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        for name in FRONTEND_FILES:
            shutil.copyfile(FRONTEND_DIR / name, staging / name)
        bundle = plotly_js_path().read_bytes()
        (staging / PLOTLY_JS_NAME).write_bytes(bundle)
        (staging / PLOTLY_GZ_NAME).write_bytes(
            gzip.compress(bundle, compresslevel=PLOTLY_GZ_LEVEL, mtime=0))
        os.chmod(staging, 0o755)
        try:
            os.rename(staging, target)
        except OSError:  # someone else built it first (or a stale partial copy is there)
            if not all((target / name).is_file() for name in names):
                shutil.rmtree(target, ignore_errors=True)
                os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


# declare_component names the component after its caller's module, found by
# inspect.getmodule, which on its first call walks every loaded module (0.15-0.3 s of the
# first page run of a fresh server, before the preload frame can be sent). The module is known.
inspect.modulesbyfile.setdefault(os.path.normcase(os.path.abspath(__file__)), __name__)
_COMPONENT = components.declare_component("live_chart", path=str(component_dir()))

SPECS = BoundedCache("gmm_app.live_chart.specs", max_bytes=96 * MIB)
"""Figure specs by the caller's ``cache_key`` (see :func:`live_chart`), shared by all
sessions: a class stepping through the same run builds each half-step's chart once."""
janitor.register(SPECS.clear)  # released with the visitors' data when the server is idle

SAFE_CONFIG: dict[str, Any] = {
    "showSendToCloud": False,  # plotly.js 4 shows "Share chart..." (upload to Plotly Cloud)
    "plotlyServerURL": "",  # and posts there: with no URL it has nowhere to send
    "showEditInChartStudio": False,  # older plotly.js spellings of the same buttons
    "showLink": False,
    "linkText": "",
    "displaylogo": False,  # the logo links to plotly.com
}
"""Plotly config forced on every chart (live_chart and any ``st.plotly_chart``): no mode bar
button or link may send the chart or its data anywhere."""
SENDING_BUTTONS: tuple[str, ...] = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")
"""Mode bar buttons that send data out (names across plotly.js versions): always removed."""
EXPORT_FORMATS: tuple[str, ...] = ("png", "svg")
"""Image formats of the export buttons drawn under each chart (made in the browser)."""
EXPORT_SCALE = 2
"""PNG pixels per CSS pixel: crisp on a projector or a slide."""


def safe_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config`` with :data:`SAFE_CONFIG` forced and :data:`SENDING_BUTTONS` removed.

    Use it for every Plotly chart of the app (``live_chart`` applies it itself; pass
    ``config=safe_config(...)`` to any ``st.plotly_chart``).
    """
    out = dict(config or {})
    out.update(SAFE_CONFIG)
    removed = [str(b) for b in out.get("modeBarButtonsToRemove", [])]
    out["modeBarButtonsToRemove"] = removed + [b for b in SENDING_BUTTONS if b not in removed]
    return out


def pack_colours(colours: Sequence[str]) -> dict[str, str] | None:
    """Pack ``"#rrggbb"`` colours as ``{"packed_rgb": base64 of the N x 3 bytes}``.

    Parameters
    ----------
    colours : sequence of str, length N
        Colours, every one of the form ``"#rrggbb"``.

    Returns
    -------
    dict or None
        The packed form (with ``"case": "upper"`` if the hex digits are upper case), or None
        if some entry is not ``"#rrggbb"`` or the case is mixed (then it is sent as is).
    """
    text = "".join(colours)
    if len(text) != 7 * len(colours) or text[::7] != "#" * len(colours):
        return None
    upper = text == text.upper()
    if not upper and text != text.lower():  # mixed case: the packing would not round-trip
        return None
    hex_digits = "".join(text[i + 1 : i + 7] for i in range(0, len(text), 7))
    try:
        raw = bytes.fromhex(hex_digits)
    except ValueError:
        return None
    packed = {"packed_rgb": base64.b64encode(raw).decode("ascii")}
    if upper and any(c in "ABCDEF" for c in hex_digits):
        packed["case"] = "upper"
    return packed


_NIBBLE: list[np.ndarray] = []  # built at first use: numpy is not imported with this module


def _nibbles() -> np.ndarray:
    """Byte -> hex digit value (upper-case digits +16, anything else 255), shape (256,)."""
    if not _NIBBLE:
        table = np.full(256, 255, dtype=np.uint8)
        table[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16)
        table[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16) + 16
        _NIBBLE.append(table)
    return _NIBBLE[0]


def pack_colour_array(colours: np.ndarray) -> dict[str, str] | None:
    """:func:`pack_colours` for a numpy array of ``"#rrggbb"`` strings (dtype ``<U7``).

    Vectorised (no Python loop over the points); None if some entry is not ``"#rrggbb"``
    or the case of the hex digits is mixed.
    """
    if colours.ndim != 1 or colours.dtype != np.dtype("<U7"):
        return None
    codes = np.ascontiguousarray(colours).view(np.uint32).reshape(-1, 7)
    if not (codes[:, 0] == ord("#")).all() or (codes[:, 1:] > 127).any():
        return None
    nibbles = _nibbles()[codes[:, 1:].astype(np.uint8)]  # (N, 6); upper-case digits carry +16
    if (nibbles == 255).any():
        return None
    upper = (nibbles >= 16).any()
    if upper and ((nibbles >= 10) & (nibbles < 16)).any():  # mixed case: would not round-trip
        return None
    nibbles &= 15
    raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    packed = {"packed_rgb": base64.b64encode(raw.tobytes()).decode("ascii")}
    if upper:
        packed["case"] = "upper"
    return packed


def unpack_colours(packed: dict[str, str]) -> list[str]:
    """Inverse of :func:`pack_colours`: the list of ``"#rrggbb"`` strings (length N)."""
    raw = np.frombuffer(base64.b64decode(packed["packed_rgb"]), dtype=np.uint8).reshape(-1, 3)
    form = "#{:02X}{:02X}{:02X}" if packed.get("case") == "upper" else "#{:02x}{:02x}{:02x}"
    return [form.format(*row) for row in raw.tolist()]


def _encode(value: Any) -> Any:
    """A JSON-ready copy of a figure's value: numpy arrays become base64 typed arrays."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U" and value.size >= PACK_MIN_POINTS:
            return pack_colour_array(value) or value.tolist()
        return _typed_array(value)
    if isinstance(value, dict):
        if value.get("dtype") == "f8" and isinstance(value.get("bdata"), str):
            return _narrowed(value)
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if len(value) >= PACK_MIN_POINTS and isinstance(value[0], str):
            return pack_colours(value) or list(value)
        return [_encode(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _narrowed(typed: dict[str, Any]) -> dict[str, Any]:
    """A base64 float64 array (as plotly writes it) as float32 if it is large."""
    if len(typed["bdata"]) < FLOAT32_MIN_POINTS * 32 // 3:  # base64 of 8-byte values
        return typed
    values = np.frombuffer(base64.b64decode(typed["bdata"]), dtype="<f8")
    return {**typed, "dtype": "f4",
            "bdata": base64.b64encode(values.astype("<f4").tobytes()).decode("ascii")}


def _typed_array(array: np.ndarray) -> Any:
    """``{"dtype", "bdata"[, "shape"]}`` as plotly.js reads it, or a list where it cannot."""
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():  # NaN gaps (line breaks): plain lists, None for NaN
            return [_encode(v) for v in array.tolist()] if array.ndim > 1 else [
                None if v != v else v for v in array.tolist()
            ]
        # Large point clouds are drawn, not read: float32 halves the bytes.
        dtype = np.float32 if array.size >= FLOAT32_MIN_POINTS else np.float64
    elif array.dtype.kind in "iu":
        dtype = np.int32 if array.dtype.itemsize > 4 else array.dtype
    else:
        return array.tolist()
    data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    spec: dict[str, Any] = {
        "dtype": {np.float32: "f4", np.float64: "f8"}.get(dtype, data.dtype.str[1:]),
        "bdata": base64.b64encode(data.tobytes()).decode("ascii"),
    }
    if data.ndim > 1:
        spec["shape"] = ", ".join(str(n) for n in data.shape)
    return spec


def figure_spec(fig: go.Figure) -> str:
    """The JSON string sent to the browser for ``fig``.

    Like ``fig.to_json()`` (numeric arrays as base64 typed arrays, which plotly.js decodes),
    but faster on large figures, and smaller: float arrays of at least
    :data:`FLOAT32_MIN_POINTS` values are sent as float32, and every list of at least
    :data:`PACK_MIN_POINTS` ``"#rrggbb"`` colours is packed (see :func:`pack_colours`);
    :func:`decode_spec` reverses the packing.
    """
    # The figure's own data and layout, read without ``to_plotly_json``: that deep-copies
    # every array and list (50,000 colour strings one by one) and base64-encodes arrays we
    # then re-encode; _encode builds new containers and never changes the figure's.
    # (issue 10: ~70 ms of a click at 50,000 points.)
    data = [{key: value for key, value in trace.items() if key != "uid"} for trace in fig._data]
    fig_dict: dict[str, Any] = {"data": data, "layout": fig._layout}
    if fig.frames:
        fig_dict["frames"] = fig.to_plotly_json()["frames"]
    return json.dumps(_encode(fig_dict), separators=(",", ":"), allow_nan=False)


def decode_spec(spec: str) -> dict[str, Any]:
    """The figure dict of a spec from :func:`figure_spec`, with the colours unpacked."""
    fig = json.loads(spec)
    for trace in fig.get("data", []):
        colour = trace.get("marker", {}).get("color")
        if isinstance(colour, dict) and "packed_rgb" in colour:
            trace["marker"]["color"] = unpack_colours(colour)
    return fig


def _spec_and_height(
    fig: go.Figure | Callable[[], go.Figure],
) -> tuple[bytes, str, int | None]:
    """(spec as UTF-8 bytes, a digest of it, the figure's height)."""
    if not isinstance(fig, go.Figure):
        fig = fig()
    height = fig.layout.height
    spec = figure_spec(fig).encode("utf-8")
    digest = hashlib.blake2b(spec, digest_size=12).hexdigest()
    return spec, digest, None if height is None else int(height)


def export_file_name(name: str) -> str:
    """A safe file-name stem (letters, digits, ``.``, ``_``, ``-``; at most 80 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip(".-_")[:80]


def live_chart(
    fig: go.Figure | Callable[[], go.Figure],
    *,
    key: str,
    config: dict[str, Any] | None = None,
    on_select: Callable[[], None] | None = None,
    defer: bool = False,
    export_name: str | None = None,
    fit: dict[str, float] | None = None,
    cache_key: Hashable | None = None,
) -> Any:
    """Draw ``fig``; later calls with the same ``key`` update the drawn chart in place.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure, or a function without arguments returning one
        The figure (its layout should give ``width`` and ``height`` in pixels). A function
        is called only when ``cache_key`` misses the shared cache.
    key : str
        The element's key: keep it stable so the chart is not remounted.
    config : dict, optional
        Plotly config (mode bar buttons, ...).
    on_select : callable, optional
        Called (without arguments) after a click on a point; ``st.session_state[key]`` then holds
        ``{"selection": {"points": [{"curve_number", "point_number", "point_index", "x",
        "y"}]}, "click": n}``, the shape ``st.plotly_chart``'s selection event has.
    defer : bool
        A secondary chart: on a cold start its plotly.js loads only after another live
        chart of the page has drawn, or the page's preload frame (:func:`preload_plotly`)
        has plotly.js, or after 3 s; so the main chart draws first.
    export_name : str, optional
        File name (without extension) of the chart's PNG and SVG, made in the browser by
        the buttons under the chart (default: from ``key``). Empty string: no buttons.
    fit : dict, optional
        Size the chart to the window (the presenter view): as wide as its column and as
        tall as the window leaves below its top, at most ``aspect`` times its width, at
        least ``min`` px, less ``bottom`` px kept free below it. The figure's own width
        and height are then ignored.
    cache_key : hashable, optional
        Everything the figure is made from (e.g. the run, the half-step and the display
        settings): the figure's spec is built once per key and shared by all sessions in
        :data:`SPECS` (issue 10: a click of one of 30 students on the same run then costs
        no figure). The caller guarantees that equal keys give equal figures.

    Returns
    -------
    dict or None
        The last click's value, as above (None before any click).
    """
    if cache_key is None:
        spec, digest, height = _spec_and_height(fig)
    else:
        spec, digest, height = SPECS.get_or_compute(cache_key, lambda: _spec_and_height(fig))
    name = export_file_name(key.replace(".", "-") if export_name is None else export_name)
    export = {"filename": name, "formats": list(EXPORT_FORMATS), "scale": EXPORT_SCALE}
    return _COMPONENT(
        # bytes: Streamlit sends them as a binary argument; a str would be JSON-encoded a
        # second time inside the element's arguments (issue 10: ~7 ms per click at 50,000
        # points, on every session's click, cached spec or not). The page re-posts the
        # arguments to the frame only when their JSON changes: the digest does.
        spec=spec,
        spec_digest=digest,
        height=height,
        # JSON text, not dicts: Streamlit tries each dict argument as a dataframe (~0.4 ms
        # per chart per click, issue 10); the frame parses them.
        config=json.dumps(safe_config(config)),
        export=json.dumps(export) if name else None,
        defer=defer,
        fit=None if fit is None else json.dumps(fit),  # the presenter view's: text too
        key=key,
        default=None,
        on_change=on_select,
    )


def prefetch_spec(cache_key: Hashable, fig: Callable[[], go.Figure]) -> None:
    """Build the spec of ``fig()`` into :data:`SPECS` under ``cache_key`` (if not there yet),
    for a later :func:`live_chart` call with the same ``cache_key``. No ``st`` call: it may run
    outside the script thread."""
    SPECS.get_or_compute(cache_key, lambda: _spec_and_height(fig))


PRELOAD_KEY = "live_chart_preload"
"""Key of the hidden chart frame that loads plotly.js early (:func:`preload_plotly`)."""


def preload_plotly() -> None:
    """Load and compile plotly.js in a hidden chart frame now, before any chart is drawn.

    Call it first thing on a page with live charts. On a cold start the browser is idle while
    the server imports and computes the page, and compiling plotly.js (4.8 MB) takes 1.5-2.5 s
    of its main thread on a busy machine. This frame is an instance of the same component
    (same document address) that draws nothing: the chart frames that load the same file
    later get V8's compiled code from the page's compilation cache (same origin, same base
    address: the cache hits) and their plotly.js takes ~0.1 s. Hidden; a rerun keeps it.
    """
    with st.container(key=PRELOAD_KEY):
        st.html(f"<style>.st-key-{PRELOAD_KEY} {{ display: none; }}</style>")
        _COMPONENT(preload=True, key=f"{PRELOAD_KEY}_frame", default=None)
