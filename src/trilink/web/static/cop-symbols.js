/* trilink COP: MIL-STD-2525 symbols (milsymbol, bundled in static/vendor by
   scripts/build-web.sh). The server gives each report's symbol code (SIDC) from the kind
   registry, with the object's affiliation; here each code is drawn once into a MapLibre image
   for the "symbols" layer, and into a canvas for the legend. Without the library (a node
   built without scripts/build-web.sh) the COP draws plain points and says so in the legend. */
"use strict";

(function () {
  const SIZE = 18; // px: the symbol's frame height at pixel ratio 1
  const available = typeof window.ms !== "undefined" && typeof window.ms.Symbol === "function";

  function symbol(sidc, ratio) {
    return new window.ms.Symbol(sidc, { size: SIZE * ratio });
  }

  // Add the image of `sidc` to the map (MapLibre asks through "styleimagemissing").
  function addImage(map, sidc) {
    if (!available || map.hasImage(sidc)) return;
    const ratio = window.devicePixelRatio || 1;
    const canvas = symbol(sidc, ratio).asCanvas();
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    map.addImage(sidc, data, { pixelRatio: ratio });
  }

  // A canvas of `sidc` for the legend (no HTML is built from report data).
  function legendIcon(sidc) {
    if (!available) return null;
    const canvas = symbol(sidc, 1).asCanvas();
    canvas.className = "legend-icon";
    return canvas;
  }

  window.copSymbols = { available, addImage, legendIcon };
})();
