"""Share a view: a "Copy link" button, and the link shown as text and as a QR code.

The link is :func:`gmm_app.state.share_link` of the view shown (the address bar holds the
same). The QR code is drawn here, on the server, by ``segno`` (pure Python), as SVG: no
request leaves the machine. The copy button is a tiny HTML component; its script writes
the link with the Clipboard API, or, where the browser refuses it (plain http on another
machine than localhost), with the older ``execCommand("copy")``.

The stepper draws all of it inside its "Share and download" panel, which is built only while
it is open (issue 10: a click of the stepper then sends one element for it, not nine).
"""

from __future__ import annotations

import functools
import html
import io
import json

import segno
import streamlit as st

from gmm_app import state

COPY_LABEL = "Copy link"
PANEL_LABEL = "Share and download"
COPIED_TEXT = "Copied \u2713"
QR_CACHE_ENTRIES = 64
"""Bound of the QR-code cache: 64 SVGs of a few tens of kB at most (links are short)."""

_COPY_HTML = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; }}
button {{ font: inherit; font-size: 14px; padding: 5px 12px; border-radius: 8px;
  border: 1px solid rgba(49, 51, 63, 0.2); background: #fff; color: rgb(49, 51, 63);
  cursor: pointer; }}
button:hover {{ border-color: #ff4b4b; color: #ff4b4b; }}
span {{ font-size: 13px; color: #21794a; margin-left: 6px; }}
</style></head><body>
<button id="copy" type="button" title="Puts the link to this view on the clipboard">{label}</button>
<span id="done" aria-live="polite"></span>
<script>
const LINK = {link};
const done = document.getElementById("done");
function fallback(link) {{
  const area = document.createElement("textarea");
  area.value = link; document.body.appendChild(area); area.select();
  let ok = false; try {{ ok = document.execCommand("copy"); }} catch (e) {{ ok = false; }}
  area.remove(); return ok;
}}
document.getElementById("copy").addEventListener("click", async () => {{
  let ok = false;
  try {{ await navigator.clipboard.writeText(LINK); ok = true; }}
  catch (e) {{ ok = fallback(LINK); }}
  done.textContent = ok ? {copied} : "Select the link below to copy it.";
}});
</script></body></html>"""


@functools.lru_cache(maxsize=QR_CACHE_ENTRIES)
def qr_svg(text: str, scale: int = 5) -> str:
    """A QR code of ``text`` as an SVG document (error correction M, 4-module quiet zone).

    Parameters
    ----------
    text : str
        What the code holds (a link).
    scale : int
        Pixels per module.

    Returns
    -------
    str
        ``<svg ...>...</svg>``, black on white.
    """
    # Level M restores up to ~15 % of the modules: enough for a projected, photographed code,
    # while keeping the code small enough to read from the back of a lecture room.
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(out, kind="svg", scale=scale, border=4, xmldecl=False, dark="#000",
              light="#fff", title="Link to this view")
    return out.getvalue().decode("utf-8")


def copy_button_html(link: str) -> str:
    """The copy button's document, for ``link``.

    The link is a JavaScript string literal in the document's script: ASCII JSON with
    every ``<`` escaped (``\\u003c``), so that no link can end or comment out the script.
    """
    literal = json.dumps(link).replace("<", "\\u003c")
    return _COPY_HTML.format(label=html.escape(COPY_LABEL), link=literal,
                             copied=json.dumps(COPIED_TEXT))


def copy_button(page: state.PageRef, link: str) -> None:
    """Draw "Copy link" for ``link`` (inside an open panel)."""
    with st.container(key=state.widget_key(page, "share")):
        st.iframe(copy_button_html(link), height=38, width=230)


def link_text(link: str) -> None:
    """Draw the link as text, to read or select."""
    st.caption("The link to this view (data, model, step, display, point, tab):")
    st.code(link, language=None, wrap_lines=True)


def qr_code(link: str) -> None:
    """Draw the link's QR code, large enough to be read from the back of a lecture room."""
    st.image(qr_svg(link), width=200, caption="Scan to open this view.")
