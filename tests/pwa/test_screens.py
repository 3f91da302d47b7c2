"""The other screens: home per role, settings (notifications asked for only on a
tap, language), my messages, and the layout at 320 px."""

import json

from playwright.sync_api import expect

from tests.pwa import helpers as h


def test_resident_home_shows_my_homes_devices_and_their_state(app, client, context, page):
    w = h.world(app)
    h.alarm(client, w)
    h.log_in_with_token(context, w, "resident")
    incident_id = h.incidents(client, w)[0]["id"]
    page.goto(f"/#/incidents/{incident_id}")
    page.locator("section.alarm-screen").get_by_role("button", name="查看详情和时间线").click()
    page.click("nav.tabs >> text=首页")
    expect(page.locator("h1")).to_have_text("您好，李住户")
    mine = page.locator(f"[data-serial='{w['serials']['household']}']")
    expect(mine).to_contain_text("烟雾报警")
    expect(mine).to_contain_text("86%")
    expect(page.locator(f"[data-serial='{w['serials']['site']}']")).to_have_count(0)  # not in my home
    expect(page.locator(".alert-banner")).to_contain_text("1 起报警尚未有人接警")


def test_supervisor_home_shows_overdue_hazards(app, context, page):
    w = h.world(app)
    h.log_in_with_token(context, w, "supervisor")
    page.goto("/")
    expect(page.get_by_role("heading", name="逾期隐患")).to_be_visible()
    expect(page.get_by_text("没有逾期的隐患")).to_be_visible()
    expect(page.get_by_role("link", name="新建检查")).to_have_attribute("href", "#/inspections")
    expect(page.locator(".count-total dd")).to_have_text("2")


ASKED = """
window.__asked = 0;
Notification.requestPermission = async () => { window.__asked += 1; return window.__answer || 'denied'; };
Object.defineProperty(Notification, 'permission', { get: () => window.__permission || 'default' });
"""


def test_notification_permission_is_asked_only_on_a_tap(app, context, page):
    w = h.world(app)
    h.log_in_with_token(context, w, "property_staff")
    context.add_init_script(ASKED)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("您好，王物业")
    page.click("nav.tabs >> text=设置")
    expect(page.locator("[data-permission]")).to_have_text("尚未询问")
    assert page.evaluate("window.__asked") == 0
    page.click("#enable-push")
    expect(page.locator("#push-message")).to_contain_text("通知权限已被拒绝")
    assert page.evaluate("window.__asked") == 1


def test_enable_notifications_subscribes_with_the_vapid_key_and_sends_it(app, context, page, push):
    w = h.world(app)
    sub = push.subscribe()  # what the browser's push service would give
    h.log_in_with_token(context, w, "property_staff")
    context.add_init_script(ASKED + f"""
window.__answer = 'granted';
PushManager.prototype.getSubscription = async () => window.__sub || null;
PushManager.prototype.subscribe = async (options) => {{
  const key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  window.__subscribedWith = {{ key, userVisibleOnly: options.userVisibleOnly }};
  const json = {json.dumps(sub)};
  window.__sub = {{ endpoint: json.endpoint, toJSON: () => ({{ ...json, expirationTime: null }}) }};
  return window.__sub;
}};
""")
    page.goto("/#/settings")
    assert h.sw_ready(page)["state"] == "activated"
    page.click("#enable-push")
    expect(page.get_by_text("已开启报警通知")).to_be_visible()
    assert page.evaluate("window.__subscribedWith") == {"key": app.config["VAPID_PUBLIC_KEY"], "userVisibleOnly": True}
    with app.app_context():
        from api.notify.models import PushSubscription

        row = PushSubscription.query.filter_by(endpoint=sub["endpoint"]).one()
        assert row.user_id == w["people"]["property_staff"] and row.p256dh == sub["keys"]["p256dh"]
    expect(page.locator("[data-subscribed]")).to_have_text("已开启")


def test_english_switch_and_my_messages(app, client, context, page):
    w = h.world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    # A confirmed fire tells everyone by push and SMS at once (this resident has no push).
    assert client.post(f"/api/v1/incidents/{incident_id}/confirm-fire", headers=h.auth(w, "operator")).status_code == 200
    h.run_notify_worker(app)
    h.log_in_with_token(context, w, "resident")
    page.goto("/#/messages")
    expect(page.locator("h1")).to_have_text("我的消息")
    sms = page.locator(".message", has_text="短信")
    expect(sms).to_contain_text("火警")
    expect(sms).to_contain_text("阳明花园3栋")
    expect(sms.get_by_role("link", name="查看事件")).to_have_attribute("href", f"#/incidents/{incident_id}")

    page.click("nav.tabs >> text=设置")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Settings")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.tabs")).to_contain_text("Messages")
    h.wait_for(lambda: client.get("/api/v1/me", headers=h.auth(w, "resident")).get_json()["locale"] == "en",
               what="the locale on the server", page=page)


def test_alarm_and_incident_screens_fit_320_px(app, client, context, page):
    w = h.world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    page.set_viewport_size({"width": 320, "height": 568})
    h.log_in_with_token(context, w, "property_staff")
    page.goto(f"/#/incidents/{incident_id}")
    buttons = page.locator("section.alarm-screen .btn-alarm")
    expect(buttons).to_have_count(3)
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box["height"] >= 64 and box["x"] >= 0 and box["x"] + box["width"] <= 320, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.get_by_role("button", name="查看详情和时间线").click()
    expect(page.locator(".incident-head")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
