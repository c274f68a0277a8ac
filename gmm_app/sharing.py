"""Share a view: a "Copy link" button, and the link shown as text and as a QR code.

The link is :func:`gmm_app.state.share_link` of the view shown (the address bar holds the
same). The QR code is drawn here, on the server, by ``segno`` (pure Python), as SVG: no
request leaves the machine. The copy button is a tiny HTML component; its script writes
the link with the Clipboard API, or, where the browser refuses it (plain http on another
machine than localhost), with the older ``execCommand("copy")``.
"""

from __future__ import annotations

import functools
import html
import io
import json

import segno
import streamlit as st

from gmm_app import state
from gmm_app.keyboard import element_class

COPY_LABEL = "Copy link"
QR_LABEL = "Link and QR code"
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
// The link is read when the button is pressed, from the hidden element beside this frame
// (share_controls): this document never changes, so a click of the stepper does not reload
// the frame (issue 11). Outside the app (no such element): the page's own address.
function currentLink() {{
  try {{
    for (let el = window.frameElement; el; el = el.parentElement) {{
      const holder = el.querySelector("[data-share-link]");
      if (holder) return holder.getAttribute("data-share-link");
    }}
    return window.parent.location.href;
  }} catch (e) {{ return window.location.href; }}
}}
const done = document.getElementById("done");
function fallback(link) {{
  const area = document.createElement("textarea");
  area.value = link; document.body.appendChild(area); area.select();
  let ok = false; try {{ ok = document.execCommand("copy"); }} catch (e) {{ ok = false; }}
  area.remove(); return ok;
}}
document.getElementById("copy").addEventListener("click", async () => {{
  const link = currentLink();
  let ok = false;
  try {{ await navigator.clipboard.writeText(link); ok = true; }}
  catch (e) {{ ok = fallback(link); }}
  done.textContent = ok ? {copied} : "Select the link under 'Link and QR code' to copy it.";
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


def copy_button_html() -> str:
    """The copy button's document (the same on every view: the link is read at the click
    from the element :func:`link_holder_html` draws beside it)."""
    return _COPY_HTML.format(label=html.escape(COPY_LABEL), copied=json.dumps(COPIED_TEXT))


def link_holder_html(link: str) -> str:
    """A hidden element holding ``link`` (an attribute value, HTML-escaped)."""
    return f'<span hidden data-share-link="{html.escape(link, quote=True)}">link</span>'


def share_controls(page: state.PageRef, link: str) -> None:
    """Draw "Copy link" and a "Link and QR code" popover for ``link`` (the view's link)."""
    with st.container(horizontal=True, gap="small", vertical_alignment="center",
                      key=state.widget_key(page, "share")):
        # Our own document, in an iframe that may run it; the link beside it, hidden.
        st.iframe(copy_button_html(), height=38, width=230)
        st.html(link_holder_html(link), width="content")
        holder = state.widget_key(page, "share")
        st.html(f"<style>.{element_class(holder)} [data-testid='stElementContainer']"
                ":has([data-share-link]) { display: none; }</style>")
        # Lazy (on_change="rerun"): the link and its QR code are built only while the popover
        # is open, not on every click of the stepper (issue 10: ~7 % of a click's CPU).
        popover = st.popover(QR_LABEL, icon=":material/qr_code_2:", on_change="rerun",
                             key=state.widget_key(page, "share_qr"))
        if popover.open is not False:
            with popover:
                st.caption("The link to this view (data, model, step, display, point, tab):")
                st.code(link, language=None, wrap_lines=True)
                st.image(qr_svg(link), width=280, caption="Scan to open this view.")

