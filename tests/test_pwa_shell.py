"""The built PWA shell as Flask serves it from app.config["PWA_DIST"] (pwa/dist)."""

import json
import re
import struct
from pathlib import Path

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _built(app):
    dist = Path(app.config["PWA_DIST"])
    if not (dist / "index.html").is_file() or not (dist / "sw.js").is_file():
        pytest.fail(f"the PWA is not built: {dist} has no index.html/sw.js; run `make pwa` (cd pwa && npm ci && npm run build)")


def revalidated(resp):
    """index.html and sw.js must not be kept stale by the HTTP cache."""
    cache_control = resp.headers.get("Cache-Control", "")
    return "max-age=0" in cache_control or "no-cache" in cache_control


def png_size(data):
    """(width, height) from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def test_index_is_the_chinese_app_shell(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in html
    assert "manifest.webmanifest" in html
    assert 'name="viewport"' in html and 'name="theme-color"' in html
    assert "apple-touch-icon" in html
    assert "<noscript>" in html
    assert revalidated(resp)


def test_manifest_is_installable(client):
    resp = client.get("/manifest.webmanifest")
    assert resp.status_code == 200
    assert "json" in resp.mimetype
    manifest = json.loads(resp.get_data(as_text=True))
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["name"] == manifest["short_name"] == "消防预警"
    assert manifest["lang"] == "zh-CN"
    assert manifest["theme_color"].lower() == "#c62828"
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= set(sizes)
    for declared, icon in sizes.items():
        assert icon["type"] == "image/png"
        assert "maskable" in icon.get("purpose", "")
        got = client.get(icon["src"])
        assert got.status_code == 200, icon["src"]
        assert got.mimetype == "image/png"
        width, height = png_size(got.data)
        assert f"{width}x{height}" == declared, icon["src"]


def test_apple_touch_icon_is_a_png(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'rel="apple-touch-icon"[^>]*href="([^"]+)"', html).group(1)
    resp = client.get(href)
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert png_size(resp.data)[0] >= 180


def test_service_worker_is_served_for_the_whole_origin(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert "javascript" in resp.mimetype
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert revalidated(resp)
    body = resp.get_data(as_text=True)
    for event in ("install", "activate", "fetch", "push", "notificationclick"):
        assert f"addEventListener('{event}'" in body, event
    assert "__BUILD_ID__" not in body, "the build did not stamp the cache name"


def test_hashed_assets_are_cached_long(client):
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', html)
    assert scripts, "index.html loads no /assets/*.js"
    resp = client.get(scripts[0])
    assert resp.status_code == 200
    assert "javascript" in resp.mimetype
    assert "max-age=31536000" in resp.headers.get("Cache-Control", "")


def test_client_routes_get_the_shell(client):
    index = client.get("/").get_data()
    for path in ("/some/client/route", "/devices", "/login"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.mimetype == "text/html"
        assert resp.get_data() == index, path


def test_missing_file_with_extension_is_404(client):
    assert client.get("/icons/nope.png").status_code == 404


def test_unknown_api_path_is_json_404_not_the_shell(client):
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["code"] == "not_found"
    assert set(body) >= {"code", "message", "errors"}
