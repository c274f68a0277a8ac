// Keyboard shortcuts: press the Streamlit button bound to a key (see __init__.py).
// The listeners sit on the page around this (same-origin) iframe and on its other
// same-origin iframes; a newer instance of this component replaces an older one's.
(function () {
  "use strict";
  const P = window.parent;
  const doc = P.document;
  const HELP_ID = "gmm-keyboard-help";
  let bindings = {};
  let helpRows = [];

  const send = (type, data) => {
    P.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  };

  const typing = (el) => {
    if (!el) return false;
    const tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") {
      const type = (el.getAttribute("type") || "text").toLowerCase();
      return !["button", "checkbox", "radio", "range", "submit", "reset"].includes(type);
    }
    return Boolean(el.isContentEditable);
  };

  const keyName = (event) => {
    if (event.key === " " || event.code === "Space") return "Space";
    return event.key.length === 1 ? event.key.toLowerCase() : event.key;
  };

  let preferPrimary = [];
  const findButton = (classes, primaryFirst) => {
    const buttons = [];
    for (const name of classes || []) {
      const button = doc.querySelector("." + CSS.escape(name) + " button");
      if (button && !button.disabled) buttons.push(button);
    }
    // "Forward one half-step": the highlighted button (Streamlit's primary kind).
    const primary = primaryFirst
      ? buttons.find((b) => b.getAttribute("data-testid") === "stBaseButton-primary") : null;
    return primary || buttons[0] || null;
  };

  const closeHelp = () => {
    const box = doc.getElementById(HELP_ID);
    if (box) box.remove();
    return Boolean(box);
  };
  const toggleHelp = () => {
    if (closeHelp()) return;
    const box = doc.createElement("div");
    box.id = HELP_ID;
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Keyboard shortcuts");
    box.style.cssText = "position:fixed;inset:0;z-index:1000000;display:flex;" +
      "align-items:center;justify-content:center;background:rgba(0,0,0,0.45);";
    const panel = doc.createElement("div");
    panel.style.cssText = "background:#fff;color:#222;border-radius:10px;padding:24px 32px;" +
      "font:20px 'Source Sans','Liberation Sans',Arial,sans-serif;max-width:90vw;" +
      "box-shadow:0 8px 30px rgba(0,0,0,0.3);";
    const title = doc.createElement("div");
    title.textContent = "Keyboard shortcuts";
    title.style.cssText = "font-weight:700;font-size:24px;margin-bottom:12px;";
    panel.appendChild(title);
    const table = doc.createElement("table");
    table.style.borderCollapse = "collapse";
    for (const [key, what] of helpRows) {
      const row = table.insertRow();
      const k = row.insertCell();
      const kbd = doc.createElement("kbd");
      kbd.textContent = key;
      kbd.style.cssText = "display:inline-block;min-width:1.6em;text-align:center;" +
        "border:1px solid #999;border-radius:5px;padding:1px 8px;background:#f4f4f4;";
      k.appendChild(kbd);
      k.style.padding = "4px 16px 4px 0";
      row.insertCell().textContent = what;
    }
    panel.appendChild(table);
    const hint = doc.createElement("div");
    hint.textContent = "Esc or ? closes this list. Keys do nothing while you type in a box.";
    hint.style.cssText = "margin-top:12px;font-size:16px;color:#555;";
    panel.appendChild(hint);
    box.appendChild(panel);
    box.addEventListener("click", closeHelp);
    doc.body.appendChild(box);
  };

  const onKeyDown = (event) => {
    // This component's frame is gone (another page is shown): the keys are not ours.
    if (!window.frameElement || !window.frameElement.isConnected) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target && event.target.ownerDocument
      ? event.target.ownerDocument.activeElement || event.target : event.target;
    if (typing(target)) return;
    const name = keyName(event);
    if (name === "?") {
      event.preventDefault();
      toggleHelp();
      return;
    }
    if (name === "Escape") {
      if (closeHelp()) event.preventDefault();
      return;
    }
    const classes = bindings[name];
    if (!classes) return;
    // Ours, also when a slider or radio has the focus: it must not move as well.
    event.preventDefault();
    event.stopPropagation();
    if (event.repeat && name === "Space") return;
    const button = findButton(classes, preferPrimary.includes(name));
    if (button) button.click();
  };
  // A focused button would also "click" itself on Space's keyup.
  const onKeyUp = (event) => {
    if (!window.frameElement || !window.frameElement.isConnected) return;
    if (keyName(event) === "Space" && bindings.Space && !typing(event.target)) {
      event.preventDefault();
    }
  };

  // One listener set per page: the newest instance of this component owns it.
  const install = () => {
    const owner = P.__gmmKeyboard;
    if (owner && owner.win !== window) {
      for (const d of owner.docs) {
        try {
          d.removeEventListener("keydown", owner.down, true);
          d.removeEventListener("keyup", owner.up, true);
        } catch (error) { /* a document that is gone */ }
      }
    }
    if (!owner || owner.win !== window) {
      P.__gmmKeyboard = { win: window, docs: [], down: onKeyDown, up: onKeyUp };
    }
    const mine = P.__gmmKeyboard;
    const docs = [doc];
    for (const frame of doc.querySelectorAll("iframe")) {
      try {
        if (frame.contentWindow !== window && frame.contentDocument) {
          docs.push(frame.contentDocument);
        }
      } catch (error) { /* another origin: not ours */ }
    }
    for (const d of docs) {
      if (mine.docs.includes(d)) continue;
      d.addEventListener("keydown", onKeyDown, true);
      d.addEventListener("keyup", onKeyUp, true);
      mine.docs.push(d);
    }
    mine.docs = mine.docs.filter((d) => d.defaultView);
  };

  window.addEventListener("message", (event) => {
    const message = event.data;
    if (!message || message.type !== "streamlit:render") return;
    // One JSON string ("spec"; see keyboard() in __init__.py), or the three separate arguments.
    let args = message.args || {};
    if (typeof args.spec === "string") args = JSON.parse(args.spec);
    bindings = args.bindings || {};
    helpRows = args.help || [];
    preferPrimary = args.prefer_primary || [];
    install();
  });
  setInterval(install, 1000);  // charts drawn later get their own iframes
  send("streamlit:componentReady", { apiVersion: 1 });
  send("streamlit:setFrameHeight", { height: 0 });
})();
