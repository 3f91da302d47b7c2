"""The in-app scanner reads a checkpoint's QR label from the camera: chromium's fake
camera plays a Y4M video of the label the patrol plan prints (its signed URL), and the
app opens that checkpoint's checklist. Its own browser: the camera file is a launch
argument, and the code in it is made by this test."""

from playwright.sync_api import expect, sync_playwright

from tests.pwa import conftest as pc
from tests.pwa import field_helpers as fh
from tests.pwa import helpers as h


def test_the_camera_reads_a_label_and_opens_its_checklist(app, live_server, tmp_path):
    w = fh.patrol_world(app)
    cp = w["checkpoints"][1]
    video = fh.qr_y4m(tmp_path / "label.y4m", cp["url"])
    args = pc.CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                               f"--use-file-for-fake-video-capture={video}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=pc.CHROMIUM, args=args)
        try:
            context = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
                                          viewport=pc.VIEWPORT, is_mobile=True, has_touch=True)
            context.set_default_timeout(15_000)
            context.grant_permissions(["camera"], origin=live_server)
            h.log_in_with_token(context, w, "grid_worker")
            page = context.new_page()
            scripts = []
            page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url.rsplit("/", 1)[1]))
            page.goto("/#/field")
            expect(page.get_by_role("link", name="扫码巡查")).to_be_visible()
            assert not [s for s in scripts if s.startswith("jsQR")], scripts  # not in the first load
            page.get_by_role("link", name="扫码巡查").click()
            expect(page.locator("h1")).to_have_text(cp["name"], timeout=20_000)
            assert page.url.endswith(f"#/scan/{cp['code']}")
            expect(page.locator("[data-item=extinguisher] [data-result]")).to_have_count(3)
            # The camera is released once the label is read.
            assert page.evaluate("document.querySelector('video') === null")
            # No BarcodeDetector in this chromium: the decoder came as its own script, only now.
            assert [s for s in scripts if s.startswith("jsQR")], scripts
            context.close()
        finally:
            browser.close()
