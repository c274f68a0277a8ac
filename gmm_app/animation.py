"""An animated GIF of an EM run, one frame per half-step, drawn with Pillow on the server.

Why Pillow and not the browser: kaleido (Plotly's server-side renderer) would need a Chrome
download, which this project does not allow; capturing frames in the browser would mean
sending every half-step's whole figure to the page and writing a GIF encoder in JavaScript.
Instead each frame is the figure the stepper draws (built by :mod:`gmm_app.figures`, the
same builders), rasterised here by :func:`render_figure`: bars, lines, stacked areas and
markers of its traces on its own axes. Density contours are not drawn (the frames show the
points, the components and the means). Pillow is already a dependency of Streamlit.

Nothing here calls ``st.*``: figures (plain Plotly JSON) in, PIL images and GIF bytes out.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageColor, ImageDraw, ImageFont

FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
"""Fonts tried in order for the frames' text (Greek letters need a full font); Pillow's
built-in font is the fallback."""

CAPTION_HEIGHT = 30
"""Pixels above the plot for the caption (half-step number and status line)."""
FRAME_MS = 450
"""How long each half-step stays on screen."""
LAST_FRAME_MS = 2500
"""The last frame stays longer, so the loop is readable on a slide."""
BACKGROUND = (255, 255, 255)
AXIS_COLOUR = (136, 136, 136)
GRID_COLOUR = (230, 230, 230)
TEXT_COLOUR = (34, 34, 34)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            try:
                return ImageFont.truetype(candidate, size)
            except OSError:  # not a font Pillow can read: try the next one
                continue
    return ImageFont.load_default(size)


def _rgb(colour: Any, default: tuple[int, int, int] = TEXT_COLOUR) -> tuple[int, int, int]:
    if not isinstance(colour, str):
        return default
    try:
        value = ImageColor.getrgb(colour)
    except ValueError:
        return default
    return (int(value[0]), int(value[1]), int(value[2]))


def _floats(values: Any) -> np.ndarray:
    """A trace's x or y values as float64 (None, NaN and missing become NaN)."""
    if values is None:
        return np.zeros(0)
    if isinstance(values, dict) and isinstance(values.get("bdata"), str):
        # Plotly's typed-array form: {"dtype": "f8", "bdata": base64[, "shape"]}
        raw = base64.b64decode(values["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(values["dtype"])).astype(float).ravel()
    if isinstance(values, np.ndarray):
        return values.astype(float, copy=False).ravel()
    return np.array([np.nan if v is None else v for v in values], dtype=float).ravel()


@dataclass(frozen=True)
class _Axes:
    """Pixel mapping of one subplot: data (x, y) to image (column, row)."""

    x0: float
    x1: float
    y0: float
    y1: float
    left: float
    right: float
    top: float
    bottom: float

    def px(self, x: np.ndarray) -> np.ndarray:
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.right - self.left)

    def py(self, y: np.ndarray) -> np.ndarray:
        return self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)


def _axis_range(axis: dict[str, Any], values: list[np.ndarray]) -> tuple[float, float]:
    given = axis.get("range")
    if given is not None and len(given) == 2 and all(v is not None for v in given):
        lo, hi = float(given[0]), float(given[1])
    else:  # autorange: the traces' extent, padded a little
        finite = [v[np.isfinite(v)] for v in values]
        finite = [v for v in finite if v.size]
        if not finite:
            return 0.0, 1.0
        lo = min(float(v.min()) for v in finite)
        hi = max(float(v.max()) for v in finite)
        pad = 0.05 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi


def _nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """About ``target`` round tick values inside [lo, hi] (steps of 1, 2 or 5 × 10^k)."""
    raw = (hi - lo) / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = math.ceil(lo / step) * step
    ticks = []
    value = start
    while value <= hi + 1e-9 * step and len(ticks) < 50:
        ticks.append(0.0 if abs(value) < 1e-12 * step else value)
        value += step
    return ticks


def _tick_text(value: float) -> str:
    text = f"{value:.4g}"
    return text.replace("-", "\u2212")


def _title(axis: dict[str, Any]) -> str:
    title = axis.get("title")
    text = title.get("text", "") if isinstance(title, dict) else (title or "")
    # Axis titles are HTML-escaped for Plotly (user text): show them as typed.
    return html.unescape(str(text))


def _subplots(fig: dict[str, Any], width: int, height: int, top_offset: int) -> dict[str, _Axes]:
    """The pixel mapping of each (xaxis, yaxis) pair the traces use, e.g. ``"x|y"``."""
    layout = fig.get("layout", {})
    margin = layout.get("margin", {})
    left = margin.get("l", 60)
    right = width - margin.get("r", 16)
    top = top_offset + margin.get("t", 12)
    bottom = height - margin.get("b", 56)
    pairs: dict[str, _Axes] = {}
    for trace in fig.get("data", []):
        xa, ya = trace.get("xaxis", "x"), trace.get("yaxis", "y")
        key = f"{xa}|{ya}"
        if key in pairs:
            continue
        x_axis = layout.get("xaxis" + xa[1:], {})
        y_axis = layout.get("yaxis" + ya[1:], {})
        xs = [_floats(t.get("x")) for t in fig["data"] if t.get("xaxis", "x") == xa]
        ys = [_floats(t.get("y")) for t in fig["data"] if t.get("yaxis", "y") == ya]
        x0, x1 = _axis_range(x_axis, xs)
        y0, y1 = _axis_range(y_axis, ys)
        xd = x_axis.get("domain", [0.0, 1.0])
        yd = y_axis.get("domain", [0.0, 1.0])
        span_x, span_y = right - left, bottom - top
        pairs[key] = _Axes(
            x0, x1, y0, y1,
            left=left + xd[0] * span_x, right=left + xd[1] * span_x,
            top=bottom - yd[1] * span_y, bottom=bottom - yd[0] * span_y,
        )
    return pairs


def _ticks(fig: dict[str, Any], key: str, ax: _Axes) -> tuple[dict, dict, list, list]:
    layout = fig.get("layout", {})
    xa, ya = key.split("|")
    x_axis = layout.get("xaxis" + xa[1:], {})
    y_axis = layout.get("yaxis" + ya[1:], {})
    x_ticks = [v for v in _nice_ticks(ax.x0, ax.x1) if ax.x0 <= v <= ax.x1]
    y_values = y_axis.get("tickvals") or _nice_ticks(ax.y0, ax.y1)
    y_ticks = [float(v) for v in y_values if ax.y0 <= float(v) <= ax.y1]
    return x_axis, y_axis, x_ticks, y_ticks


def _draw_grid(image: Image.Image, fig: dict[str, Any], pairs: dict[str, _Axes]) -> None:
    draw = ImageDraw.Draw(image)
    for key, ax in pairs.items():
        _, _, x_ticks, y_ticks = _ticks(fig, key, ax)
        for v in x_ticks:
            c = float(ax.px(np.array(v)))
            draw.line([(c, ax.top), (c, ax.bottom)], fill=GRID_COLOUR)
        for v in y_ticks:
            r = float(ax.py(np.array(v)))
            draw.line([(ax.left, r), (ax.right, r)], fill=GRID_COLOUR)


def _draw_frames(image: Image.Image, fig: dict[str, Any], pairs: dict[str, _Axes]) -> None:
    """Axis lines, tick labels and axis titles (drawn last, outside the clipped plot areas)."""
    draw = ImageDraw.Draw(image)
    font = _font(13)
    title_font = _font(15)
    for key, ax in pairs.items():
        x_axis, y_axis, x_ticks, y_ticks = _ticks(fig, key, ax)
        if x_axis.get("showticklabels", True):
            for v in x_ticks:
                draw.text((float(ax.px(np.array(v))), ax.bottom + 4), _tick_text(v),
                          fill=TEXT_COLOUR, font=font, anchor="ma")
        if y_axis.get("showticklabels", True):
            for v in y_ticks:
                draw.text((ax.left - 5, float(ax.py(np.array(v)))), _tick_text(v),
                          fill=TEXT_COLOUR, font=font, anchor="rm")
        draw.rectangle([ax.left, ax.top, ax.right, ax.bottom], outline=AXIS_COLOUR)
        x_title, y_title = _title(x_axis), _title(y_axis)
        if x_title:
            draw.text(((ax.left + ax.right) / 2, ax.bottom + 22), x_title, fill=TEXT_COLOUR,
                      font=title_font, anchor="ma")
        if y_title:
            label = Image.new("RGBA", (max(1, int(ax.bottom - ax.top)), 22), (0, 0, 0, 0))
            ImageDraw.Draw(label).text((label.width / 2, 11), y_title, fill=TEXT_COLOUR,
                                       font=title_font, anchor="mm")
            rotated = label.rotate(90, expand=True)
            image.paste(rotated, (int(max(0, ax.left - 58)), int(ax.top)), rotated)


def _fit_caption(draw: ImageDraw.ImageDraw, text: str, width: float) -> tuple[str, Any]:
    """The caption and a font that fits ``width`` px (smaller font, then cut with …)."""
    for size in (15, 14, 13, 12):
        font = _font(size)
        if draw.textlength(text, font=font) <= width:
            return text, font
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026", font


def _polyline_runs(xs: np.ndarray, ys: np.ndarray) -> list[list[tuple[float, float]]]:
    """Consecutive finite points as separate runs (NaN = a gap, as in Plotly)."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if math.isfinite(x) and math.isfinite(y):
            current.append((x, y))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _draw_line(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]],
               colour: tuple[int, int, int], width: int, dash: str) -> None:
    if len(points) < 2:
        return
    if dash in ("dash", "dot", "dashdot", "longdash"):
        on, off = (2.0, 4.0) if dash == "dot" else (9.0, 6.0)
        period = on + off
        travelled = 0.0  # the dash pattern runs on along the whole polyline
        for (xa, ya), (xb, yb) in zip(points[:-1], points[1:], strict=True):
            length = math.hypot(xb - xa, yb - ya)
            if length == 0:
                continue
            s = 0.0
            while s < length:
                phase = (travelled + s) % period
                step = min((on - phase) if phase < on else (period - phase), length - s)
                if phase < on:
                    e = s + step
                    draw.line([(xa + (xb - xa) * s / length, ya + (yb - ya) * s / length),
                               (xa + (xb - xa) * e / length, ya + (yb - ya) * e / length)],
                              fill=colour, width=width)
                s += max(step, 1e-6)
            travelled += length
        return
    draw.line(points, fill=colour, width=width, joint="curve")


def _stamp_points(image: Image.Image, cols: np.ndarray, rows: np.ndarray,
                  colours: np.ndarray, radius: int, opacity: float, clip: _Axes) -> Image.Image:
    """Filled discs of ``radius`` px at (cols, rows), colours (N, 3), vectorised with NumPy."""
    canvas = np.array(image, dtype=np.uint8)  # (H, W, 3), a copy
    h, w = canvas.shape[:2]
    inside = (
        np.isfinite(cols) & np.isfinite(rows)
        & (cols >= clip.left) & (cols <= clip.right) & (rows >= clip.top) & (rows <= clip.bottom)
    )
    order = np.flatnonzero(inside)
    c = np.rint(cols[order]).astype(np.int64)
    r = np.rint(rows[order]).astype(np.int64)
    # Which point covers each pixel: the centres first (a later point wins, as Plotly draws
    # later points on top), then the discs grown by shifting that index image: the work is
    # per pixel and disc offset, not per point (50,000 points cost as little as 500).
    centres = np.full((h, w), -1, dtype=np.int64)
    centres[r, c] = np.arange(order.size)
    cover = np.full((h, w), -1, dtype=np.int64)
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            if dx * dx + dy * dy > radius * radius + radius:
                continue
            shifted = cover[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)]
            source = centres[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
            np.maximum(shifted, source, out=shifted)
    covered = cover >= 0
    rgb = colours[order][cover[covered]].astype(np.float32)
    blended = (1 - opacity) * canvas[covered].astype(np.float32) + opacity * rgb
    canvas[covered] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return Image.fromarray(canvas, "RGB")


def _marker_colours(marker: dict[str, Any], n: int) -> np.ndarray:
    colour = marker.get("color")
    if isinstance(colour, list | tuple | np.ndarray) and len(colour) == n:
        try:
            text = "".join(colour)
        except TypeError:  # not all strings
            text = ""
        if len(text) == 7 * n and text[::7] == "#" * n:  # all "#rrggbb": parse at once
            try:
                digits = "".join(text[i + 1 : i + 7] for i in range(0, len(text), 7))
                return np.frombuffer(bytes.fromhex(digits), dtype=np.uint8).reshape(n, 3)
            except ValueError:
                pass
        cache: dict[str, tuple[int, int, int]] = {}
        out = np.empty((n, 3), dtype=np.uint8)
        for i, c in enumerate(colour):
            if c not in cache:
                cache[c] = _rgb(c)
            out[i] = cache[c]
        return out
    return np.tile(np.array(_rgb(colour), dtype=np.uint8), (n, 1))


def _draw_markers(image: Image.Image, trace: dict[str, Any], ax: _Axes) -> Image.Image:
    xs, ys = _floats(trace.get("x")), _floats(trace.get("y"))
    n = min(xs.size, ys.size)
    if n == 0:
        return image
    marker = trace.get("marker", {})
    cols, rows = ax.px(xs[:n]), ax.py(ys[:n])
    colours = _marker_colours(marker, n)
    size = float(marker.get("size", 6)) if not isinstance(marker.get("size"), list) else 6.0
    symbol = str(marker.get("symbol", "circle"))
    draw = ImageDraw.Draw(image)
    if symbol.startswith("line-ns"):
        half = size / 2
        line_width = int((marker.get("line") or {}).get("width", 2) or 2)
        for i in range(n):
            if math.isfinite(cols[i]) and math.isfinite(rows[i]):
                draw.line([(cols[i], rows[i] - half), (cols[i], rows[i] + half)],
                          fill=tuple(int(v) for v in colours[i]), width=line_width)
        return image
    if symbol in ("circle", "circle-open") and n > 50 and not symbol.endswith("open"):
        radius = max(1, int(round(size / 2)))
        return _stamp_points(image, cols, rows, colours, radius,
                             float(trace.get("marker", {}).get("opacity", 1.0)), ax)
    half = size / 2
    outline = marker.get("line") or {}
    for i in range(n):
        x, y = cols[i], rows[i]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        fill = tuple(int(v) for v in colours[i])
        line = _rgb(outline.get("color"), fill) if outline.get("color") else None
        width = int(outline.get("width", 0) or 0)
        if symbol == "diamond":
            shape = [(x, y - half), (x + half, y), (x, y + half), (x - half, y)]
            draw.polygon(shape, fill=fill, outline=line, width=max(width, 1) if line else 0)
        elif symbol.startswith("x"):
            draw.line([(x - half, y - half), (x + half, y + half)], fill=fill, width=max(width, 3))
            draw.line([(x - half, y + half), (x + half, y - half)], fill=fill, width=max(width, 3))
        elif symbol.endswith("open"):
            draw.ellipse([x - half, y - half, x + half, y + half], outline=fill,
                         width=max(width, 2))
        else:
            draw.ellipse([x - half, y - half, x + half, y + half], fill=fill, outline=line,
                         width=width if line else 0)
    return image


def _draw_text(draw: ImageDraw.ImageDraw, trace: dict[str, Any], ax: _Axes) -> None:
    texts = trace.get("text")
    if not isinstance(texts, list | tuple):
        return
    xs, ys = _floats(trace.get("x")), _floats(trace.get("y"))
    font = _font(int((trace.get("textfont") or {}).get("size", 15)))
    colour = _rgb((trace.get("textfont") or {}).get("color"))
    for x, y, text in zip(ax.px(xs).tolist(), ax.py(ys).tolist(), texts, strict=False):
        if math.isfinite(x) and math.isfinite(y) and text:
            draw.text((x + 8, y - 8), str(text), fill=colour, font=font, anchor="lb")


def _plain(fig: go.Figure) -> dict[str, Any]:
    """The figure's traces and layout as plain dicts, without ``to_plotly_json``'s deep copy
    (seconds for 50,000 colour strings per frame); read-only use."""
    data = getattr(fig, "_data", None)
    layout = getattr(fig, "_layout", None)
    if isinstance(data, list) and isinstance(layout, dict):
        return {"data": data, "layout": layout}
    return fig.to_plotly_json()  # pragma: no cover - another plotly version's internals


def render_figure(fig: go.Figure | dict[str, Any], caption: str = "",
                  size: tuple[int, int] | None = None) -> Image.Image:
    """Rasterise a stepper figure (bars, lines, stacked areas, markers) with Pillow.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure or dict
        A figure from :mod:`gmm_app.figures` (axis ranges in its layout).
    caption : str
        A line of text above the plot.
    size : (width, height), optional
        Pixels of the plot area and its margins (default: the layout's width and height).

    Returns
    -------
    PIL.Image.Image
        RGB, ``width`` x ``height + CAPTION_HEIGHT`` pixels.
    """
    spec = _plain(fig) if isinstance(fig, go.Figure) else fig
    layout = spec.get("layout", {})
    width, height = size or (int(layout.get("width") or 640), int(layout.get("height") or 500))
    total = height + CAPTION_HEIGHT
    image = Image.new("RGB", (width, total), BACKGROUND)
    draw = ImageDraw.Draw(image)
    if caption:
        text, font = _fit_caption(draw, caption, width - 20)
        draw.text((10, CAPTION_HEIGHT // 2 + 2), text, fill=TEXT_COLOUR, font=font, anchor="lm")
    pairs = _subplots(spec, width, total, CAPTION_HEIGHT)
    _draw_grid(image, spec, pairs)
    background = image
    image = background.copy()  # traces are drawn here, then clipped to the plot areas
    stacks: dict[str, np.ndarray] = {}
    for trace in spec.get("data", []):
        if trace.get("visible") is False or trace.get("type") not in ("bar", "scatter",
                                                                        "scattergl"):
            continue  # contours and hidden traces are not drawn
        ax = pairs[f"{trace.get('xaxis', 'x')}|{trace.get('yaxis', 'y')}"]
        xs, ys = _floats(trace.get("x")), _floats(trace.get("y"))
        draw = ImageDraw.Draw(image)
        if trace.get("type") == "bar":
            widths = _floats(trace.get("width"))
            fill = _rgb(trace.get("marker", {}).get("color"), (217, 217, 217))
            edge = _rgb((trace.get("marker", {}).get("line") or {}).get("color"), fill)
            for i in range(min(xs.size, ys.size)):
                w = widths[i] if widths.size > i else 1.0
                x_left, x_right = ax.px(np.array(xs[i] - w / 2)), ax.px(np.array(xs[i] + w / 2))
                top, base = ax.py(np.array(ys[i])), ax.py(np.array(0.0))
                draw.rectangle([float(x_left), float(min(top, base)), float(x_right),
                                float(max(top, base))], fill=fill, outline=edge)
            continue
        mode = str(trace.get("mode", "markers"))
        line = trace.get("line") or {}
        colour = _rgb(line.get("color"))
        if trace.get("stackgroup"):
            group = str(trace["stackgroup"])
            below = stacks.get(group, np.zeros_like(ys))
            above = below + np.nan_to_num(ys)
            stacks[group] = above
            fill = _rgb(trace.get("fillcolor"), colour)
            polygon = list(zip(ax.px(xs).tolist(), ax.py(above).tolist(), strict=True)) + list(
                zip(ax.px(xs[::-1]).tolist(), ax.py(below[::-1]).tolist(), strict=True)
            )
            if len(polygon) >= 3:
                draw.polygon(polygon, fill=fill)
            continue
        if "lines" in mode:
            for run in _polyline_runs(ax.px(xs), ax.py(ys)):
                _draw_line(draw, run, colour, max(1, int(round(float(line.get("width", 2))))),
                           str(line.get("dash", "solid")))
        if "markers" in mode:
            image = _draw_markers(image, trace, ax)
            draw = ImageDraw.Draw(image)
        if "text" in mode:
            _draw_text(draw, trace, ax)
    for ax in pairs.values():  # clip: only what falls inside a plot area is kept
        box = (int(ax.left), int(ax.top), int(ax.right) + 1, int(ax.bottom) + 1)
        background.paste(image.crop(box), box[:2])
    _draw_frames(background, spec, pairs)
    return background


def gif_bytes(frames: Sequence[Image.Image], frame_ms: int = FRAME_MS,
              last_frame_ms: int = LAST_FRAME_MS) -> bytes:
    """The frames as a looping GIF, one GIF frame per image (each should differ from the
    previous one: Pillow merges identical consecutive frames into one)."""
    if not frames:
        raise ValueError("an animation needs at least one frame")
    # One adaptive palette per frame (the blended point colours vary from step to step).
    # Fast octree quantisation: about 10x faster than median cut, and as good on these flat
    # drawings (a few hundred distinct colours at most).
    paletted = [frame.quantize(colors=255, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE) for frame in frames]
    durations = [frame_ms] * (len(paletted) - 1) + [last_frame_ms]
    out = io.BytesIO()
    paletted[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=paletted[1:],
        duration=durations,
        loop=0,
        disposal=1,
        optimize=False,
    )
    return out.getvalue()
