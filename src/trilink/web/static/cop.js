/* trilink COP map client. Everything comes from this node (same origin): MapLibre from
   /static/vendor, the basemap from /static/basemap, reports from /api. No text from a report
   is ever inserted as HTML (textContent only). */
"use strict";

(function () {
  const CLASS_TEXT = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET"];
  const CLASS_COLOUR = ["#007a33", "#502b85", "#0033a0", "#c8102e", "#ff8c00"];
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const nation = meta("cop-nation");
  const csrf = meta("csrf-token");

  const reports = new Map(); // id -> summary (latest version)
  let lastSeq = 0;
  let source = null;
  let replayEnd = null; // null = live; else a Date: show reports created up to it
  let playing = null;
  let theme = "dark";

  // Read by the browser tests and the benchmark: drawnAt[id] = when a report was first on a
  // painted frame (ms since epoch).
  const state = { events: 0, lastEventAt: null, renderedFeatures: 0, ready: false, drawnAt: {} };
  window.cop = state;

  // ---- styles -------------------------------------------------------------------------
  const THEMES = {
    dark: { sea: "#0b1622", land: "#1b2631", coast: "#52667a", port: "#7d8fa1", zone: "#3d7cb8",
      nodata: "#243140", text: "Light" },
    light: { sea: "#d9e4ec", land: "#f4f1ea", coast: "#7d8b97", port: "#5b6b7a", zone: "#2f6da8",
      nodata: "#b9c6d1", text: "Dark" },
  };
  const KIND_FILL = { maritime: "#35c3d6", missile: "#ff6b3d", sanctions: "#d45cd6", note: "#e0b83a" };
  const OTHER_KIND = "#8fa0b3";
  const KIND_COLOUR = ["match", ["get", "kind_group"],
    ...Object.entries(KIND_FILL).flat(), OTHER_KIND];
  const CLASS_EXPR = ["match", ["get", "level"], 0, CLASS_COLOUR[0], 1, CLASS_COLOUR[1], 2,
    CLASS_COLOUR[2], 3, CLASS_COLOUR[3], 4, CLASS_COLOUR[4], "#888"];

  // Full-view passes MapLibre 5 makes on every frame that a flat chart does not need. In
  // software WebGL each costs like a layer covering the whole view (docs/cop.md, "Rendering
  // cost"): the default sky, drawn even when no style asks for one and out of sight at
  // pitch 0 (maxPitch is 0 here); the stencil reset, drawn as a full-view quad instead of a
  // buffer clear; and each source's tile clipping masks, drawn twice (with and without the
  // globe's tile borders), which on a Mercator map is the same quad twice. The hooks are
  // internal to the bundled MapLibre version (static/vendor/maplibre-gl.VERSION); if a new
  // version moves them the map still draws correctly, only slower, and the browser tests
  // that count a frame's draw calls and compare its pixels fail.
  function flattenRenderer(m) {
    const painter = m.painter;
    const done = { sky: false, stencil: false, masks: false, skipSecondMasks: true };
    if (painter && painter.drawFunctions && typeof painter.drawFunctions.sky === "function") {
      painter.drawFunctions = Object.assign({}, painter.drawFunctions, { sky() {} });
      done.sky = true;
    }
    if (painter && typeof painter.clearStencil === "function" && painter.context &&
        typeof painter.context.clear === "function") {
      painter.clearStencil = function () {
        this.nextStencilID = 1;
        this.currentStencilSource = undefined;
        this.context.clear({ stencil: 0 });
      };
      done.stencil = true;
    }
    if (painter && typeof painter._renderTileMasks === "function") {
      const drawMasks = painter._renderTileMasks;
      const mercator = () => { const p = m.getProjection(); return !p || !p.type || p.type === "mercator"; };
      painter._renderTileMasks = function (ids, tiles, renderToTexture, withBorders) {
        if (!withBorders && done.skipSecondMasks && mercator()) return undefined;
        return drawMasks.call(this, ids, tiles, renderToTexture, withBorders);
      };
      done.masks = true;
    }
    return done;
  }

  function emptyFC() { return { type: "FeatureCollection", features: [] }; }

  // No background layer: the sea is in the basemap image (cop-basemap.js), and the map
  // container's CSS background shows it until that image is drawn. In software WebGL a
  // full-view fill is one of the most costly things a frame can draw (docs/cop.md,
  // "Rendering cost").
  function baseStyle() { return { version: 8, sources: {}, layers: [] }; }

  const map = new maplibregl.Map({
    container: "map",
    style: baseStyle(),
    center: [130, 35],
    zoom: 4,
    minZoom: 2.5,
    // the whole world can be shown (the demo's real AIS is at Suez); the basemap hatches
    // what it has no data for. One copy of the world: the basemap image does not wrap.
    renderWorldCopies: false,
    attributionControl: { compact: true,
      customAttribution: `Natural Earth; NGA World Port Index; zones: ${meta("cop-zone-view")} view of ` +
        "disputed areas, an approximation, not for legal use" },
    fadeDuration: 0,
    // A flat chart: no pitch and no rotation (north up), as on a plotting table; it also
    // lets the renderer skip MapLibre's sky (below).
    maxPitch: 0,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    // no MSAA (MapLibre's default, stated here: multisampling multiplies the fragment work in
    // software WebGL; lines and circles antialias themselves in their shaders)
    canvasContextAttributes: { antialias: false },
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.getContainer().style.backgroundColor = THEMES[theme].sea;
  state.renderer = flattenRenderer(map);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (r.status === 401) { window.location = "/login?expired=1"; throw new Error("logged out"); }
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  async function loadBasemap() {
    // A basemap file that cannot be read leaves its layer empty; the reports still show.
    const part = (url) => getJSON(url).catch((e) => { console.warn(`basemap: ${e.message}`); return emptyFC(); });
    const [land, coast, ports, coverage, zones] = await Promise.all([
      part("/static/basemap/land.geojson"),
      part("/static/basemap/coastline.geojson"),
      part("/static/basemap/ports.geojson"),
      part("/static/basemap/coverage.geojson"),
      meta("cop-zones") === "yes" ? part("/basemap/zones.geojson") : emptyFC(),
    ]);
    // the node serves EEZ limits and territorial seas, in its nation's view
    const zone = (type) => zones.features.filter((f) => f.properties && f.properties.zone_type === type);
    basemapLayer.setData({ land: land.features, coast: coast.features, eez: zone("eez"),
      territorial: zone("territorial_sea"), ports: ports.features, coverage: coverage.features });
  }

  function addLayers() {
    // land, coastline, zones and ports: one image redrawn only when needed (cop-basemap.js)
    map.addLayer(basemapLayer);
    map.addSource("shapes", { type: "geojson", data: emptyFC(), buffer: 16 });
    const polygon = ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false];
    map.addLayer({ id: "polys-fill", type: "fill", source: "shapes", filter: polygon,
      paint: { "fill-color": KIND_COLOUR, "fill-opacity": 0.18 } });
    map.addLayer({ id: "polys-line", type: "line", source: "shapes", filter: polygon,
      paint: { "line-color": CLASS_EXPR, "line-width": 1.5 } });
    map.addLayer({ id: "lines", type: "line", source: "shapes", filter: ["match", ["geometry-type"], ["LineString", "MultiLineString"], true, false],
      paint: { "line-color": KIND_COLOUR, "line-width": 2 } });
    // MIL-STD-2525 symbols of tracks and vessels (cop-symbols.js); icons only, no text, so
    // no glyphs are needed
    map.addSource("symbols", { type: "geojson", data: emptyFC(), buffer: 4 });
    map.addLayer({ id: "symbols", type: "symbol", source: "symbols",
      layout: { "icon-image": ["get", "sidc"], "icon-allow-overlap": true,
        "icon-ignore-placement": true } });
    map.on("styleimagemissing", (e) => window.copSymbols.addImage(map, e.id));
    // points: fill by kind, ring by classification (cop-points.js)
    map.addLayer(pointLayer);
    // a point or symbol wins over the line or area under it
    const SHAPE_LAYERS = ["lines", "polys-fill"];
    const under = (e) => {
      const points = pointLayer.featuresAt(map, e.lngLat);
      if (points.length) return points;
      const symbols = map.queryRenderedFeatures(e.point, { layers: ["symbols"] });
      return symbols.length ? symbols : map.queryRenderedFeatures(e.point, { layers: SHAPE_LAYERS });
    };
    map.on("click", (e) => {
      const f = under(e)[0];
      if (f) openReport(f.properties.id);
    });
    map.on("mousemove", (e) => {
      const here = under(e);
      map.getCanvas().style.cursor = here.length ? "pointer" : "";
      showHoverLabel(here, e.point);
    });
    map.on("mouseout", () => showHoverLabel([], null));
    map.on("movestart", () => showHoverLabel([], null));
  }

  const basemapLayer = window.copCreateBasemapLayer("basemap", THEMES[theme]);
  const pointLayer = window.copCreatePointLayer(
    "points",
    (f) => KIND_FILL[f.properties.kind_group] || OTHER_KIND,
    (f) => CLASS_COLOUR[f.properties.level] || "#888888",
  );

  function applyTheme(t) {
    theme = t;
    const c = THEMES[t];
    document.body.classList.toggle("theme-dark", t === "dark");
    document.body.classList.toggle("theme-light", t === "light");
    document.getElementById("theme-toggle").textContent = c.text;
    map.getContainer().style.backgroundColor = c.sea;
    if (!state.ready) return;
    basemapLayer.setColours(c);
  }

  // ---- filters and time ---------------------------------------------------------------
  function filterParams() {
    const p = new URLSearchParams();
    const kind = document.getElementById("f-kind").value;
    if (kind) p.set("kind", kind);
    const origins = [...document.querySelectorAll(".f-origin:checked")].map((e) => e.value);
    if (origins.length < 3) p.set("origin", origins.join(",") || "NONE");
    const cls = document.getElementById("f-class").value;
    if (cls) p.set("classification", cls);
    const ex = document.getElementById("f-exercise").value;
    if (ex !== "all") p.set("exercise", ex);
    return p;
  }

  function passes(r) {
    const p = filterParams();
    if (p.has("kind") && r.kind !== p.get("kind")) return false;
    if (p.has("origin") && !p.get("origin").split(",").includes(r.origin)) return false;
    if (p.has("classification") && r.classification !== p.get("classification")) return false;
    if (p.get("exercise") === "live" && r.exercise) return false;
    if (p.get("exercise") === "exercise" && !r.exercise) return false;
    if (replayEnd !== null && new Date(r.created) > replayEnd) return false;
    return !r.deleted;
  }

  function windowHours() { return Number(document.getElementById("t-window").value); }

  function sliderToTime() {
    const v = Number(document.getElementById("t-slider").value);
    if (v >= 1000) return null;
    const now = Date.now();
    return new Date(now - windowHours() * 3600e3 * (1 - v / 1000));
  }

  function updateTimeLabel() {
    const label = document.getElementById("t-label");
    label.textContent = replayEnd === null ? "live" : replayEnd.toISOString().slice(0, 19).replace("T", " ") + "Z";
  }

  // ---- rendering ----------------------------------------------------------------------
  function kindGroup(kind) { return kind.split(".")[0]; }

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }

  // Handing over features re-uploads the points or re-tiles the shapes in the worker: skip
  // when the content is unchanged (same features, same versions), so a new vessel position
  // does not re-cut 100 tracks.
  const sinks = {
    points: (feats) => pointLayer.setFeatures(feats),
    symbols: (feats) => map.getSource("symbols").setData({ type: "FeatureCollection", features: feats }),
    shapes: (feats) => map.getSource("shapes").setData({ type: "FeatureCollection", features: feats }),
  };
  const sinkKeys = { points: "", symbols: "", shapes: "" };
  function setIfChanged(id, feats, key) {
    if (sinkKeys[id] === key) return;
    sinkKeys[id] = key;
    sinks[id](feats);
  }

  // A report with a 2525 symbol code draws its position as that symbol; other positions
  // are points. Tracks come with their path so far (a "history" line) from the server.
  function render() {
    const pts = [], syms = [], lines = [], polys = [];
    const keys = { points: [0, 0], symbols: [0, 0], lines: [0, 0], polys: [0, 0] };
    const shown = [];
    for (const r of reports.values()) {
      if (!passes(r)) continue;
      shown.push(r);
      for (const f of r.features) {
        const g = f.geometry.type;
        let id = g === "Point" || g === "MultiPoint" ? "points"
          : g === "LineString" || g === "MultiLineString" ? "lines" : "polys";
        if (id === "points" && r.sidc && f.properties.role === "point" && window.copSymbols.available) id = "symbols";
        ({ points: pts, symbols: syms, lines, polys })[id].push(f);
        keys[id][0] += 1;
        keys[id][1] += r.seq;
      }
    }
    if (state.ready) {
      setIfChanged("points", pts, keys.points.join(":"));
      setIfChanged("symbols", syms, keys.symbols.join(":"));
      setIfChanged("shapes", lines.concat(polys), keys.lines.concat(keys.polys).join(":"));
      const fresh = shown.filter((r) => r.features.length && !(r.id in state.drawnAt)).map((r) => r.id);
      if (fresh.length) {
        map.once("idle", () => { const t = Date.now(); for (const id of fresh) state.drawnAt[id] = t; });
      }
    }
    state.renderedFeatures = pts.length + syms.length + lines.length + polys.length;
    state.renderedSymbols = syms.length;
    state.shown = shown;
    renderList(shown);
    renderLegend(shown);
    updateBanner();
  }

  // The legend: each symbol on screen with what it means ("hostile missile in flight").
  function renderLegend(shown) {
    const legend = document.getElementById("legend");
    const seen = new Map();
    for (const r of shown) if (r.sidc && r.features.length && !seen.has(r.sidc)) seen.set(r.sidc, r.symbol_name || r.kind);
    const key = [...seen.keys()].sort().join(",");
    if (legend.dataset.key === key) return;
    legend.dataset.key = key;
    const frag = document.createDocumentFragment();
    for (const [sidc, name] of [...seen.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1))) {
      const li = el("li");
      li.dataset.sidc = sidc;
      const icon = window.copSymbols.legendIcon(sidc);
      if (icon) li.appendChild(icon);
      li.appendChild(el("span", name));
      frag.appendChild(li);
    }
    if (!window.copSymbols.available && seen.size) {
      frag.appendChild(el("li", "symbol library not installed: run scripts/build-web.sh", "meta"));
    }
    legend.replaceChildren(frag);
    document.getElementById("legend-section").hidden = seen.size === 0;
  }

  // Under the pointer: the feature's full label (the outline colour gives only its
  // classification) and its title; several reports under it are counted.
  function showHoverLabel(features, point) {
    const tip = document.getElementById("hover-label");
    const ids = [...new Set(features.map((f) => f.properties.id))];
    if (!ids.length) { tip.hidden = true; return; }
    const p = features[0].properties;
    tip.replaceChildren(labelChip(p), el("span", ` ${p.title || p.kind}`));
    if (ids.length > 1) tip.appendChild(el("span", ` (+${ids.length - 1} more)`, "more"));
    tip.style.left = `${Math.round(point.x + 12)}px`;
    tip.style.top = `${Math.round(point.y + 12)}px`;
    tip.hidden = false;
  }

  function labelChip(r) {
    const s = document.createElement("span");
    s.className = `lab level-${r.level}`;
    s.textContent = r.label;
    return s;
  }

  const LIST_MAX = 300; // list entries drawn; more makes every update slow to lay out
  // Tracks update every few seconds: they are on the map, and in the list only when the
  // "Tracks" box is ticked, so notes, warnings, hits and events stay in view.
  function renderList(all) {
    const list = document.getElementById("report-list");
    const withTracks = document.getElementById("f-tracks").checked;
    const shown = withTracks ? all : all.filter((r) => !r.is_track);
    const hiddenTracks = all.length - shown.length;
    const items = shown.slice().sort((a, b) => b.seq - a.seq).slice(0, LIST_MAX);
    const frag = document.createDocumentFragment();
    for (const r of items) {
      const li = document.createElement("li");
      li.dataset.id = r.id;
      li.className = "report-item";
      li.appendChild(labelChip(r));
      const t = document.createElement("span");
      t.className = "title";
      t.textContent = r.title;
      li.appendChild(t);
      const m = document.createElement("div");
      m.className = "meta";
      m.textContent = `${r.kind} · ${r.origin} · v${r.version} · ${r.created.slice(0, 19).replace("T", " ")}Z` +
        (r.ended ? ` · ${r.status}: off the map` : r.features.length ? "" : " · no position");
      if (r.ended) li.classList.add("ended");
      li.appendChild(m);
      li.addEventListener("click", () => { bringIntoView(r); openReport(r.id); });
      frag.appendChild(li);
    }
    if (shown.length > items.length) {
      frag.appendChild(el("li", `Newest ${items.length} of ${shown.length} listed: filter by kind, ` +
        "origin, class or time to find the others (the map shows them all).", "list-more"));
    }
    if (hiddenTracks) {
      frag.appendChild(el("li", `${hiddenTracks} track${hiddenTracks > 1 ? "s" : ""} on the map; tick Tracks to list them.`, "list-more tracks-hidden"));
    }
    list.replaceChildren(frag);
    document.getElementById("count").textContent = String(shown.length);
  }

  // Whether test([lon, lat]) holds for any position of a report's features (stops at the
  // first that does).
  function anyPosition(r, test) {
    const walk = (c) => (typeof c[0] === "number" ? test(c) : c.some(walk));
    return r.features.some((f) => walk(f.geometry.coordinates));
  }

  // The banner covers what is on screen: reports with a feature in the current view plus
  // the listed reports without a position (they are on screen in the list).
  function onScreen() {
    const shown = state.shown || [];
    if (!state.ready) return shown;
    const b = map.getBounds();
    return shown.filter((r) => !r.features.length || anyPosition(r, (c) => b.contains(c)));
  }

  // The overall marking, as trilink.interop.marking computes it for exports: the most
  // restrictive combination; live and exercise content named apart; no REL TO naming only
  // this nation. A browser test compares the two.
  const nationOrder = (a, b) => (a === "USA" ? -1 : b === "USA" ? 1 : a < b ? -1 : a > b ? 1 : 0);
  function combined(labels) {
    let level = 0, noforn = false, rel = null;
    const caveats = new Set();
    for (const r of labels) {
      level = Math.max(level, r.level);
      const parts = r.label.split("//");
      const relPart = parts.find((p) => p.startsWith("REL TO "));
      const nations = new Set(relPart ? relPart.slice(7).split(", ") : []);
      rel = rel === null ? nations : new Set([...rel].filter((n) => nations.has(n)));
      for (const p of parts) {
        if (p === "NOFORN") noforn = true;
        for (const c of p.split("/")) if (c === "ORCON") caveats.add(c);
      }
    }
    const out = [CLASS_TEXT[level]];
    if (noforn) out.push("NOFORN");
    else {
      if (rel && rel.size && !(rel.size === 1 && rel.has(nation))) out.push("REL TO " + [...rel].sort(nationOrder).join(", "));
      if (caveats.size) out.push([...caveats].sort().join("/"));
    }
    return { level, text: out.join("//") };
  }

  function overall(list) {
    if (!list.length) return { level: 0, text: "UNCLASSIFIED" };
    // Thousands of reports on screen share a handful of labels, and the banner is recomputed
    // after every camera move: read each distinct label once.
    const distinct = new Map();
    for (const r of list) distinct.set(`${r.level}|${r.exercise ? 1 : 0}|${r.label}`, r);
    const all = [...distinct.values()];
    const live = all.filter((r) => !r.exercise);
    const drill = all.filter((r) => r.exercise);
    const head = combined(all);
    if (!live.length) return { level: head.level, text: "EXERCISE//" + combined(drill).text };
    if (!drill.length) return head;
    return { level: head.level, text: `${head.text} (LIVE ${combined(live).text} + EXERCISE//${combined(drill).text})` };
  }

  function updateBanner() {
    const o = overall(onScreen());
    for (const id of ["banner-top", "banner-bottom"]) {
      const el = document.getElementById(id);
      const cls = `banner level-${o.level}`;
      // unchanged text is not rewritten: a rewrite relays out the page on every pan
      if (el.textContent !== o.text) el.textContent = o.text;
      if (el.className !== cls) el.className = cls;
    }
    state.banner = o;
  }

  // ---- report panel -------------------------------------------------------------------
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function chainList(items) {
    const ul = el("ul");
    for (const s of items) {
      const li = el("li", s.held ? `${s.kind} from ${s.origin} v${s.version} · ${s.label} · ${s.id}` : `${s.id} (not held by this node)`);
      if (s.held) li.addEventListener("click", (e) => { e.stopPropagation(); openReport(s.id); });
      if (s.sources && s.sources.length) li.appendChild(chainList(s.sources));
      ul.appendChild(li);
    }
    return ul;
  }

  // A report picked in the list is brought into view if any of it is off screen, without
  // zooming in past zoom 6 for it (the panel opens either way).
  function bringIntoView(r) {
    const view = map.getBounds();
    if (!anyPosition(r, (c) => !view.contains(c))) return; // all in view, or no position
    const bounds = new maplibregl.LngLatBounds();
    anyPosition(r, (c) => { bounds.extend(c); return false; });
    map.fitBounds(bounds, { padding: 60, maxZoom: Math.max(map.getZoom(), 6) });
  }

  async function openReport(id) {
    const panel = document.getElementById("panel");
    const body = document.getElementById("panel-body");
    let d;
    try { d = await getJSON(`/api/reports/${encodeURIComponent(id)}`); }
    catch (e) { body.replaceChildren(el("p", `Report ${id} is not available on this node.`)); panel.hidden = false; return; }
    const frag = document.createDocumentFragment();
    const head = el("h3");
    head.appendChild(labelChip({ level: CLASS_TEXT.indexOf(d.classification), label: d.label }));
    head.appendChild(el("span", d.title || d.kind));
    frag.appendChild(head);
    const dl = el("dl");
    const row = (k, v, cls) => { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v, cls)); };
    row("Label", d.label);
    row("Origin nation", d.origin);
    row("Kind", d.kind);
    row("Report id", d.id);
    row("Version", `${d.version}${d.deleted ? " (deleted)" : ""}`);
    row("Created", d.created);
    row("Received from", d.received_from || "published here");
    row("Signature verified", d.signature_verified ? "yes" : "NO", d.signature_verified ? "ok sig" : "bad sig");
    for (const [name, value] of d.facts || []) row(name, typeof value === "object" ? JSON.stringify(value) : value);
    frag.appendChild(dl);
    frag.appendChild(el("h4", "Version history"));
    const vt = el("table");
    const vh = el("tr");
    for (const h of ["v", "observed", "status", "label", "signature"]) vh.appendChild(el("th", h));
    vt.appendChild(vh);
    for (const v of d.versions) {
      const tr = el("tr");
      tr.appendChild(el("td", v.version + (v.tombstone ? " (deleted)" : "")));
      tr.appendChild(el("td", (v.observed || v.created).slice(0, 19)));
      tr.appendChild(el("td", v.status || ""));
      tr.appendChild(el("td", v.label));
      tr.appendChild(el("td", v.signature_verified ? "verified" : "NOT verified", v.signature_verified ? "ok" : "bad"));
      vt.appendChild(tr);
    }
    frag.appendChild(vt);
    frag.appendChild(el("h4", "Derived from"));
    frag.appendChild(d.derived_from.length ? chainList(d.derived_from) : el("p", "original report (no sources)", "meta"));
    if (d.derived_into && d.derived_into.length) {
      // e.g. an indicator's sightings, each nation's under its own label
      frag.appendChild(el("h4", `Derived reports (${d.derived_into.length})`));
      const ul = el("ul");
      for (const p of d.derived_into) {
        const li = el("li", `${p.origin}: ${p.title} · ${p.label}`);
        li.addEventListener("click", (e) => { e.stopPropagation(); openReport(p.id); });
        ul.appendChild(li);
      }
      frag.appendChild(ul);
    }
    frag.appendChild(el("h4", "Payload"));
    frag.appendChild(el("pre", JSON.stringify(d.payload, null, 1)));
    frag.appendChild(el("h4", `Audit (${d.audit.length})`));
    const at = el("table", undefined, "audit");
    for (const a of d.audit) {
      const tr = el("tr");
      tr.appendChild(el("td", a.at.slice(11, 19)));
      tr.appendChild(el("td", `${a.event}/${a.outcome}`));
      tr.appendChild(el("td", a.partner || a.actor));
      tr.appendChild(el("td", a.reason));
      at.appendChild(tr);
    }
    frag.appendChild(at);
    body.replaceChildren(frag);
    panel.hidden = false;
    panel.dataset.id = d.id;
  }

  // ---- data ---------------------------------------------------------------------------
  function take(summary) {
    const known = reports.get(summary.id);
    if (known && known.version > summary.version) return;
    const group = kindGroup(summary.kind);
    for (const f of summary.features) f.properties.kind_group = group;
    // a deleted report, or an older state of a track a newer report now shows, leaves
    if (summary.deleted || summary.superseded) reports.delete(summary.id);
    else reports.set(summary.id, summary);
    lastSeq = Math.max(lastSeq, summary.seq);
    const kinds = document.getElementById("f-kind");
    if (!summary.deleted && !summary.superseded && ![...kinds.options].some((o) => o.value === summary.kind)) {
      const o = el("option", summary.kind);
      o.value = summary.kind;
      kinds.appendChild(o);
    }
  }

  async function loadAll() {
    const data = await getJSON("/api/reports");
    reports.clear();
    for (const r of data.reports) take(r);
    lastSeq = Math.max(lastSeq, data.last_seq);
    scheduleRender();
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/api/stream?after=${lastSeq}`);
    const live = document.getElementById("live-state");
    source.onopen = () => { live.textContent = "live"; live.className = "live-state on"; };
    source.onerror = () => { live.textContent = "reconnecting"; live.className = "live-state off"; };
    source.addEventListener("report", (e) => {
      const summary = JSON.parse(e.data);
      take(summary);
      if (summary.kind.startsWith("crisis.")) window.copCrisis.refresh();
      state.events += 1;
      state.lastEventAt = Date.now();
      scheduleRender();
    });
    source.addEventListener("logout", () => { source.close(); window.location = "/login?expired=1"; });
  }

  function exportHref(ext) {
    const p = filterParams();
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    p.set("bbox", [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
      clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)].map((v) => v.toFixed(4)).join(","));
    if (replayEnd !== null) p.set("until", replayEnd.toISOString());
    return `/api/export.${ext}?${p.toString()}`;
  }

  // ---- wiring -------------------------------------------------------------------------
  document.getElementById("panel-close").addEventListener("click", () => { document.getElementById("panel").hidden = true; });
  for (const id of ["f-kind", "f-class", "f-exercise", "f-tracks"]) document.getElementById(id).addEventListener("change", scheduleRender);
  for (const e of document.querySelectorAll(".f-origin")) e.addEventListener("change", scheduleRender);
  document.getElementById("theme-toggle").addEventListener("click", () => applyTheme(theme === "dark" ? "light" : "dark"));
  for (const ext of ["geojson", "kml", "cot", "geoparquet", "csv"]) {
    document.getElementById(`export-${ext}`).addEventListener("click", (e) => { e.preventDefault(); window.location = exportHref(ext); });
  }
  const slider = document.getElementById("t-slider");
  slider.addEventListener("input", () => { replayEnd = sliderToTime(); updateTimeLabel(); scheduleRender(); });
  document.getElementById("t-window").addEventListener("change", () => { replayEnd = sliderToTime(); updateTimeLabel(); scheduleRender(); });
  document.getElementById("t-play").addEventListener("click", (e) => {
    if (playing) { clearInterval(playing); playing = null; e.target.textContent = "Play"; return; }
    slider.value = "0";
    e.target.textContent = "Stop";
    playing = setInterval(() => {
      slider.value = String(Math.min(1000, Number(slider.value) + 10));
      replayEnd = sliderToTime(); updateTimeLabel(); scheduleRender();
      if (Number(slider.value) >= 1000) { clearInterval(playing); playing = null; e.target.textContent = "Play"; }
    }, 100);
  });
  map.on("moveend", updateBanner);

  const basemapReady = loadBasemap();
  map.on("load", async () => {
    await basemapReady;
    addLayers();
    state.ready = true;
    applyTheme(theme);
    scheduleRender();
    map.once("idle", () => { state.mapIdle = true; });
  });
  // After a lost WebGL context (a GPU reset, a driver update) MapLibre builds a new renderer
  // and restores the style's own layers, but not custom layers: put the basemap and the
  // points back, and make the same changes to the new renderer.
  function restoreAfterContextLoss() {
    state.renderer = flattenRenderer(map);
    if (!state.ready) return; // the "load" handler adds the layers
    // the restored style loads after this event; layers can be added once it has
    map.once("style.load", () => {
      if (!map.getLayer(basemapLayer.id)) map.addLayer(basemapLayer, map.getLayersOrder()[0]);
      if (!map.getLayer(pointLayer.id)) map.addLayer(pointLayer);
      state.contextRestored = (state.contextRestored || 0) + 1;
    });
  }
  map.on("webglcontextrestored", restoreAfterContextLoss);
  loadAll().then(connect).catch((e) => { console.error(e); connect(); });
  window.copCrisis.load().catch((e) => console.error(e));
  // What the point layer drew under (lon, lat), nearest first: the click's hit test, used by
  // the browser tests.
  const pointsAt = (lon, lat) => pointLayer.featuresAt(map, new maplibregl.LngLat(lon, lat)).map((f) => f.properties);
  window.copInternals = { reports, nation, csrf, render, openReport, map, pointsAt, basemapLayer, overall };
})();
