#!/usr/bin/env bash
# Build step of the COP (trilink.web): install the pinned MapLibre GL JS and milsymbol (the
# MIL-STD-2525 / APP-6 symbol library) from the npm registry (web/package-lock.json) and copy
# their browser bundles into the Python package, so the map needs nothing from the network at
# run time. Output: src/trilink/web/static/vendor/ (not
# committed; re-run this script after a fresh checkout).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
vendor="$root/src/trilink/web/static/vendor"
command -v npm >/dev/null || { echo "build-web: npm is required (apt-get install -y npm)" >&2; exit 1; }
(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
dist="$web/node_modules/maplibre-gl/dist"
mkdir -p "$vendor"
cp "$dist/maplibre-gl.js" "$dist/maplibre-gl.css" "$vendor/"
cp "$dist/LICENSE.txt" "$vendor/maplibre-gl.LICENSE.txt"
version="$(node -p "require('$web/node_modules/maplibre-gl/package.json').version")"
echo "$version" > "$vendor/maplibre-gl.VERSION"
echo "build-web: maplibre-gl $version -> $vendor"
symbols="$web/node_modules/milsymbol"
cp "$symbols/dist/milsymbol.js" "$vendor/milsymbol.js"
cp "$symbols/LICENSE" "$vendor/milsymbol.LICENSE.txt"
version="$(node -p "require('$symbols/package.json').version")"
echo "$version" > "$vendor/milsymbol.VERSION"
echo "build-web: milsymbol $version -> $vendor"
