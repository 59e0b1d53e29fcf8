/* trilink COP: the basemap (land, coastline, EEZ limits, territorial seas, ports) drawn once
   with Canvas 2D into an image somewhat larger than the view, and shown in a MapLibre custom
   layer as one textured rectangle.

   Why: panning moves the basemap without changing it. As MapLibre layers, its land fill and
   its four line layers were redrawn tile by tile on every frame; in software WebGL (no GPU,
   what the benchmark machine has) they were 80 ms of the GPU process's work per frame, more
   than everything else on the map together (docs/cop.md, "Rendering cost"). Here a frame
   costs one textured rectangle. The image is redrawn when the view leaves it, when the zoom
   has changed by more than REDRAW_SCALE (while zooming it is stretched in between, as a
   raster map is), once more at the final zoom SETTLE_MS after the camera stops, and when the
   data or the colours change. */
"use strict";

(function () {
  const MARGIN = 0.5; // the image reaches this fraction of the view beyond each edge
  const REDRAW_SCALE = 1.6; // while zooming, redraw once the image is stretched past this
  const SETTLE_MS = 150;
  const MIN_STEP_PX = 0.5;
  const DRAFT_SCALE = 0.5; // while zooming, images at half the resolution: a quarter of the work
  const IMAGE_MAX_PX = 16e6; // 64 MB as RGBA, for the canvas and again for the texture
  const PORTS_FROM_ZOOM = 5;
  // Line styles in CSS px, as the MapLibre layers they replace had them.
  const COAST_WIDTH = 0.8;
  const EEZ = { width: 1, dash: [4, 3], alpha: 0.8 };
  const TERRITORIAL = { width: 0.6, alpha: 0.55 };
  const PORT_RADIUS = 2.5;
  const HATCH_PX = 8;

  function mercator(lon, lat) {
    const c = maplibregl.MercatorCoordinate.fromLngLat([lon, lat]);
    return [c.x, c.y];
  }

  // A run of Web Mercator coordinates (x0, y0, x1, y1, ...) with its bounding box, so a
  // redraw touches only what the image covers.
  function ring(xy) {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < xy.length; i += 2) {
      x0 = Math.min(x0, xy[i]);
      x1 = Math.max(x1, xy[i]);
      y0 = Math.min(y0, xy[i + 1]);
      y1 = Math.max(y1, xy[i + 1]);
    }
    return { xy, box: [x0, y0, x1, y1] };
  }

  /* GeoJSON geometries to rings: each line, polygon ring or point list as one. */
  function ringsOf(features) {
    const rings = [];
    const add = (coords) => {
      if (!coords.length) return;
      const xy = new Float64Array(coords.length * 2);
      coords.forEach((c, i) => {
        [xy[2 * i], xy[2 * i + 1]] = mercator(c[0], c[1]);
      });
      rings.push(ring(xy));
    };
    for (const f of features) {
      const g = f.geometry;
      if (!g) continue;
      if (g.type === "LineString") add(g.coordinates);
      else if (g.type === "MultiLineString" || g.type === "Polygon") g.coordinates.forEach(add);
      else if (g.type === "MultiPolygon") g.coordinates.forEach((p) => p.forEach(add));
      else if (g.type === "Point") add([g.coordinates]);
      else if (g.type === "MultiPoint") add(g.coordinates);
    }
    return rings;
  }

  /* Polygon outlines (rings) as lines, less the segments that lie on the edge of `extent`,
     the box of all the zones together: the zones are cut to the theatre's box, and that box
     is not a limit. */
  function outlines(rings, extent) {
    const onEdge = (xy, i) => (xy[i] === xy[i + 2] && (xy[i] === extent[0] || xy[i] === extent[2])) ||
      (xy[i + 1] === xy[i + 3] && (xy[i + 1] === extent[1] || xy[i + 1] === extent[3]));
    const lines = [];
    for (const r of rings) {
      let start = 0; // index into xy of the current line's first point
      for (let i = 0; i + 2 < r.xy.length; i += 2) {
        if (!onEdge(r.xy, i)) continue;
        if (i > start) lines.push(ring(r.xy.slice(start, i + 2)));
        start = i + 2;
      }
      if (r.xy.length - start >= 4) lines.push(ring(r.xy.slice(start)));
    }
    return lines;
  }

  function extentOf(rings) {
    const all = [Infinity, Infinity, -Infinity, -Infinity];
    for (const r of rings) {
      all[0] = Math.min(all[0], r.box[0]);
      all[1] = Math.min(all[1], r.box[1]);
      all[2] = Math.max(all[2], r.box[2]);
      all[3] = Math.max(all[3], r.box[3]);
    }
    return all;
  }

  const VERTEX = `
    uniform mat4 u_matrix;
    attribute vec2 a_pos;
    attribute vec2 a_uv;
    varying vec2 v_uv;
    void main() {
      gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0);
      v_uv = a_uv;
    }`;
  const FRAGMENT = `
    precision mediump float;
    uniform sampler2D u_image;
    varying vec2 v_uv;
    void main() { gl_FragColor = texture2D(u_image, v_uv); }`;

  /* createBasemapLayer(id, colours) returns a MapLibre custom layer with:
       setData({land, coast, eez, territorial, ports, coverage})  GeoJSON feature lists
                        (coverage: the polygons the basemap has data for)
       setColours({sea, land, coast, zone, port, nodata})  "#rrggbb" each
       stats  images drawn so far and ms each of the last 100 (drawing and upload to WebGL);
              the current image's zoom, device px per CSS px and whether it is a draft
              (drawn while zooming, at DRAFT_SCALE) */
  function createBasemapLayer(id, initialColours) {
    let colours = initialColours;
    let data = { land: [], coast: [], eez: [], territorial: [], ports: [], coverage: [] };
    let stale = true;
    let map = null, gl = null, program = null, buffer = null, texture = null, loc = null;
    let maxTextureSize = 4096;
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { alpha: false });
    // what the image holds: its Web Mercator window, the zoom and device px per CSS px
    let image = null;
    // read by the tests and the benchmark
    const stats = {
      redraws: 0,
      recentMs: [],
      get zoom() { return image && image.z; },
      get ratio() { return image && image.ratio; },
      get draft() { return Boolean(image && image.draft); },
    };

    function view() {
      const z = map.getZoom();
      const c = map.getCenter();
      const [cx, cy] = mercator(c.lng, c.lat);
      const canvasEl = map.getCanvas();
      const perUnit = window.copGL.worldPx(z); // CSS px per Web Mercator unit
      const w = canvasEl.clientWidth || canvasEl.width, h = canvasEl.clientHeight || canvasEl.height;
      return { z, cx, cy, w, h, perUnit,
        box: [cx - w / 2 / perUnit, cy - h / 2 / perUnit, cx + w / 2 / perUnit, cy + h / 2 / perUnit] };
    }

    function covers(img, v) {
      return v.box[0] >= img.box[0] && v.box[1] >= img.box[1] &&
        v.box[2] <= img.box[2] && v.box[3] <= img.box[3];
    }

    // Device px per CSS px of the image: the screen's, unless the image would pass the GPU's
    // texture size or IMAGE_MAX_PX (a 4K screen at pixel ratio 2 gets a ratio-1 basemap
    // rather than a 250 MB image).
    function imageRatio(v) {
      const cssW = v.w * (1 + 2 * MARGIN), cssH = v.h * (1 + 2 * MARGIN);
      return Math.min(map.getPixelRatio(), maxTextureSize / cssW, maxTextureSize / cssH,
        Math.sqrt(IMAGE_MAX_PX / (cssW * cssH)));
    }

    // Diagonal lines in the nodata colour on the sea, HATCH_PX CSS px apart.
    function hatch(ratio) {
      const size = Math.max(2, Math.round(HATCH_PX * ratio));
      const tile = document.createElement("canvas");
      tile.width = tile.height = size;
      const t = tile.getContext("2d");
      t.fillStyle = colours.sea;
      t.fillRect(0, 0, size, size);
      t.strokeStyle = colours.nodata;
      t.lineWidth = ratio;
      t.beginPath();
      for (const d of [-size, 0, size]) { t.moveTo(d, size); t.lineTo(d + size, 0); }
      t.stroke();
      return tile;
    }

    function redraw(v, draft) {
      const t0 = performance.now();
      const cssW = v.w * (1 + 2 * MARGIN), cssH = v.h * (1 + 2 * MARGIN);
      const fullRatio = imageRatio(v);
      const ratio = draft ? fullRatio * DRAFT_SCALE : fullRatio;
      const pw = Math.max(1, Math.round(cssW * ratio)), ph = Math.max(1, Math.round(cssH * ratio));
      if (canvas.width !== pw || canvas.height !== ph) { canvas.width = pw; canvas.height = ph; }
      const k = v.perUnit * ratio; // image px per Web Mercator unit
      // the view's corner on a whole image px, so that at rest each screen px is one texel
      const x0 = v.box[0] - Math.round((pw - v.w * ratio) / 2) / k;
      const y0 = v.box[1] - Math.round((ph - v.h * ratio) / 2) / k;
      const box = [x0, y0, x0 + pw / k, y0 + ph / k];
      const visible = (r) => r.box[2] >= box[0] && r.box[0] <= box[2] && r.box[3] >= box[1] && r.box[1] <= box[3];
      // Vertices closer than MIN_STEP_PX to the last one drawn are skipped: at low zoom most
      // of the 1:10M data's vertices fall within a pixel, and each drawn one costs a call.
      const trace = (rings, close) => {
        ctx.beginPath();
        for (const r of rings) {
          if (!visible(r)) continue;
          const xy = r.xy, n = xy.length;
          let lx = (xy[0] - x0) * k, ly = (xy[1] - y0) * k;
          ctx.moveTo(lx, ly);
          for (let i = 2; i < n; i += 2) {
            const x = (xy[i] - x0) * k, y = (xy[i + 1] - y0) * k;
            if (Math.abs(x - lx) + Math.abs(y - ly) < MIN_STEP_PX && i < n - 2) continue;
            ctx.lineTo(x, y);
            lx = x;
            ly = y;
          }
          if (close) ctx.closePath();
        }
      };
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalAlpha = 1;
      ctx.setLineDash([]);
      // outside the regions the basemap has data for: hatched, not a sea that is not there
      // (the hatch anchored to the map, so it does not jump when the image is redrawn)
      ctx.fillStyle = colours.sea;
      ctx.fillRect(0, 0, pw, ph);
      if (data.coverage.length) {
        const tile = hatch(ratio);
        const pattern = ctx.createPattern(tile, "repeat");
        pattern.setTransform(new DOMMatrix().translate(-((x0 * k) % tile.width), -((y0 * k) % tile.height)));
        trace(data.coverage, true);
        ctx.rect(0, 0, pw, ph); // with even-odd: everything outside the coverage
        ctx.fillStyle = pattern;
        ctx.fill("evenodd");
      }
      trace(data.land, true);
      ctx.fillStyle = colours.land;
      ctx.fill("evenodd");
      trace(data.coast, false);
      ctx.strokeStyle = colours.coast;
      ctx.lineWidth = COAST_WIDTH * ratio;
      ctx.stroke();
      ctx.strokeStyle = colours.zone;
      trace(data.eez, false);
      ctx.globalAlpha = EEZ.alpha;
      ctx.lineWidth = EEZ.width * ratio;
      ctx.setLineDash(EEZ.dash.map((d) => d * EEZ.width * ratio));
      ctx.stroke();
      ctx.setLineDash([]);
      trace(data.territorial, false);
      ctx.globalAlpha = TERRITORIAL.alpha;
      ctx.lineWidth = TERRITORIAL.width * ratio;
      ctx.stroke();
      ctx.globalAlpha = 1;
      if (v.z >= PORTS_FROM_ZOOM) {
        ctx.beginPath();
        for (const r of data.ports) {
          if (!visible(r)) continue;
          const x = (r.xy[0] - x0) * k, y = (r.xy[1] - y0) * k;
          ctx.moveTo(x + PORT_RADIUS * ratio, y);
          ctx.arc(x, y, PORT_RADIUS * ratio, 0, 2 * Math.PI);
        }
        ctx.fillStyle = colours.port;
        ctx.fill();
      }
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, canvas);
      // the image's rectangle, as offsets from its corner (the corner goes into the matrix)
      const w = box[2] - box[0], h = box[3] - box[1];
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 0, 0, w, 0, 1, 0, 0, h, 0, 1, w, h, 1, 1]), gl.STATIC_DRAW);
      image = { box, z: v.z, ratio, fullRatio, draft };
      stale = false;
      stats.redraws += 1;
      stats.recentMs = stats.recentMs.slice(-99).concat([performance.now() - t0]);
    }

    // Sharp again at rest: SETTLE_MS after the camera last moved, an image drawn for another
    // zoom (stretched while zooming) is drawn again at this one. Not on "moveend": each jump
    // of a scripted or animated camera ends a move, and redrawing on every one of them would
    // cost a redraw per frame.
    let settleTimer = null;
    function settle() {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => {
        if (map && image && (image.draft || Math.abs(map.getZoom() - image.z) > 1e-9)) {
          stale = true;
          map.triggerRepaint();
        }
      }, SETTLE_MS);
    }

    const layer = {
      id,
      type: "custom",
      renderingMode: "2d",
      stats,
      onAdd(m, context) {
        map = m;
        gl = context;
        program = window.copGL.program(gl, VERTEX, FRAGMENT, "basemap");
        loc = window.copGL.locations(gl, program, ["u_matrix", "u_image"], ["a_pos", "a_uv"]);
        maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE);
        buffer = gl.createBuffer();
        texture = gl.createTexture();
        gl.bindTexture(gl.TEXTURE_2D, texture);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
        image = null;
        stale = true;
        map.off("move", settle); // added again after a lost WebGL context
        map.on("move", settle);
      },
      onRemove() {
        if (map) map.off("move", settle);
        clearTimeout(settleTimer);
        if (gl) { gl.deleteBuffer(buffer); gl.deleteTexture(texture); gl.deleteProgram(program); }
        gl = null;
      },
      render(context, args) {
        const v = view();
        const stretch = image ? Math.pow(2, v.z - image.z) : 1;
        const zooming = stretch > REDRAW_SCALE || stretch < 1 / REDRAW_SCALE;
        if (stale || !image || !covers(image, v) || zooming ||
            Math.abs(image.fullRatio - imageRatio(v)) > 1e-9) {
          // a draft while the zoom is changing; sharp again when the camera stops (settle)
          redraw(v, zooming && !stale);
        }
        const matrix = window.copGL.matrixFrom(args.defaultProjectionData.mainMatrix, [image.box[0], image.box[1]]);
        gl.useProgram(program);
        gl.uniformMatrix4fv(loc.u_matrix, false, matrix);
        gl.uniform1i(loc.u_image, 0);
        gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
        gl.enableVertexAttribArray(loc.a_pos);
        gl.vertexAttribPointer(loc.a_pos, 2, gl.FLOAT, false, 16, 0);
        gl.enableVertexAttribArray(loc.a_uv);
        gl.vertexAttribPointer(loc.a_uv, 2, gl.FLOAT, false, 16, 8);
        gl.activeTexture(gl.TEXTURE0);
        gl.bindTexture(gl.TEXTURE_2D, texture);
        // one image px per screen px: copy texels; stretched while zooming: interpolate
        const exact = !image.draft && Math.abs(v.z - image.z) < 1e-9 &&
          Math.abs(image.ratio - map.getPixelRatio()) < 1e-9;
        const filter = exact ? gl.NEAREST : gl.LINEAR;
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
        // opaque: the sea is in the image, so nothing below needs blending in
        gl.disable(gl.BLEND);
        gl.disable(gl.DEPTH_TEST);
        gl.disable(gl.STENCIL_TEST);
        gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
        gl.disableVertexAttribArray(loc.a_pos);
        gl.disableVertexAttribArray(loc.a_uv);
        gl.enable(gl.BLEND);
      },
      setData(next) {
        const eez = ringsOf(next.eez || []), territorial = ringsOf(next.territorial || []);
        const zoneExtent = extentOf(eez.concat(territorial));
        data = {
          land: ringsOf(next.land || []),
          coast: ringsOf(next.coast || []),
          eez: outlines(eez, zoneExtent),
          territorial: outlines(territorial, zoneExtent),
          ports: ringsOf(next.ports || []),
          coverage: ringsOf(next.coverage || []),
        };
        stale = true;
        if (map) map.triggerRepaint();
      },
      setColours(next) {
        colours = next;
        stale = true;
        if (map) map.triggerRepaint();
      },
    };
    return layer;
  }

  window.copCreateBasemapLayer = createBasemapLayer;
})();
