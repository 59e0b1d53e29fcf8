"""Browser tests: Playwright driving Debian's chromium against real uvicorn COP servers.

Login, the classification banner, live updates over SSE, per-nation truth in the page and
the report panel. Screenshots go to test-artifacts/ (gitignored). The page runs under its
real Content-Security-Policy (no bypass): page state is read with ``page.evaluate`` (CDP),
which CSP does not govern, never with ``wait_for_function`` (which needs eval).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cop_helpers import GEO_KIND, PASSWORD, replicate, serve

from trilink.node.service import NodeService
from trilink.web import create_cop_app

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET = "SECRET//REL TO USA, JPN"
RED = "rgb(200, 16, 46)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium missing: apt-get update && apt-get install -y chromium")
    vendor = Path(__file__).resolve().parents[2] / "src/trilink/web/static/vendor/maplibre-gl.js"
    assert vendor.exists(), "MapLibre is not vendored: run scripts/build-web.sh first"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


def wait_js(page: Any, expression: str, timeout_s: float = 15.0) -> Any:
    """Poll a JS expression until truthy; returns its value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.1)


class Cop:
    """One logged-in browser tab on a COP; collects page errors and API bodies seen."""

    def __init__(
        self, browser: Any, base: str, username: str = "watch", pixel_ratio: float = 1
    ) -> None:
        self.context = browser.new_context(
            viewport={"width": 1000, "height": 650}, device_scale_factor=pixel_ratio
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.bodies: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("response", self._record)
        self.page.goto(base + "/")
        assert "/login" in self.page.url
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("#login-button")
        self.page.wait_for_url(base + "/")
        wait_js(self.page, "window.cop && window.cop.ready")
        wait_js(self.page, "document.getElementById('live-state').textContent === 'live'")

    def _record(self, response: Any) -> None:
        if "/api/stream" in response.url:
            return  # never ends; its content is checked through the page state instead
        if "/static/vendor/" in response.url:
            return  # third-party libraries (milsymbol names symbols such as KINGFISHER)
        try:
            self.bodies.append(response.text())
        except Exception:  # redirects and aborted requests have no body
            pass

    def titles(self) -> list[str]:
        return list(self.page.locator("#report-list li .title").all_inner_texts())

    def wait_title(self, title: str) -> None:
        self.page.locator("#report-list li .title", has_text=title).first.wait_for(timeout=15_000)

    def rendered_at(self, lon: float, lat: float, layer: str = "points") -> list[dict[str, Any]]:
        """Properties of the features drawn at (lon, lat): for points, the point layer's own
        hit test (what a click opens); for lines, MapLibre's rendered features."""
        found: list[dict[str, Any]] = self.page.evaluate(
            """([lon, lat, layer]) => {
                const m = window.copInternals.map;
                if (layer === "points") return window.copInternals.pointsAt(lon, lat);
                const p = m.project([lon, lat]);
                return m.queryRenderedFeatures([[p.x - 4, p.y - 4], [p.x + 4, p.y + 4]],
                                               {layers: [layer]}).map(f => f.properties);
            }""",
            [lon, lat, layer],
        )
        return found

    def painted_rgb(self, lon: float, lat: float) -> tuple[int, int, int]:
        """The colour of the screen pixel at (lon, lat), from a screenshot of the page."""
        return self.painted_patch(lon, lat, 1)[0]

    def painted_patch(self, lon: float, lat: float, size: int) -> list[tuple[int, int, int]]:
        """The colours of the size x size screen pixels from (lon, lat) right and down."""
        wait_js(self.page, "window.copInternals.map.loaded()")
        x, y = self.screen_xy(lon, lat)
        return self.painted_pixels(round(x), round(y), size, size)

    def screen_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Where (lon, lat) is on the page, in CSS px."""
        point = self.page.evaluate(f"window.copInternals.map.project([{lon}, {lat}])")
        box = self.page.locator("#map").bounding_box()
        return box["x"] + point["x"], box["y"] + point["y"]

    def painted_pixels(
        self, x: int, y: int, width: int, height: int
    ) -> list[tuple[int, int, int]]:
        """The colours of a rectangle of the page (CSS px), from a screenshot, row by row."""
        from io import BytesIO

        from PIL import Image

        png = self.page.screenshot(clip={"x": x, "y": y, "width": width, "height": height})
        image = Image.open(BytesIO(png)).convert("RGB")
        return [
            tuple(int(v) for v in image.getpixel((i, j)))  # type: ignore[misc]
            for j in range(image.height)
            for i in range(image.width)
        ]

    def wait_sharp_basemap(self, zoom: float | None = None) -> None:
        """Until the basemap image is drawn at `zoom` (default: the map's) and is no draft."""
        stats = "window.copInternals.basemapLayer.stats"
        at = "window.copInternals.map.getZoom()" if zoom is None else repr(zoom)
        wait_js(self.page, f"{stats}.zoom === {at} && !{stats}.draft")

    def wait_rendered(
        self, lon: float, lat: float, timeout_s: float = 15.0, layer: str = "points"
    ) -> list[dict[str, Any]]:
        """Like ``rendered_at`` but waits for the worker to tile and the frame to paint."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.rendered_at(lon, lat, layer)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def banner(self, which: str = "banner-top") -> tuple[str, str]:
        loc = self.page.locator(f"#{which}")
        colour = loc.evaluate("e => getComputedStyle(e).backgroundColor")
        return loc.inner_text(), colour

    def state_json(self) -> str:
        return str(self.page.evaluate("JSON.stringify([...window.copInternals.reports.values()])"))

    def shot(self, name: str) -> None:
        wait_js(
            self.page,
            "window.copInternals.map.loaded() && window.copInternals.map.areTilesLoaded()",
        )
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def test_login_map_and_classification_banner(net: dict[str, NodeService], browser: Any) -> None:
    usa = net["USA"]
    usa.publish(GEO_KIND, SECRET, {"title": "SECRET contact", "lat": 35.0, "lon": 135.0})
    usa.publish("note", "CONFIDENTIAL//REL TO USA, JPN, KOR", {"title": "shift note"})
    with serve(create_cop_app(usa)) as base:
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(base + "/login")
        page.fill("#username", "watch")
        page.fill("#password", "not the password")
        page.click("#login-button")
        assert "Wrong username or password" in page.inner_text(".message")
        ctx.close()
        cop = Cop(browser, base)
        try:
            assert sorted(cop.titles()) == ["SECRET contact", "shift note"]
            assert cop.banner("banner-top") == (SECRET, RED)
            assert cop.banner("banner-bottom") == (SECRET, RED)
            drawn = cop.wait_rendered(135.0, 35.0)
            assert [d["label"] for d in drawn] == [SECRET]
            # render cost (docs/cop.md): no full-view background layer; the basemap is an
            # image layer (cop-basemap.js), so the reports' shapes are the only tiled source
            style = cop.page.evaluate("window.copInternals.map.getStyle()")
            assert [x["type"] for x in style["layers"]].count("background") == 0
            assert sorted(style["sources"]) == ["shapes", "symbols"]
            layer_type = "window.copInternals.map.getLayer('{}').type"
            assert cop.page.evaluate(layer_type.format("basemap")) == "custom"
            # points are one WebGL point list (cop-points.js), drawn in the kind's colour
            assert cop.page.evaluate(layer_type.format("points")) == "custom"
            assert _close(cop.painted_rgb(135.0, 35.0), OTHER_KIND_FILL)
            # hovering a feature shows its full label and title
            cop.page.mouse.move(*cop.screen_xy(135.0, 35.0))
            box = cop.page.locator("#map").bounding_box()
            tip = cop.page.locator("#hover-label")
            tip.wait_for(state="visible")
            assert tip.inner_text() == f"{SECRET} SECRET contact"
            cop.page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
            tip.wait_for(state="hidden")
            cop.shot("cop-usa-login.png")
            # export of the view (a download), each feature carrying its label
            with cop.page.expect_download() as download:
                cop.page.click("#export-geojson")
            exported = json.loads(Path(download.value.path()).read_text("utf-8"))
            assert exported["classification"] == SECRET
            assert [f["properties"]["label"] for f in exported["features"]] == [SECRET]
            # light style
            cop.page.click("#theme-toggle")
            assert "theme-light" in (cop.page.get_attribute("body", "class") or "")
            sea = "getComputedStyle(window.copInternals.map.getContainer()).backgroundColor"
            assert cop.page.evaluate(sea) == "rgb(217, 228, 236)"  # #d9e4ec
            cop.shot("cop-usa-light.png")
            # time slider: back to the start of the 6 h window, nothing published yet
            cop.page.locator("#t-slider").fill("0")
            wait_js(cop.page, "document.getElementById('count').textContent === '0'")
            assert cop.page.inner_text("#t-label").endswith("Z")
            cop.page.locator("#t-slider").fill("1000")
            wait_js(cop.page, "document.getElementById('count').textContent === '2'")
            assert cop.page.inner_text("#t-label") == "live"
            # Pan the SECRET feature off screen: the banner drops to what is still shown.
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [120, 22], zoom: 6})")
            wait_js(
                cop.page, "document.getElementById('banner-top').textContent.startsWith('CONF')"
            )
            text, colour = cop.banner()
            assert text == "CONFIDENTIAL//REL TO USA, JPN, KOR" and colour == "rgb(0, 51, 160)"
        finally:
            cop.close()


DARK_LAND, DARK_SEA, LIGHT_LAND = (0x1B, 0x26, 0x31), (0x0B, 0x16, 0x22), (0xF4, 0xF1, 0xEA)
OTHER_KIND_FILL = (0x8F, 0xA0, 0xB3)  # cop.js OTHER_KIND: a kind of no known engine


def _close(painted: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 2 for a, b in zip(painted, expected, strict=True))


def _zone_pixels(cop: Cop, lon: float, lats: tuple[float, float]) -> int:
    """Pixels in the zone-limit blue on a 3 px wide column along a meridian, dark theme."""
    mid = (lats[0] + lats[1]) / 2
    cop.page.evaluate(f"window.copInternals.map.jumpTo({{center: [{lon}, {mid}], zoom: 6}})")
    cop.wait_sharp_basemap(6)
    wait_js(cop.page, "window.copInternals.map.loaded()")
    x, top = cop.screen_xy(lon, lats[1])
    _, bottom = cop.screen_xy(lon, lats[0])
    pixels = cop.painted_pixels(round(x) - 1, round(top), 3, round(bottom - top))
    # the sea is (11, 22, 34); a zone limit is blue (0x3d7cb8 at 55-80 % over the sea)
    return sum(1 for r, _, b in pixels if b > 70 and b > r + 40)


def test_basemap_is_one_image_redrawn_only_when_the_view_leaves_it(
    net: dict[str, NodeService], browser: Any
) -> None:
    """The basemap (cop-basemap.js) is drawn into an image larger than the view: land and sea
    in the theme's colours where Natural Earth has them; a small pan reuses the image, a pan
    past its edge or a new zoom draws a new one; a theme change redraws it."""
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            stats = "window.copInternals.basemapLayer.stats"
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [128, 36.5], zoom: 6})")
            cop.wait_sharp_basemap(6)
            assert _close(cop.painted_rgb(127.8, 36.5), DARK_LAND)  # inland Korea
            assert _close(cop.painted_rgb(130.2, 37.9), DARK_SEA)  # East Sea
            drawn = cop.page.evaluate(f"{stats}.redraws")
            # half a degree: inside the image's margin, no new image
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [128.5, 36.5], zoom: 6})")
            assert _close(cop.painted_rgb(127.8, 36.5), DARK_LAND)
            assert cop.page.evaluate(f"{stats}.redraws") == drawn
            # to northern Honshu: past the image's edge
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [140.5, 40], zoom: 6})")
            wait_js(cop.page, f"{stats}.redraws === {drawn + 1}")
            assert _close(cop.painted_rgb(140.6, 40.2), DARK_LAND)
            # a new zoom is drawn at that zoom once the camera stops
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [140.5, 40], zoom: 6.1})")
            cop.wait_sharp_basemap(6.1)
            # past a 1.6x stretch: a half-resolution draft at once, then sharp at rest
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [140.5, 40], zoom: 7})")
            cop.wait_sharp_basemap(7)
            assert cop.page.evaluate(f"{stats}.redraws") == drawn + 4
            assert cop.page.evaluate(f"{stats}.ratio") == 1
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [140.5, 40], zoom: 6.1})")
            cop.wait_sharp_basemap(6.1)
            cop.page.click("#theme-toggle")
            wait_js(cop.page, f"{stats}.redraws === {drawn + 7}")
            assert _close(cop.painted_rgb(140.6, 40.2), LIGHT_LAND)
            assert cop.page.evaluate(f"{stats}.ratio") == 1
            cop.page.click("#theme-toggle")  # back to dark
            # The zones are cut to the theatre's box (115-155 E, 20-50 N): that edge is not a
            # limit. Japan's EEZ around Minamitorishima reaches 155 E from 21.1 to 27.5 N.
            assert _zone_pixels(cop, lon=155.0, lats=(22.0, 27.0)) == 0
            assert _zone_pixels(cop, lon=153.0, lats=(21.0, 27.5)) > 0  # its real limit
        finally:
            cop.close()
        # a high-density screen gets an image at its own pixel density
        cop = Cop(browser, base, pixel_ratio=2)
        try:
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [128, 36.5], zoom: 6})")
            cop.wait_sharp_basemap(6)
            assert cop.page.evaluate(f"{stats}.ratio") == 2
            assert _close(cop.painted_rgb(127.8, 36.5), DARK_LAND)
        finally:
            cop.close()


def test_a_report_picked_in_the_list_is_brought_into_view(
    net: dict[str, NodeService], browser: Any
) -> None:
    """The demo's real AIS is at Suez, far from the East Asia view the COP opens on: picking
    it in the list moves the map there, where the basemap has Sinai's land, and hatches
    what it has no data for (west of 31 E)."""
    net["USA"].publish(GEO_KIND, "UNCLASSIFIED", {"title": "SUEZ-1", "lat": 30.5, "lon": 32.45})
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            cop.wait_title("SUEZ-1")
            in_view = "window.copInternals.map.getBounds().contains([32.45, 30.5])"
            assert cop.page.evaluate(in_view) is False
            cop.page.locator("#report-list li", has_text="SUEZ-1").click()
            wait_js(cop.page, in_view)
            wait_js(cop.page, "!window.copInternals.map.isMoving()")
            assert cop.page.evaluate("window.copInternals.map.getZoom()") >= 6
            assert [p["title"] for p in cop.wait_rendered(32.45, 30.5)] == ["SUEZ-1"]
            cop.wait_sharp_basemap()
            assert _close(cop.painted_rgb(33.8, 29.9), DARK_LAND)  # Sinai
            # west of the Suez box: hatched lines (antialiased) on the sea, no basemap data
            west = cop.painted_patch(30.5, 30.5, 16)
            assert DARK_SEA in west
            assert any(all(c >= s + 10 for c, s in zip(p, DARK_SEA, strict=True)) for p in west)
            assert set(cop.painted_patch(32.5, 31.7, 16)) == {DARK_SEA}  # the Mediterranean
            assert cop.page.locator("#panel").is_visible()
        finally:
            cop.close()


def test_the_list_says_when_it_shows_only_the_newest(
    net: dict[str, NodeService], browser: Any
) -> None:
    """The list draws the newest 300 reports and says so; a filter brings the others in."""
    net["USA"].publish_many("note", "CONFIDENTIAL", [{"title": f"old {i}"} for i in range(5)])
    net["USA"].publish_many("note", "UNCLASSIFIED", [{"title": f"new {i}"} for i in range(300)])
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            wait_js(cop.page, "document.getElementById('count').textContent === '305'")
            items = cop.page.locator("#report-list li.report-item")
            assert items.count() == 300
            assert "new 299" in items.first.inner_text()
            more = cop.page.locator("#report-list li.list-more")
            assert more.inner_text().startswith("Newest 300 of 305 listed")
            cop.page.select_option("#f-class", "CONFIDENTIAL")
            wait_js(cop.page, "document.getElementById('count').textContent === '5'")
            titles = cop.page.locator("#report-list li.report-item .title").all_inner_texts()
            assert sorted(titles) == [f"old {i}" for i in range(5)]
            assert more.count() == 0
        finally:
            cop.close()


def test_the_map_comes_back_after_a_lost_webgl_context(
    net: dict[str, NodeService], browser: Any
) -> None:
    """A GPU reset loses the WebGL context; MapLibre restores its own layers only. The COP
    puts its basemap and point layers back and re-applies its renderer changes."""
    net["USA"].publish(GEO_KIND, "UNCLASSIFIED", {"title": "P1", "lat": 37.0, "lon": 131.5})
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [129, 36.5], zoom: 6})")
            cop.wait_title("P1")
            cop.wait_sharp_basemap(6)
            assert _close(cop.painted_rgb(127.8, 36.5), DARK_LAND)
            assert _close(cop.painted_rgb(131.5, 37.0), OTHER_KIND_FILL)
            cop.page.evaluate(
                """() => {
                    const gl = window.copInternals.map.painter.context.gl;
                    const lose = gl.getExtension("WEBGL_lose_context");
                    lose.loseContext();
                    setTimeout(() => lose.restoreContext(), 200);
                }"""
            )
            wait_js(cop.page, "window.cop.contextRestored === 1")
            order = cop.page.evaluate("window.copInternals.map.getLayersOrder()")
            assert order[0] == "basemap" and order[-1] == "points"
            assert cop.page.evaluate("window.cop.renderer") == {
                "sky": True,
                "stencil": True,
                "masks": True,
                "skipSecondMasks": True,
            }
            cop.wait_sharp_basemap(6)
            assert _close(cop.painted_rgb(127.8, 36.5), DARK_LAND)
            assert _close(cop.painted_rgb(131.5, 37.0), OTHER_KIND_FILL)
        finally:
            cop.close()


def test_live_update_appears_without_reload(net: dict[str, NodeService], browser: Any) -> None:
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            assert cop.titles() == []
            net["USA"].publish(
                GEO_KIND,
                "CONFIDENTIAL//REL TO USA, JPN, KOR",
                {"title": "LIVE-42", "lat": 36.0, "lon": 131.0},
            )
            cop.wait_title("LIVE-42")
            wait_js(cop.page, "window.cop.events >= 1")
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [131, 36], zoom: 5})")
            assert [d["title"] for d in cop.wait_rendered(131.0, 36.0)] == ["LIVE-42"]
            # two states of one track arrive: the map shows its newest, as its 2525 symbol
            net["USA"].publish_many(
                GEO_KIND,
                "SECRET//REL TO USA, JPN, KOR",
                [
                    {"title": "T9 state 1", "track_id": "T9", "lat": 36.5, "lon": 130.0},
                    {"title": "T9 state 2", "track_id": "T9", "lat": 36.5, "lon": 132.0},
                ],
            )
            newest = cop.wait_rendered(132.0, 36.5, layer="symbols")
            assert [(s["title"], s["sidc"]) for s in newest] == [("T9 state 2", "SUSP-----------")]
            assert cop.rendered_at(130.0, 36.5, layer="symbols") == []
            assert "T9 state 1" not in cop.titles()
            # a MultiPoint geometry: each of its positions is drawn and selects the report
            net["USA"].publish(
                GEO_KIND,
                "UNCLASSIFIED//REL TO USA, JPN, KOR",
                {
                    "title": "SPLIT",
                    "geometry": {
                        "type": "MultiPoint",
                        "coordinates": [[129.0, 34.0], [132.5, 37.0]],
                    },
                },
            )
            for lon, lat in ((129.0, 34.0), (132.5, 37.0)):
                assert [d["title"] for d in cop.wait_rendered(lon, lat)] == ["SPLIT"]
            # a report arriving from a partner (ingest) appears the same way
            net["JPN"].publish("note", "UNCLASSIFIED//REL TO USA, JPN, KOR", {"title": "from JPN"})
            replicate(net)
            cop.wait_title("from JPN")
            cop.shot("cop-usa-live.png")
        finally:
            cop.close()


REPAINT_CALLS_JS = """async (hideLayers) => {
    // every draw call and clear of one repaint (optionally with all style layers hidden)
    const m = window.copInternals.map;
    const gl = m.painter.context.gl;
    if (hideLayers) {
        for (const id of m.getLayersOrder()) m.setLayoutProperty(id, "visibility", "none");
        await new Promise((r) => m.once("idle", r));
    }
    const calls = [];
    const saved = {};
    for (const k of ["drawElements", "drawArrays", "clear"]) {
        saved[k] = gl[k];
        gl[k] = function (...a) { calls.push(k); return saved[k].apply(gl, a); };
    }
    m.triggerRepaint();
    await new Promise((r) => m.once("render", r));
    for (const k in saved) gl[k] = saved[k];
    return calls;
}"""


def test_an_empty_frame_draws_nothing_and_the_map_sits_on_whole_pixels(
    net: dict[str, NodeService], browser: Any
) -> None:
    """Render cost in software WebGL (docs/cop.md): MapLibre's sky and its full-view stencil
    quad are not drawn, each tile mask is drawn once (the same picture, fewer draws), the
    chart stays flat (the sky would show with pitch), and the canvas sits on whole pixels
    (software compositing resamples it on every frame otherwise)."""
    net["USA"].publish(
        GEO_KIND,
        "UNCLASSIFIED//REL TO USA, JPN, KOR",
        {"title": "track", "track": [[128.0, 33.0], [131.0, 35.5], [134.0, 36.0]]},
    )
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            assert cop.page.evaluate("window.cop.renderer") == {
                "sky": True,
                "stencil": True,
                "masks": True,
                "skipSecondMasks": True,
            }
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [131, 35], zoom: 5})")
            wait_js(cop.page, "window.cop.renderedFeatures >= 1")
            ready = "window.copInternals.map.loaded() && window.copInternals.map.areTilesLoaded()"
            pictures, draws = [], []
            for skip in ("true", "false"):
                cop.page.evaluate(f"window.cop.renderer.skipSecondMasks = {skip}")
                wait_js(cop.page, ready)
                calls = cop.page.evaluate(REPAINT_CALLS_JS, False)
                draws.append(sum(c != "clear" for c in calls))
                wait_js(cop.page, ready)
                pictures.append(cop.page.locator("#map canvas").screenshot())
            cop.page.evaluate("window.cop.renderer.skipSecondMasks = true")
            assert pictures[0] == pictures[1]
            assert draws[0] < draws[1]
            for width, height in ((1000, 650), (1400, 900), (800, 500), (1280, 1024)):
                cop.page.set_viewport_size({"width": width, "height": height})
                rect = cop.page.evaluate(
                    "(() => { const r = window.copInternals.map.getCanvas()"
                    ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
                )
                assert all(float(v).is_integer() for v in rect), (width, height, rect)
            assert cop.page.evaluate("window.copInternals.map.getMaxPitch()") == 0
            cop.page.evaluate("window.copInternals.map.setPitch(45)")
            assert cop.page.evaluate("window.copInternals.map.getPitch()") == 0
            assert cop.page.evaluate(REPAINT_CALLS_JS, True) == ["clear", "clear"]
            assert cop.errors == []
        finally:
            cop.close()


def test_per_nation_truth_in_the_browser(net: dict[str, NodeService], browser: Any) -> None:
    apps = {n: create_cop_app(net[n]) for n in ("USA", "JPN", "KOR")}
    with (
        serve(apps["USA"]) as usa_url,
        serve(apps["JPN"]) as jpn_url,
        serve(apps["KOR"]) as kor_url,
    ):
        cops = {
            "USA": Cop(browser, usa_url),
            "JPN": Cop(browser, jpn_url),
            "KOR": Cop(browser, kor_url),
        }
        try:
            secret = net["JPN"].publish(
                GEO_KIND, SECRET, {"title": "KINGFISHER-7731", "lat": 33.1, "lon": 128.9}
            )
            net["JPN"].publish("note", "UNCLASSIFIED//REL TO USA, JPN, KOR", {"title": "marker"})
            replicate(net)
            for nation in ("USA", "JPN", "KOR"):
                cops[nation].wait_title("marker")
            for nation in ("USA", "JPN"):
                cops[nation].wait_title("KINGFISHER-7731")
                assert cops[nation].banner()[0] == SECRET
                cops[nation].shot(f"cop-{nation.lower()}-truth.png")
            kor = cops["KOR"]
            kor.page.reload()
            wait_js(kor.page, "window.cop && window.cop.ready")
            kor.wait_title("marker")
            kor.shot("cop-kor-truth.png")
            for text in (kor.page.content(), kor.state_json(), *kor.bodies):
                assert "KINGFISHER" not in text, text[:3000] and secret.envelope.id not in text
                assert SECRET not in text
            assert kor.banner() == ("UNCLASSIFIED//REL TO USA, JPN, KOR", "rgb(0, 122, 51)")
        finally:
            for cop in cops.values():
                cop.close()


def test_report_panel_shows_provenance(net: dict[str, NodeService], browser: Any) -> None:
    launch = net["KOR"].publish(
        GEO_KIND,
        "SECRET//REL TO USA, JPN, KOR",
        {
            "title": "launch site",
            "launch_lat": 39.0,
            "launch_lon": 125.7,
            "track": [[125.7, 39.0], [133.0, 40.0]],
        },
    )
    replicate(net)  # USA must hold the launch report before deriving from it
    assessment = net["USA"].publish(
        "note",
        "SECRET//REL TO USA, JPN, KOR",
        {"title": "assessment"},
        derived_from=[launch.envelope.id],
    )
    replicate(net)
    with serve(create_cop_app(net["USA"])) as base:
        cop = Cop(browser, base)
        try:
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [125.7, 39.0], zoom: 6})")
            wait_js(cop.page, "window.copInternals.map.loaded()")
            assert cop.wait_rendered(125.7, 39.0), "launch point not drawn"
            point = cop.page.evaluate("window.copInternals.map.project([125.7, 39.0])")
            box = cop.page.locator("#map").bounding_box()
            cop.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
            panel = cop.page.locator("#panel")
            panel.wait_for(state="visible", timeout=10_000)
            text = panel.inner_text()
            assert "Origin nation\nKOR" in text or "Origin nation\tKOR" in text
            assert launch.envelope.id in text
            assert cop.page.locator("#panel dd.sig").inner_text() == "yes"
            assert "inbound/accepted" in text and "Version history" in text
            # what was derived from it, by nation (a cyber indicator's sightings likewise)
            assert "Derived reports (1)" in text and "USA: assessment" in text
            cop.shot("cop-usa-panel.png")
            cop.page.locator("#report-list li", has_text="assessment").click()
            cop.page.locator("#panel h4", has_text="Derived from").wait_for()
            # the assessment's own panel (the launch's panel named the launch id too)
            wait_js(
                cop.page,
                f"document.getElementById('panel').dataset.id === '{assessment.envelope.id}'",
            )
            chain = cop.page.locator("#panel ul li").first.inner_text()
            assert "KOR" in chain and launch.envelope.id in chain
            # the panel's API answer (recorded as Playwright delivers response events)
            deadline = time.monotonic() + 10
            while not (details := [b for b in cop.bodies if '"derived_from":[{' in b]):
                assert time.monotonic() < deadline, "no report detail with a source was fetched"
                cop.page.wait_for_timeout(100)
            assert json.loads(details[-1])["derived_from"][0]["id"] == launch.envelope.id
        finally:
            cop.close()


def _warning(status: str, minute: int) -> dict[str, Any]:
    return {
        "warning_id": "W5",
        "status": status,
        "time": f"2026-11-23T06:{minute:02d}:00Z",
        "track_ids": ["T5"],
        "nations": ["USA", "JPN"],
        "impact_lat": 38.0,
        "impact_lon": 134.0,
        "ellipse_semi_major_m": 40_000.0,
        "ellipse_semi_minor_m": 15_000.0,
        "ellipse_orientation_deg": 60.0,
        "impact_time": "2026-11-23T06:09:00Z",
        "time_to_impact_s": 300.0,
        "p_impact_in_japan_eez": 0.9,
        "p_overflies_japan": 0.0,
        "confidence": 0.95,
    }


def test_a_cancelled_warning_leaves_the_map(net: dict[str, NodeService], browser: Any) -> None:
    """#13 item 4: a warning is one report; its cancel version takes it off the map (the
    list keeps it, struck through), in the open page, over SSE."""
    usa = net["USA"]
    issued = usa.publish("missile.warning", SECRET, _warning("issue", 1))
    with serve(create_cop_app(usa)) as base:
        cop = Cop(browser, base)
        try:
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [134, 38], zoom: 6})")
            impact = cop.wait_rendered(134.0, 38.0)
            assert [(d["title"], d["role"]) for d in impact] == [
                ("impact warning W5 (issue)", "impact")
            ]
            ellipse = cop.wait_rendered(134.3, 38.0, layer="polys-fill")
            assert [d["role"] for d in ellipse] == ["impact.ellipse"]
            usa.edit(issued.envelope.id, _warning("update", 2))
            cop.wait_title("impact warning W5 (update)")
            usa.edit(issued.envelope.id, _warning("cancel", 3))
            cop.wait_title("impact warning W5 (cancel)")
            wait_js(cop.page, "window.cop.renderedFeatures === 0")
            assert cop.rendered_at(134.0, 38.0) == []
            assert cop.rendered_at(134.3, 38.0, layer="polys-fill") == []
            assert cop.titles() == ["impact warning W5 (cancel)"]
            assert cop.page.locator("#report-list li.ended").count() == 1
            cop.page.locator("#report-list li .title").first.click()
            cop.page.locator("#panel h4", has_text="Version history").wait_for()
            statuses = cop.page.locator("#panel table").first.locator("tr td:nth-child(3)")
            assert statuses.all_inner_texts() == ["issue", "update", "cancel"]
            cop.shot("cop-cancelled-warning.png")
        finally:
            cop.close()


def test_tracks_as_2525_symbols_with_a_legend_and_out_of_the_list(
    net: dict[str, NodeService], browser: Any
) -> None:
    cov = [[250_000.0 if i == j else 0.0 for j in range(6)] for i in range(6)]
    track = {
        "track_id": "T4",
        "nation": "USA",
        "nations": ["USA"],
        "time": "2026-11-23T06:00:00Z",
        "t_s": 0.0,
        "lat": 39.5,
        "lon": 129.0,
        "alt_m": 90_000.0,
        "position_ecef_m": [-3.1e6, 3.8e6, 4.1e6],
        "velocity_ecef_mps": [-1000.0, 500.0, 300.0],
        "covariance": cov,
    }
    usa = net["USA"]
    usa.publish("missile.track", SECRET, track)
    usa.publish("note", SECRET, {"title": "handover"})
    with serve(create_cop_app(usa)) as base:
        cop = Cop(browser, base)
        try:
            cop.wait_title("handover")
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [129, 39.5], zoom: 6})")
            (drawn,) = cop.wait_rendered(129.0, 39.5, layer="symbols")
            assert drawn["sidc"] == "SHAPWM---------" and drawn["title"] == "track T4 (USA)"
            legend = cop.page.locator("#legend li")
            assert legend.all_inner_texts() == ["hostile missile in flight"]
            assert legend.first.get_attribute("data-sidc") == "SHAPWM---------"
            assert legend.first.locator("canvas.legend-icon").count() == 1
            # tracks are on the map, not in the list, unless asked for
            assert cop.titles() == ["handover"]
            assert "1 track on the map" in cop.page.locator(".tracks-hidden").inner_text()
            cop.page.check("#f-tracks")
            cop.wait_title("track T4 (USA)")
            cop.shot("cop-symbols.png")
        finally:
            cop.close()


def test_banner_names_live_and_exercise_as_the_export_does(
    net: dict[str, NodeService], browser: Any
) -> None:
    """#16 item 7: the banner over mixed live and exercise content is the export's overall
    marking, computed in the page (cop.js) and by trilink.interop.marking alike; the COP draws
    the ellipse ring the server computed on the ellipsoid (trilink.geo.ellipse)."""
    from trilink.geo.ellipse import ellipse_ring

    usa = net["USA"]
    usa.publish(GEO_KIND, SECRET, {"title": "live", "lat": 35.0, "lon": 135.0})
    usa.publish(
        GEO_KIND,
        "EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR",
        {
            "title": "drill",
            "lat": 35.5,
            "lon": 135.5,
            "ellipse": {"semi_major_m": 20_000.0, "semi_minor_m": 8_000.0, "orientation_deg": 40},
        },
    )
    with serve(create_cop_app(usa)) as base:
        cop = Cop(browser, base)
        try:
            cop.page.evaluate("window.copInternals.map.jumpTo({center: [135.2, 35.2], zoom: 6})")
            cop.wait_rendered(135.0, 35.0)
            exported = cop.page.evaluate(
                "fetch('/api/export.geojson').then(r => r.headers.get('X-Classification'))"
            )
            expected = (
                "SECRET//REL TO USA, JPN (LIVE SECRET//REL TO USA, JPN"
                " + EXERCISE//CONFIDENTIAL//REL TO USA, JPN, KOR)"
            )
            assert exported == expected
            wait_js(
                cop.page, f"document.getElementById('banner-top').textContent === {expected!r}"
            )
            assert cop.banner()[0] == expected.upper()  # shown in capitals by CSS
            ring = cop.page.evaluate(
                """() => [...window.copInternals.reports.values()]
                    .flatMap(r => r.features)
                    .find(f => f.properties.role === 'ellipse').geometry.coordinates[0]"""
            )
            assert ring == ellipse_ring(135.5, 35.5, 20_000.0, 8_000.0, 40.0)
        finally:
            cop.close()


def test_the_crisis_board(net: dict[str, NodeService], browser: Any) -> None:
    """#17 item 9: open incidents with acknowledgement chips per nation and a deadline that
    counts down; assessments side by side; a partner's acknowledgement turns its chip green
    without a reload."""
    from test_web_crisis import ALL, ID, assessment, record

    jpn = net["JPN"]
    jpn.publish("crisis.incident", ALL, record("JPN"))
    net["USA"].publish("crisis.assessment", ALL, assessment("USA", "high", 0.9))
    jpn.publish("crisis.assessment", ALL, assessment("JPN", "critical", 0.5))
    replicate(net)
    with serve(create_cop_app(jpn)) as base:
        cop = Cop(browser, base)
        try:
            page = cop.page
            wait_js(page, "!document.getElementById('crisis-section').hidden")
            card = page.locator(f"#crisis-board article.incident[data-incident='{ID}']")
            assert "KN-23 launch toward the EEZ" in card.inner_text()
            assert card.locator(".chip.ack.no").all_inner_texts() == [
                "USA PENDING", "JPN PENDING", "KOR PENDING",
            ]  # fmt: skip
            first = card.locator(".due .countdown").inner_text()
            assert first.endswith(" left"), first
            wait_js(page, f"document.querySelector('.due .countdown').textContent !== {first!r}")
            level = page.locator("#crisis-board article.divergence tr[data-field=threat_level]")
            assert level.locator("td").all_inner_texts()[:2] == ["high", "critical"]
            assert "differ" in (level.get_attribute("class") or "")
            net["KOR"].publish("crisis.incident", ALL, record("KOR", acked_by=("KOR",)))
            replicate(net)
            wait_js(
                page, "document.querySelector(\"#crisis-board .chip.ack.yes[data-nation='KOR']\")"
            )
            page.locator("#crisis-section").screenshot(path=str(ARTIFACTS / "cop-crisis.png"))
        finally:
            cop.close()
