"""Notices on the phone: my notices (GET /me/notices, mark read), and a notice push
whose notification opens the screen it names (`url`), not an incident."""

from playwright.sync_api import expect

from tests.pwa import helpers as h
from tests.pwa.test_push import NOTIFICATIONS


def test_my_notices_and_a_notice_push_opens_its_screen(app, client, context, page, live_server):
    from api.extensions import db
    from api.notices.services import raise_notice

    w = h.world(app)
    with app.app_context():
        notice = raise_notice("hazard_overdue", "hazard_overdue:test", [w["people"]["property_staff"]],
                              ("隐患“楼梯间堆物”已超过整改期限", "Hazard past its deadline"), level=3, link="#/hazards/12")
        db.session.commit()
        notice_id = notice.id
    context.grant_permissions(["notifications"], origin=live_server)
    h.log_in_with_token(context, w, "property_staff")
    page.goto("/#/settings")
    page.get_by_role("link", name="我的提醒").click()
    item = page.locator(f"[data-notice='{notice_id}']")
    expect(item).to_contain_text("隐患“楼梯间堆物”已超过整改期限")
    expect(item).to_contain_text("未读")
    expect(item.get_by_role("link", name="查看")).to_have_attribute("href", "#/hazards/12")
    item.get_by_role("button", name="标为已读").click()
    expect(item).not_to_contain_text("未读")
    mine = client.get("/api/v1/me/notices", headers=h.auth(w, "property_staff")).get_json()["items"]
    assert mine[0]["id"] == notice_id and mine[0]["read_at"]

    assert h.sw_ready(page)["controlled"]
    sw = h.ServiceWorkerDevTools(context, page, live_server)
    sw.deliver({"incident_id": None, "notice_id": notice_id, "level": 3, "kind": "notice", "title": "消防提醒",
                "body": "隐患已超过整改期限", "site": "", "url": "/#/hazards/12", "receipt": None})
    shown = h.wait_for(lambda: page.evaluate(NOTIFICATIONS, f"notice-{notice_id}"), what="the notice", page=page)
    assert shown[0]["data"]["url"] == "/#/hazards/12" and shown[0]["actions"] == []
    worker = context.service_workers[0]
    assert worker.evaluate("(data) => handleClick({ data, close() {} }, '')", shown[0]["data"]) == "opened"
    page.wait_for_url("**/#/hazards/12")
