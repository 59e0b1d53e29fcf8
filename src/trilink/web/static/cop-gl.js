/* trilink COP: what the COP's own WebGL layers (cop-points.js, cop-basemap.js) share. */
"use strict";

(function () {
  function compile(gl, type, source, what) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error(`COP ${what} shader: ${gl.getShaderInfoLog(shader)}`);
    }
    return shader;
  }

  /* The linked program of two GLSL ES 1.00 shaders (WebGL 1 and 2 alike); `what` names the
     layer in the error if a driver rejects them. */
  function program(gl, vertex, fragment, what) {
    const p = gl.createProgram();
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, vertex, what));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, fragment, what));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) {
      throw new Error(`COP ${what} program: ${gl.getProgramInfoLog(p)}`);
    }
    return p;
  }

  /* MapLibre's mainMatrix (Web Mercator [0, 1] to clip space) for vertices given as offsets
     from `origin`: the origin is folded into the translation in float64, so float32
     vertices near it do not jitter at high zoom. */
  function matrixFrom(mainMatrix, origin) {
    const matrix = new Float32Array(mainMatrix);
    for (let i = 0; i < 4; i++) {
      matrix[12 + i] = mainMatrix[i] * origin[0] + mainMatrix[4 + i] * origin[1] + mainMatrix[12 + i];
    }
    return matrix;
  }

  /* The locations of a program's uniforms and attributes by name:
     locations(gl, program, ["u_matrix"], ["a_pos"]) -> {u_matrix, a_pos} */
  function locations(gl, program, uniforms, attributes) {
    const loc = {};
    for (const name of uniforms) loc[name] = gl.getUniformLocation(program, name);
    for (const name of attributes) loc[name] = gl.getAttribLocation(program, name);
    return loc;
  }

  /* CSS px per Web Mercator unit at `zoom`: MapLibre's 512 px world at zoom 0. */
  function worldPx(zoom) {
    return 512 * Math.pow(2, zoom);
  }

  window.copGL = { program, locations, matrixFrom, worldPx };
})();
