"""Installable: Chrome's own check (DevTools Page.getInstallabilityErrors) finds no
problem with the manifest, icons and service worker; the shell starts offline.

This module's browser is a persistent profile: Playwright's ordinary contexts are
off the record, and Chrome never offers to install from those ('in-incognito')."""

import pytest
from playwright.sync_api import expect

from tests.pwa import helpers as h
from tests.pwa.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT


@pytest.fixture(scope="module")
def profile(live_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT, is_mobile=True,
            has_touch=True, service_workers="allow")
        ctx.set_default_timeout(10_000)
        yield ctx
        ctx.close()


def test_chrome_finds_the_app_installable_and_its_shell_starts_offline(app, profile, live_server):
    page = profile.new_page()
    page.goto("/")
    ready = h.sw_ready(page)
    assert ready == {"state": "activated", "scope": f"{live_server}/", "controlled": True}
    cdp = profile.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"{live_server}/manifest.webmanifest" and manifest["errors"] == []
    parsed = manifest["manifest"]
    assert parsed["display"] == "kStandalone" and parsed["startUrl"] == f"{live_server}/"
    assert parsed["name"] == "消防预警" and parsed["themeColor"] == "rgba(198,40,40,1)"
    assert {i["sizes"] for i in parsed["icons"]} >= {"192x192", "512x512"}
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []

    profile.set_offline(True)
    try:
        page.goto("/#/login")
        expect(page.locator("h1")).to_have_text("登录")
        expect(page.locator(".offline")).to_be_visible()
    finally:
        profile.set_offline(False)
    page.close()
