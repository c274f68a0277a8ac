// A Plotly chart that updates in place: a Streamlit (v1) custom component without a build step.
//
// Protocol (Streamlit's components v1): this frame posts `streamlit:componentReady`; the page
// then posts `streamlit:render` with `args` every time the script sends new arguments (the
// iframe stays: the component has a stable key). Each render draws `args.spec` (a figure as
// Plotly JSON, typed arrays as {dtype, bdata}) with Plotly.react, which diffs against what is
// drawn instead of redrawing from scratch. A click on a point is sent back as the component's
// value, shaped like st.plotly_chart's selection event.
(function () {
  "use strict";

  const div = document.getElementById("chart");
  const toolbar = document.getElementById("export");
  const TOOLBAR_HEIGHT = 30;  // px, as in index.html
  let exportArgs = null;  // {filename, formats, scale} or null: no export buttons
  let lastSpec = null;
  let lastHeight = -1;
  let drawing = false;
  let queued = null;
  let clicks = 0;

  const send = (type, data) => {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  };

  const setHeight = (layoutHeight) => {
    // The figure's own height when it gives one: measuring would force a layout per draw.
    const height = (typeof layoutHeight === "number" ? Math.ceil(layoutHeight)
      : Math.ceil(div.getBoundingClientRect().height)) + (exportArgs ? TOOLBAR_HEIGHT : 0);
    if (height !== lastHeight) {
      lastHeight = height;
      send("streamlit:setFrameHeight", { height: height });
    }
  };

  // Per-point colours travel packed: {"packed_rgb": base64 of N*3 bytes, "case": "upper" if the
  // hex digits were upper case}; Plotly wants "#rrggbb" strings.
  const HEX = [];
  for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));
  const HEX_UPPER = HEX.map((h) => h.toUpperCase());
  const unpackRgb = (packed, upper) => {
    const HEX_ = upper ? HEX_UPPER : HEX;
    const raw = atob(packed);
    const n = raw.length / 3;
    const out = new Array(n);
    for (let i = 0, j = 0; i < n; i++, j += 3) {
      out[i] = "#" + HEX_[raw.charCodeAt(j)] + HEX_[raw.charCodeAt(j + 1)] +
        HEX_[raw.charCodeAt(j + 2)];
    }
    return out;
  };
  // Base64 typed arrays ({dtype, bdata[, shape]}, as Plotly writes them) decoded here, so that
  // an array whose bytes did not change keeps the SAME object from one figure to the next:
  // Plotly.react compares data arrays by reference, and an unchanged reference spares it the
  // recalculation and redraw of every point (an E-step only recolours, an M-step only moves
  // the ellipses).
  const DTYPES = {
    f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
    u2: Uint16Array, i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
  };
  const decodeTyped = (spec) => {
    const Type = DTYPES[spec.dtype];
    if (!Type || spec.shape) return spec;  // left to plotly.js (2-D arrays, rare dtypes)
    const raw = atob(spec.bdata);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return new Type(bytes.buffer);
  };
  let previous = new Map();  // path -> [source string, decoded value] of the last figure
  let current = new Map();
  const reuse = (path, source, decode) => {
    const seen = previous.get(path);
    const value = seen && seen[0] === source ? seen[1] : decode();
    current.set(path, [source, value]);
    return value;
  };
  const decodeArrays = (value, path) => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = decodeArrays(value[i], path + "/" + i);
      return value;
    }
    if (value === null || typeof value !== "object") return value;
    if (typeof value.bdata === "string" && typeof value.dtype === "string") {
      return reuse(path, value.dtype + (value.shape || "") + ":" + value.bdata,
                   () => decodeTyped(value));
    }
    if (typeof value.packed_rgb === "string") {
      return reuse(path, (value.case || "") + ":" + value.packed_rgb,
                   () => unpackRgb(value.packed_rgb, value.case === "upper"));
    }
    for (const key of Object.keys(value)) value[key] = decodeArrays(value[key], path + "/" + key);
    return value;
  };
  const decodeFigure = (spec) => {
    const fig = JSON.parse(spec);
    current = new Map();
    fig.data = decodeArrays(fig.data || [], "");
    previous = current;
    return fig;
  };

  const onClick = (event) => {
    const points = (event.points || []).map((p) => ({
      curve_number: p.curveNumber,
      point_number: p.pointNumber,
      point_index: p.pointIndex === undefined ? p.pointNumber : p.pointIndex,
      x: p.x,
      y: p.y,
    }));
    clicks += 1;
    send("streamlit:setComponentValue", {
      value: { selection: { points: points }, click: clicks },
      dataType: "json",
    });
  };

  // Timings of the last draws (ms since the epoch, comparable across frames), for benchmarks.
  const stats = (window.liveChartStats = []);
  const now = () => performance.timeOrigin + performance.now();

  // Nothing may send the chart or its data anywhere: these win over any config given
  // (plotly.js 4 shows a "Share chart..." button that uploads to Plotly Cloud by default).
  const SAFE_CONFIG = {
    showSendToCloud: false, plotlyServerURL: "", showEditInChartStudio: false,
    showLink: false, linkText: "", displaylogo: false,
  };
  const SENDING_BUTTONS = ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"];
  // WebGL at the screen's own pixel ratio: plotly.js draws WebGL traces at 2x by default,
  // four times the pixels of a projector's or a plain laptop's screen. Without a GPU (software
  // WebGL, as in this app's test machine) the compositor's commit of a 2x canvas held the
  // page's main thread ~120 ms per redraw at N = 2,000 (issue 11).
  const GL_PIXEL_RATIO = Math.min(2, Math.max(1, window.devicePixelRatio || 1));
  const safeConfig = (given) => {
    const config = Object.assign(
      { responsive: false, plotGlPixelRatio: GL_PIXEL_RATIO }, given || {}, SAFE_CONFIG);
    const removed = (config.modeBarButtonsToRemove || []).slice();
    for (const name of SENDING_BUTTONS) if (!removed.includes(name)) removed.push(name);
    config.modeBarButtonsToRemove = removed;
    return config;
  };

  // PNG and SVG of the chart, made here with Plotly.downloadImage (no server, no service).
  const exportChart = (format, button) => {
    if (!exportArgs || !div._fullLayout || typeof Plotly === "undefined") return;
    const layout = div._fullLayout;
    button.disabled = true;
    const scale = format === "png" ? (exportArgs.scale || 1) : 1;
    // The image is drawn by a copy of the chart that takes this chart's config when the call
    // starts: its WebGL layer at the image's own scale (the screen's ratio, GL_PIXEL_RATIO,
    // would blur the points of a 2x PNG), and this chart's ratio back at once.
    const context = div._context || {};
    const ratio = context.plotGlPixelRatio;
    let done;
    try {
      context.plotGlPixelRatio = Math.max(ratio || 1, scale);
      done = Plotly.downloadImage(div, {
        format: format,
        filename: exportArgs.filename || "chart",
        width: layout.width,
        height: layout.height,
        scale: scale,
      });
    } catch (error) {
      done = Promise.reject(error);
    } finally {
      context.plotGlPixelRatio = ratio;
    }
    Promise.resolve(done).catch((error) => {
      console.warn("live_chart: could not make the image", error);
    }).then(() => { button.disabled = false; });
  };
  for (const button of toolbar.querySelectorAll("button[data-format]")) {
    button.addEventListener("click", () => exportChart(button.dataset.format, button));
  }
  const setExport = (args) => {
    exportArgs = args && args.filename ? args : null;
    const formats = exportArgs ? (exportArgs.formats || []) : [];
    toolbar.style.display = exportArgs ? "flex" : "none";
    for (const button of toolbar.querySelectorAll("button[data-format]")) {
      button.style.display = formats.includes(button.dataset.format) ? "" : "none";
    }
  };

  // The presenter view: the chart fills its column and the window's height below its top.
  let fitArgs = null;
  const fitSize = (fit) => {
    const width = Math.floor(document.documentElement.clientWidth || div.clientWidth);
    let top = 0;
    let viewport = 800;
    try {
      top = window.frameElement.getBoundingClientRect().top + window.parent.scrollY;
      viewport = window.parent.innerHeight;
    } catch (error) { /* not framed by the app */ }
    const room = viewport - top - (fit.bottom || 0) - (exportArgs ? TOOLBAR_HEIGHT : 0);
    const height = Math.floor(Math.max(fit.min || 200, Math.min(room, width * (fit.aspect || 1))));
    return { width: width, height: height };
  };
  window.addEventListener("resize", () => {
    if (fitArgs && div._fullLayout && typeof Plotly !== "undefined") {
      const size = fitSize(fitArgs);
      if (size.width !== div._fullLayout.width || size.height !== div._fullLayout.height) {
        Plotly.relayout(div, size).then(() => setHeight(size.height));
      }
    }
  });

  const draw = (args) => {
    const t0 = now();
    const fig = decodeFigure(args.spec);
    fitArgs = args.fit || null;
    if (fitArgs) Object.assign(fig.layout, fitSize(fitArgs));
    const t1 = now();
    const config = safeConfig(args.config);
    const first = !div._fullLayout;
    drawing = true;
    const done = first
      ? Plotly.newPlot(div, fig.data, fig.layout, config)
      : Plotly.react(div, fig.data, fig.layout, config);
    return Promise.resolve(done).then(() => {
      if (first) div.on("plotly_click", onClick);
      setHeight(fig.layout && fig.layout.height);
      stats.push({ received: t0, decoded: t1, drawn: now(), bytes: args.spec.length });
      if (stats.length > 100) stats.shift();
    });
  };

  // plotly.js (4.8 MB) is loaded once the first figure arrives. A chart marked `defer` waits
  // until another live chart on the page has drawn (at most DEFER_MAX_MS), so that on a cold
  // start the main chart does not share the browser's main thread with a side chart's load.
  // (index.html has no <link rel="preload"> for it: that made every chart's iframe fetch the
  // bundle at once, deferred or not, and measured ~0.15 s slower to the first drawn chart.)
  const DEFER_MAX_MS = 3000;
  let plotlyReady = null;
  // No need to wait once another frame of the page has plotly.js (the page's preload frame,
  // see preload_plotly): the compiled code is then cached and this load is cheap.
  const otherChartDrawn = () => {
    try {
      for (let i = 0; i < window.parent.frames.length; i++) {
        const frame = window.parent.frames[i];
        if (frame === window) continue;
        if (frame.liveChartStats && frame.liveChartStats.length) return true;
        if (frame.Plotly && frame.liveChartStats) return true;
      }
    } catch (error) { /* a frame of another origin: not a live chart */ }
    return false;
  };
  // ONE download of plotly.js per page (issue 11). Streamlit serves component files without
  // a freshness lifetime (so every frame fetched the 4.8 MB again) and gzips them on every
  // request (~0.2 s of the server's CPU each, ~1 s per frame measured on a cold start). The
  // first frame that needs plotly.js fetches it once; the page (the top window, which outlives
  // every frame: Streamlit switches pages without reloading it) keeps it as a blob: URL made
  // in its own realm. Every frame then loads the SAME blob: URL, so V8's compilation cache
  // (keyed by source and URL) also spares the later frames the compile. Any failure falls
  // back to the frame's own plotly.min.js.
  //
  // The download is the gzip-compressed copy (plotly.min.js.gz, made once by the server):
  // Streamlit sends it as it is (application/gzip), and the page unpacks it with its
  // DecompressionStream (~1.5 MB on the wire, and no 0.2 s of the server's CPU per page load
  // to gzip the 4.8 MB again); plotly.min.js itself where that fails.
  const PLOTLY_FILE = "plotly.min.js";
  const PLOTLY_GZ_FILE = "plotly.min.js.gz";
  const SHARED_KEY = "__gmmLiveChartPlotly";
  const fetchBlob = (page, file, gzipped) => {
    const url = new URL(file, location.href).href;
    return page.fetch(url).then((response) => {
      if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
      if (!gzipped) return response.blob();
      const plain = response.body.pipeThrough(new page.DecompressionStream("gzip"));
      return new page.Response(plain).blob();
    });
  };
  const sharedPlotlyUrl = () => {
    let page = null;
    try {
      page = window.parent;
      if (!page || page === window || !page.document) return Promise.resolve(PLOTLY_FILE);
    } catch (error) { return Promise.resolve(PLOTLY_FILE); }  // not framed by the app
    let shared = page[SHARED_KEY];
    if (!shared || shared.file !== PLOTLY_FILE || shared.base !== location.pathname) {
      // The page's own fetch, Blob and URL: the download and the URL survive this frame.
      const gzipped = typeof page.DecompressionStream === "function";
      const download = gzipped
        ? fetchBlob(page, PLOTLY_GZ_FILE, true).catch(() => fetchBlob(page, PLOTLY_FILE, false))
        : fetchBlob(page, PLOTLY_FILE, false);
      const promise = download.then((blob) => page.URL.createObjectURL(
        new page.Blob([blob], { type: "text/javascript" })));
      shared = { file: PLOTLY_FILE, base: location.pathname, promise: promise };
      page[SHARED_KEY] = shared;
      promise.catch(() => { if (page[SHARED_KEY] === shared) page[SHARED_KEY] = null; });
    }
    return Promise.resolve(shared.promise).catch(() => PLOTLY_FILE);
  };
  const loadPlotly = (defer) => {
    if (plotlyReady === null) {
      plotlyReady = new Promise((resolve, reject) => {
        const started = performance.now();
        const inject = (src) => {
          const script = document.createElement("script");
          script.src = src;
          script.onload = resolve;
          script.onerror = () => {
            script.remove();
            if (src !== PLOTLY_FILE) inject(PLOTLY_FILE);  // e.g. a blob: URL revoked
            else reject(new Error("plotly.min.js did not load"));
          };
          document.head.appendChild(script);
        };
        const wait = () => {
          if (!defer || otherChartDrawn() || performance.now() - started > DEFER_MAX_MS) {
            sharedPlotlyUrl().then(inject);
          } else setTimeout(wait, 50);
        };
        wait();
      });
    }
    return plotlyReady;
  };

  // A secondary (`defer`) chart already on screen redraws after the page's next paint: a
  // click updates both charts of a stepper in the same frame, and the side chart's redraw
  // (~20-50 ms) would otherwise hold back the paint of the main chart (issue 11).
  const afterPaint = (args) => (args.defer && div._fullLayout
    ? new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))
    : Promise.resolve());

  const render = (args) => {
    if (args && args.preload) {  // the page's hidden early frame: compile plotly.js, draw nothing
      loadPlotly(false).catch((error) => console.warn("live_chart: preload failed", error));
      return;
    }
    // config, export and fit arrive as JSON text (live_chart: a dict argument costs the server
    // ~0.4 ms per chart per click in Streamlit's dataframe detection, issue 10).
    for (const name of ["config", "export", "fit"]) {
      if (args && typeof args[name] === "string") {
        args = Object.assign({}, args, { [name]: JSON.parse(args[name]) });
      }
    }
    if (args) setExport(args.export);
    // The spec arrives as bytes (UTF-8 JSON: Streamlit passes bytes arguments as they are,
    // without JSON-encoding the string a second time); a string is accepted too.
    if (args && args.spec instanceof Uint8Array) {
      args = Object.assign({}, args, { spec: new TextDecoder().decode(args.spec) });
    }
    if (!args || typeof args.spec !== "string" || args.spec === lastSpec) return;
    lastSpec = args.spec;
    // Reserve the chart's height at once: the page does not jump when plotly.js has loaded.
    if (lastHeight < 0 && typeof args.height === "number") setHeight(args.height);
    if (drawing) {  // one draw at a time; only the newest waiting figure is drawn next
      queued = args;
      return;
    }
    const next = () => {
      drawing = false;
      if (queued !== null) {
        const args = queued;
        queued = null;
        drawing = true;
        afterPaint(args).then(() => draw(args)).then(next, fail);
      }
    };
    const fail = (error) => {
      drawing = false;
      queued = null;
      console.error("live_chart: could not draw the figure", error);
    };
    drawing = true;
    loadPlotly(Boolean(args.defer)).then(() => afterPaint(args)).then(() => draw(args))
      .then(next, fail);
  };

  window.addEventListener("message", (event) => {
    const message = event.data;
    if (message && message.type === "streamlit:render") render(message.args);
  });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
