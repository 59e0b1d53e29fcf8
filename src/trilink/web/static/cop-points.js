/* trilink COP: the point features (vessel positions, launch points, event positions) drawn
   as one WebGL point list in a MapLibre custom layer, with its own hit test.

   Why not a MapLibre circle layer: a circle is four vertices run through MapLibre's
   projection-aware vertex shader, tile by tile. In software WebGL (no GPU; what the
   benchmark machine has) 10,000 circles cost 25-35 ms of every frame and the cost did not
   change with the circles' size, so it is the vertices, not the pixels. Here each point is
   one vertex with a two-line shader and the disc and its classification ring are drawn by
   the fragment shader (docs/cop.md, "Rendering cost"). */
"use strict";

(function () {
  // Same sizes as the circle layer this replaced: radius and ring width by zoom, in CSS px.
  const RADIUS_STOPS = [[3, 2], [6, 3.5], [9, 6]];
  const RING_STOPS = [[3, 0.8], [8, 1.5]];
  const HIT_MARGIN_PX = 3; // a click this close to a dot's edge still selects it

  function interpolate(stops, z) {
    if (z <= stops[0][0]) return stops[0][1];
    for (let i = 1; i < stops.length; i++) {
      const [z1, v1] = stops[i];
      if (z <= z1) {
        const [z0, v0] = stops[i - 1];
        return v0 + ((v1 - v0) * (z - z0)) / (z1 - z0);
      }
    }
    return stops[stops.length - 1][1];
  }

  function rgb(hex) {
    const v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }

  // GLSL ES 1.00 so it runs on WebGL 1 and 2 alike. Positions are Web Mercator offsets from
  // an origin inside the data (float32 alone would jitter by a pixel past zoom 15).
  const VERTEX = `
    uniform mat4 u_matrix;
    uniform mediump float u_size;
    attribute vec2 a_pos;
    attribute vec4 a_fill;
    attribute vec4 a_ring;
    varying mediump vec4 v_fill;
    varying mediump vec4 v_ring;
    void main() {
      gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0);
      gl_PointSize = u_size;
      v_fill = a_fill;
      v_ring = a_ring;
    }`;
  const FRAGMENT = `
    precision mediump float;
    uniform float u_size;
    uniform float u_radius;
    varying vec4 v_fill;
    varying vec4 v_ring;
    void main() {
      float d = length(gl_PointCoord - 0.5) * u_size;   // px from the centre
      float alpha = clamp(u_size * 0.5 - d, 0.0, 1.0);   // antialiased outer edge
      vec4 c = mix(v_fill, v_ring, clamp(d - u_radius + 0.5, 0.0, 1.0));
      // premultiplied, as MapLibre blends; no discard (it costs more than the blend)
      gl_FragColor = vec4(c.rgb * alpha, alpha);
    }`;

  /* createPointLayer(id, fillColour(feature) -> "#rrggbb", ringColour(feature) -> "#rrggbb")
     returns a MapLibre custom layer with:
       setFeatures(features)  GeoJSON Point and MultiPoint features to draw (others are ignored)
       featuresAt(map, lngLat) the drawn features under a screen position, nearest first */
  function createPointLayer(id, fillColour, ringColour) {
    let owners = []; // per drawn position, the feature it belongs to
    let mercX = new Float64Array(0), mercY = new Float64Array(0);
    let origin = [0, 0];
    let dirty = true;
    let gl = null, program = null, buffer = null, count = 0;
    let loc = null;
    let map = null;

    function upload() {
      const n = owners.length;
      // per point: x, y offsets (float32) then fill and ring colours (4 bytes each)
      const bytes = new ArrayBuffer(n * 16);
      const f32 = new Float32Array(bytes);
      const u8 = new Uint8Array(bytes);
      for (let i = 0; i < n; i++) {
        f32[i * 4] = mercX[i] - origin[0];
        f32[i * 4 + 1] = mercY[i] - origin[1];
        const fill = rgb(fillColour(owners[i]));
        const ring = rgb(ringColour(owners[i]));
        u8.set([fill[0], fill[1], fill[2], 255, ring[0], ring[1], ring[2], 255], i * 16 + 8);
      }
      gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
      gl.bufferData(gl.ARRAY_BUFFER, bytes, gl.DYNAMIC_DRAW);
      count = n;
      dirty = false;
    }

    function sizes(zoom) {
      const ratio = map ? map.getPixelRatio() : 1;
      const radius = interpolate(RADIUS_STOPS, zoom);
      const ring = interpolate(RING_STOPS, zoom);
      return { radius, ring, radiusPx: radius * ratio, sizePx: 2 * (radius + ring) * ratio };
    }

    const layer = {
      id,
      type: "custom",
      renderingMode: "2d",
      onAdd(m, context) {
        map = m;
        gl = context;
        program = window.copGL.program(gl, VERTEX, FRAGMENT, "point");
        loc = window.copGL.locations(gl, program, ["u_matrix", "u_size", "u_radius"],
          ["a_pos", "a_fill", "a_ring"]);
        buffer = gl.createBuffer();
        dirty = true;
      },
      onRemove() {
        if (gl) { gl.deleteBuffer(buffer); gl.deleteProgram(program); }
        gl = null;
      },
      render(context, args) {
        if (dirty) upload();
        if (!count) return;
        const matrix = window.copGL.matrixFrom(args.defaultProjectionData.mainMatrix, origin);
        const s = sizes(map.getZoom());
        gl.useProgram(program);
        gl.uniformMatrix4fv(loc.u_matrix, false, matrix);
        gl.uniform1f(loc.u_size, s.sizePx);
        gl.uniform1f(loc.u_radius, s.radiusPx);
        gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
        gl.enableVertexAttribArray(loc.a_pos);
        gl.vertexAttribPointer(loc.a_pos, 2, gl.FLOAT, false, 16, 0);
        gl.enableVertexAttribArray(loc.a_fill);
        gl.vertexAttribPointer(loc.a_fill, 4, gl.UNSIGNED_BYTE, true, 16, 8);
        gl.enableVertexAttribArray(loc.a_ring);
        gl.vertexAttribPointer(loc.a_ring, 4, gl.UNSIGNED_BYTE, true, 16, 12);
        gl.drawArrays(gl.POINTS, 0, count);
        gl.disableVertexAttribArray(loc.a_pos);
        gl.disableVertexAttribArray(loc.a_fill);
        gl.disableVertexAttribArray(loc.a_ring);
      },
      setFeatures(list) {
        owners = [];
        const positions = [];
        for (const f of list) {
          const g = f.geometry;
          const coords = !g ? [] : g.type === "Point" ? [g.coordinates]
            : g.type === "MultiPoint" ? g.coordinates : [];
          for (const c of coords) { owners.push(f); positions.push(c); }
        }
        const n = owners.length;
        mercX = new Float64Array(n);
        mercY = new Float64Array(n);
        let sx = 0, sy = 0;
        for (let i = 0; i < n; i++) {
          const c = maplibregl.MercatorCoordinate.fromLngLat(positions[i]);
          mercX[i] = c.x;
          mercY[i] = c.y;
          sx += c.x;
          sy += c.y;
        }
        origin = n ? [sx / n, sy / n] : [0, 0];
        dirty = true;
        if (map) map.triggerRepaint();
      },
      featuresAt(m, lngLat) {
        if (!owners.length) return [];
        const p = maplibregl.MercatorCoordinate.fromLngLat(lngLat);
        const s = sizes(m.getZoom());
        const reach = (s.radius + s.ring + HIT_MARGIN_PX) / window.copGL.worldPx(m.getZoom());
        const hits = [];
        for (let i = 0; i < owners.length; i++) {
          const dx = mercX[i] - p.x, dy = mercY[i] - p.y;
          if (Math.abs(dx) > reach || Math.abs(dy) > reach) continue;
          const d = Math.hypot(dx, dy);
          if (d <= reach) hits.push([d, owners[i]]);
        }
        hits.sort((a, b) => a[0] - b[0]);
        return [...new Set(hits.map((h) => h[1]))]; // a MultiPoint once, at its nearest
      },
    };
    return layer;
  }

  window.copCreatePointLayer = createPointLayer;
})();
