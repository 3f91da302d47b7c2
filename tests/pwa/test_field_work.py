"""Field work on the phone, in a real browser: a patrol done with no signal, its photo
kept in IndexedDB until sent, one record on the server; a failed item turned into a
hazard in one tap; a damaged hydrant reported with a photo."""

from playwright.sync_api import expect

from tests.pwa import field_helpers as fh
from tests.pwa import helpers as h


def on_site(context, live_server):
    context.grant_permissions(["geolocation"], origin=live_server)
    context.set_geolocation(fh.PHONE_AT)


def test_a_patrol_done_offline_with_a_photo_reaches_the_server_once(app, client, context, page, live_server, tmp_path):
    w = fh.patrol_world(app)
    cp = w["checkpoints"][0]
    photo = fh.jpeg(tmp_path / "exit.jpg")
    on_site(context, live_server)
    h.log_in_with_token(context, w, "grid_worker")
    page.goto("/")
    expect(page.locator(f"[data-plan='{w['plan_id']}']")).to_contain_text("已巡 0/2")  # due today, on home
    # The label's URL, as the phone's camera app opens it.
    assert cp["url"].endswith(f"/#/scan/{cp['code']}")
    page.goto(f"/#/scan/{cp['code']}")
    expect(page.locator("h1")).to_have_text(cp["name"])
    expect(page.get_by_text("阳明花园日巡")).to_be_visible()
    assert h.sw_ready(page)["controlled"]

    # In the stairwell: no signal.
    context.set_offline(True)
    expect(page.locator(".offline")).to_be_visible()
    page.locator("[data-item=extinguisher] [data-result=pass]").click()
    failed = page.locator("[data-item=exit_clear]")
    failed.locator("[data-result=fail]").click()
    failed.locator("input[type=file]").set_input_files(photo)
    expect(failed.locator(".photo-thumbs img")).to_have_count(1)
    failed.locator("textarea").fill("楼梯间堆放纸箱")
    page.locator("#note-remark").fill("B 座一层")
    expect(page.locator(".gps")).to_contain_text("已定位")
    page.get_by_role("button", name="提交巡查记录").click()

    expect(page.locator("h1")).to_have_text("巡查记录已保存")
    item = page.locator(".outbox-item[data-what=patrol_record]")
    expect(item).to_have_attribute("data-state", "queued")
    expect(item).to_contain_text("照片已上传 0/1")
    # Kept on the phone as a Blob, resized to at most 1600 px.
    kept = page.evaluate(fh.OUTBOX_PHOTOS)
    assert kept == [{"what": "patrol_record", "state": "queued", "photos": [
        {"blob": True, "type": "image/jpeg", "bytes": kept[0]["photos"][0]["bytes"], "width": 1600, "height": 1200,
         "uploaded": False}]}], kept
    assert fh.records(client, w) == []

    context.set_offline(False)
    expect(item).to_have_attribute("data-state", "sent", timeout=20_000)
    # Once on the server, the failed item becomes a hazard with one tap.
    page.locator("[data-hazard-item=exit_clear]").click()
    expect(page.locator("[data-hazard-link=exit_clear]")).to_have_text("查看“疏散通道畅通”的隐患", timeout=15_000)
    # Sent: the Blob is gone from IndexedDB.
    assert all(p == {"blob": False, "uploaded": True} for i in page.evaluate(fh.OUTBOX_PHOTOS) for p in i["photos"])
    # The app starts again: its replay at start sends nothing twice.
    page.reload()
    page.goto("/#/outbox")
    expect(page.locator(".outbox-item[data-state=sent]")).to_have_count(2)
    page.goto("/")
    expect(page.locator(f"[data-plan='{w['plan_id']}']")).to_contain_text("已巡 1/2")

    [record] = fh.records(client, w)
    assert record["checkpoint_id"] == cp["id"] and record["scanned"] is True
    assert record["far_from_checkpoint"] is False and record["location"]["accuracy_m"] == 12
    items = {i["key"]: i for i in record["items"]}
    assert items["extinguisher"]["result"] == "pass"
    assert items["remark"]["note"] == "B 座一层"
    exit_clear = items["exit_clear"]
    assert exit_clear["result"] == "fail" and exit_clear["note"] == "楼梯间堆放纸箱"
    assert len(exit_clear["photos"]) == 1
    assert fh.image_size(client, exit_clear["photos"][0]["url"]) == (1600, 1200)
    assert exit_clear["hazard_id"] is not None
    hazard = client.get(f"/api/v1/hazards/{exit_clear['hazard_id']}", headers=h.auth(w, "supervisor")).get_json()
    assert hazard["state"] == "open" and hazard["source"]["type"] == "patrol"


def test_a_damaged_hydrant_is_reported_with_a_photo(app, client, context, page, live_server, tmp_path):
    w = fh.hydrant_world(app)
    photo = fh.jpeg(tmp_path / "hydrant.jpg", size=(1200, 1600))
    on_site(context, live_server)
    h.log_in_with_token(context, w, "grid_worker")
    page.goto("/#/field")
    page.get_by_role("link", name="附近的消火栓").click()
    card = page.locator(f"[data-hydrant='{w['hydrant_id']}']")
    expect(card).to_contain_text("XHS-0042")
    expect(card).to_contain_text("米")  # its distance from the phone
    card.click()
    expect(page.locator("h1")).to_have_text("消火栓 XHS-0042")
    page.get_by_role("link", name="上报损坏").click()

    page.get_by_role("button", name="提交上报").click()
    expect(page.locator(".field-error")).to_have_text("请选择损坏情况")
    page.locator("[data-category=leaking]").click()
    page.locator("input[type=file]").set_input_files(photo)
    expect(page.locator(".photo-thumbs img")).to_have_count(1)
    page.locator("#report-note").fill("阀门处持续漏水")
    page.get_by_role("button", name="提交上报").click()
    expect(page.locator("h1")).to_have_text("感谢您的上报")
    expect(page.locator(".outbox-item")).to_have_attribute("data-state", "sent", timeout=15_000)

    page.get_by_role("link", name="我的上报").click()
    report = page.locator(".report")
    expect(report).to_have_count(1)
    expect(report).to_contain_text("漏水")
    expect(report).to_contain_text("待受理")
    expect(report.locator(".photo-thumbs img")).to_have_count(1)

    resp = client.get("/api/v1/hydrant-reports?mine=true", headers=h.auth(w, "grid_worker"))
    [saved] = resp.get_json()["items"]
    assert saved["hydrant_id"] == w["hydrant_id"] and saved["category"] == "leaking"
    assert saved["note"] == "阀门处持续漏水" and saved["location"]["accuracy_m"] == 12
    assert len(saved["photos"]) == 1 and fh.image_size(client, saved["photos"][0]["url"]) == (1200, 1600)
    assert saved["work_order"]["status"] == "open"


def test_the_service_worker_sends_a_report_and_its_photo_with_the_app_closed(app, client, context, page, live_server,
                                                                              tmp_path):
    w = fh.hydrant_world(app)
    on_site(context, live_server)
    h.log_in_with_token(context, w, "grid_worker")
    page.goto(f"/#/hydrants/{w['hydrant_id']}/report")
    assert h.sw_ready(page)["controlled"]
    context.set_offline(True)
    page.locator("[data-category=cap_missing]").click()
    page.locator("input[type=file]").set_input_files(fh.jpeg(tmp_path / "cap.jpg", size=(800, 600)))
    expect(page.locator(".photo-thumbs img")).to_have_count(1)
    page.get_by_role("button", name="提交上报").click()
    expect(page.locator(".outbox-item")).to_have_attribute("data-state", "queued")

    # The phone locks the app away; the signal comes back; the browser fires the sync.
    blank = context.new_page()
    sw = h.ServiceWorkerDevTools(context, blank, live_server)
    page.close()
    context.set_offline(False)
    worker = context.service_workers[0]
    sw.sync("outbox")
    mine = lambda: client.get("/api/v1/hydrant-reports?mine=true", headers=h.auth(w, "grid_worker")).get_json()["items"]  # noqa: E731
    h.wait_for(mine, what="the report on the server", page=blank, timeout=30)
    h.wait_for(lambda: worker.evaluate(fh.OUTBOX_PHOTOS) == [
        {"what": "hydrant_report", "state": "sent", "photos": [{"blob": False, "uploaded": True}]}],
        what="the item marked sent, its Blob dropped", page=blank, timeout=30)
    [report] = mine()
    assert report["category"] == "cap_missing" and len(report["photos"]) == 1
    assert fh.image_size(client, report["photos"][0]["url"]) == (800, 600)
    blank.close()


def test_field_screens_fit_320_px_with_large_targets(app, client, context, page, live_server, artifacts):
    w = fh.patrol_world(app, login_roles=("grid_worker", "supervisor"))
    on_site(context, live_server)
    page.set_viewport_size({"width": 320, "height": 640})
    h.log_in_with_token(context, w, "supervisor")
    with app.app_context():
        site_id = fh._site().id
    screens = {"checklist": (f"/#/scan/{w['checkpoints'][0]['code']}", "[data-result]"),
               "hydrant-report": ("/#/hydrants/report", "[data-category]"),
               "inspection": (f"/#/inspections/new/{site_id}", "[data-result]"), "field": ("/#/field", ".tile")}
    for name, (url, ready) in screens.items():
        page.goto(url)
        expect(page.locator(ready).first).to_be_visible()
        if name == "inspection":
            page.locator("[data-result=fail]").first.click()
            expect(page.locator("[data-severity=major]").first).to_be_visible()
        targets = page.locator("main .btn:visible, main .tile, main [data-severity]:visible")
        assert targets.count() >= 3, name
        for i in range(targets.count()):
            box = targets.nth(i).bounding_box()
            assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 320, (name, i, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, name
        page.screenshot(path=str(artifacts / f"field-{name}-320.png"), full_page=True)


def test_the_maintainer_closes_a_work_order_with_a_photo_and_the_reporter_is_told(app, client, context, page,
                                                                                   tmp_path):
    w = fh.work_order_world(app)
    h.log_in_with_token(context, w, "maintainer")
    page.goto("/#/field")
    page.get_by_role("link", name="维修工单").click()
    page.locator(f"[data-work-order='{w['work_order_id']}']").click()
    expect(page.locator("h1")).to_have_text("消火栓 XHS-0042")
    page.locator("[data-status=fixed]").click()
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".field-error")).to_have_text("标记为已修复时，请拍一张修好后的照片")
    page.locator("input[type=file]").set_input_files(fh.jpeg(tmp_path / "fixed.jpg", size=(640, 480)))
    expect(page.locator(".photo-thumbs img")).to_have_count(1)
    page.locator("#wo-note").fill("更换阀门密封圈")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".tag.wo-fixed").first).to_have_text("已修复", timeout=15_000)
    expect(page.locator(".timeline > li")).to_contain_text("更换阀门密封圈")

    wo = client.get(f"/api/v1/work-orders/{w['work_order_id']}", headers=h.auth(w, "maintainer")).get_json()
    assert wo["status"] == "fixed" and len(wo["updates"]) == 1 and len(wo["updates"][0]["photos"]) == 1
    told = client.get("/api/v1/me/notices", headers=h.auth(w, "grid_worker")).get_json()["items"]
    assert len(told) == 1, told


def test_a_label_never_opened_on_this_phone_opens_offline_from_the_kept_plans(app, context, page):
    w = fh.patrol_world(app)
    cp = w["checkpoints"][1]
    h.log_in_with_token(context, w, "grid_worker")
    page.goto("/")
    expect(page.locator(f"[data-plan='{w['plan_id']}']")).to_be_visible()  # the plans, kept on the phone
    context.set_offline(True)
    page.evaluate("(code) => { location.hash = `#/scan/${code}`; }", cp["code"])
    expect(page.locator("h1")).to_have_text(cp["name"])
    expect(page.locator(".asof.stale")).to_contain_text("离线数据")
    expect(page.locator("[data-item=exit_clear] [data-result]")).to_have_count(3)
    # A label this phone knows nothing about says so instead.
    page.evaluate("() => { location.hash = '#/scan/99999.AAAAAAAAAAAA'; }")
    expect(page.locator(".alert")).to_contain_text("没有网络，本机也没有这个巡查点的资料")
