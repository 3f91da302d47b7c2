"""A hazard from start to end on two phones: the supervisor inspects a site, a failed
item becomes a hazard for the property staff, who submits the rectification with a
photo; the supervisor accepts it. Every step goes through the outbox."""

from playwright.sync_api import expect

from tests.pwa import conftest as pc
from tests.pwa import field_helpers as fh
from tests.pwa import helpers as h


def test_inspection_hazard_rectification_and_review(app, client, browser, context, page, live_server, tmp_path):
    w = h.world(app, login_roles=("supervisor", "property_staff"))
    h.log_in_with_token(context, w, "supervisor")
    page.goto("/#/inspections")
    page.locator("#inspect-site").select_option(label=fh.SITE_NAME)
    page.get_by_role("button", name="开始检查").click()
    rows = page.locator(".check-item:has([data-result])")
    expect(rows.first).to_be_visible()
    for i in range(1, rows.count()):
        rows.nth(i).locator("[data-result=pass]").click()
    first = rows.first
    key = first.get_attribute("data-item")
    first.locator("[data-result=fail]").click()
    first.locator("[data-severity=critical]").click()
    first.locator(f"#who-{key}").select_option(label="王物业")
    first.locator("input[type=file]").set_input_files(fh.jpeg(tmp_path / "found.jpg", size=(900, 700)))
    expect(first.locator(".photo-thumbs img")).to_have_count(1)
    first.locator("textarea").fill("安全出口被杂物堵塞")
    page.get_by_role("button", name="提交检查结果").click()
    sent = page.locator(".outbox-item[data-what=inspection]")
    expect(sent).to_have_attribute("data-state", "sent", timeout=15_000)
    sent.get_by_role("link", name="查看").click()
    page.get_by_role("link", name="查看隐患").click()
    expect(page.locator(".tag.state-open")).to_have_text("待整改")
    hazard_id = int(page.url.rsplit("/", 1)[1])

    # The property staff's phone: the hazard is theirs to fix.
    staff = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=pc.VIEWPORT,
                                is_mobile=True, has_touch=True)
    try:
        staff.set_default_timeout(10_000)
        h.log_in_with_token(staff, w, "property_staff")
        phone = staff.new_page()
        phone.goto("/#/hazards")
        phone.locator(f"[data-hazard='{hazard_id}']").click()
        form = phone.locator(".rectify-form")
        form.get_by_role("button", name="提交整改结果").click()
        expect(form.locator(".field-error")).to_have_text("请至少拍一张整改后的照片")
        form.locator("input[type=file]").set_input_files(fh.jpeg(tmp_path / "fixed.jpg", size=(900, 700)))
        expect(form.locator(".photo-thumbs img")).to_have_count(1)
        form.locator("textarea").fill("杂物已清理")
        form.get_by_role("button", name="提交整改结果").click()
        expect(phone.locator(".tag.state-submitted")).to_have_text("待验收", timeout=15_000)
    finally:
        staff.close()

    page.reload()
    review = page.locator(".review-form")
    review.get_by_role("button", name="退回整改").click()
    expect(review.locator(".field-error")).to_have_text("退回时请写明还有什么问题")
    review.get_by_role("button", name="验收通过").click()
    expect(page.locator(".tag.state-closed")).to_have_text("已关闭", timeout=15_000)
    expect(page.locator(".timeline > li")).to_have_count(3)

    detail = client.get(f"/api/v1/hazards/{hazard_id}", headers=h.auth(w, "supervisor")).get_json()
    assert detail["state"] == "closed" and detail["severity"] == "critical"
    assert detail["responsible"]["id"] == w["people"]["property_staff"]
    assert [e["kind"] for e in detail["history"]] == ["created", "submitted", "accepted"]
    assert len(detail["photos"]) == 1 and len(detail["history"][1]["photos"]) == 1
