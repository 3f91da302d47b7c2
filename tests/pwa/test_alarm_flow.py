"""The phone's job, in a real browser: log in, get the alarm, act on it — also offline."""

import re

from playwright.sync_api import expect

from tests.pwa import helpers as h


def test_login_then_home_per_role(app, client, page, artifacts):
    w = h.world(app)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.screenshot(path=str(artifacts / "login.png"))
    page.fill("#login-phone", w["phones"]["property_staff"])
    page.fill("#login-password", h.PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("您好，王物业")
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("首页")
    expect(page.get_by_text("目前没有进行中的报警")).to_be_visible()
    expect(page.locator(".count-total dd")).to_have_text("2")

    page.click("nav.tabs >> text=设备")
    expect(page.locator(f"[data-serial='{w['serials']['household']}']")).to_contain_text("86%")
    expect(page.locator(f"[data-serial='{w['serials']['site']}']")).to_contain_text("-101 dBm")
    page.screenshot(path=str(artifacts / "devices.png"))


def test_alarm_appears_acknowledge_then_offline_outcome_reaches_server_once(app, client, context, page, artifacts):
    w = h.world(app)
    h.log_in_with_token(context, w, "property_staff")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("您好，王物业")
    assert h.sw_ready(page)["state"] == "activated"
    keys = []
    page.on("request", lambda r: r.method == "POST" and "/incidents/" in r.url
            and keys.append((r.url.rsplit("/", 1)[1], r.headers.get("idempotency-key"))))

    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    # The app notices by itself (it polls while visible) and goes full screen.
    alarm = page.locator("section.alarm-screen")
    expect(alarm).to_be_visible(timeout=15_000)
    assert page.url.endswith(f"#/incidents/{incident_id}")
    expect(alarm.locator("h1")).to_have_text("阳明花园3栋")
    expect(alarm).to_contain_text("长沙市岳麓区阳明路 18 号")
    expect(alarm).to_contain_text("3 楼 302 厨房")
    expect(alarm).to_contain_text("烟雾报警")
    expect(alarm.locator("[data-action=acknowledge]")).to_contain_text("我在核实")
    expect(alarm.locator("[data-action=confirm-fire]")).to_have_attribute("href", "tel:119")
    expect(alarm.locator("[data-action=false-alarm]")).to_contain_text("误报")
    page.screenshot(path=str(artifacts / "alarm.png"))

    alarm.locator("[data-action=acknowledge]").click()
    expect(page.locator("section.alarm-screen")).to_have_count(0)
    expect(page.locator(".outbox-item[data-state=sent]")).to_have_count(1)
    assert h.incident(client, w, incident_id)["state"] == "acknowledged"
    expect(page.locator(".incident-head .state-acknowledged")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("已接警")
    page.screenshot(path=str(artifacts / "incident.png"))
    # Home lists it, with the health of the property company's devices.
    page.click("nav.tabs >> text=首页")
    card = page.locator(f"a.incident-card[data-incident='{incident_id}']")
    expect(card).to_contain_text("核实中")
    page.screenshot(path=str(artifacts / "home.png"))
    card.click()
    expect(page.locator(".incident-head h1")).to_have_text("阳明花园3栋")

    # No signal: the outcome is kept on the phone, visibly queued.
    context.set_offline(True)
    expect(page.locator(".offline")).to_be_visible()
    form = page.locator("form.outcome-form")
    form.get_by_label("误报").check()
    form.get_by_label("做饭油烟").check()
    form.locator("button[type=submit]").click()
    queued = page.locator(".outbox-item", has_text="关闭事件")
    expect(queued).to_have_attribute("data-state", "queued")
    expect(page.locator("a.waiting")).to_contain_text("1 条操作待发送")
    # Still offline, a reload starts from the cached shell and the kept data, with its time.
    page.reload()
    expect(page.locator(".incident-head h1")).to_have_text("阳明花园3栋")
    expect(page.locator(".asof.stale")).to_contain_text("离线数据，截至")
    expect(page.locator(".outbox-item", has_text="关闭事件")).to_have_attribute("data-state", "queued")
    assert h.incident(client, w, incident_id)["state"] == "acknowledged"

    context.set_offline(False)
    expect(page.locator(".outbox-item", has_text="关闭事件")).to_have_attribute("data-state", "sent", timeout=15_000)
    expect(page.locator(".incident-head .state-closed")).to_be_visible()
    # Start the app again: the replay at start sends nothing twice.
    page.reload()
    expect(page.locator(".incident-head .state-closed")).to_be_visible()

    detail = h.incident(client, w, incident_id)
    assert detail["state"] == "closed"
    assert (detail["outcome"], detail["false_alarm_reason"]) == ("false_alarm", "cooking")
    closes = [e for e in detail["timeline"] if e["kind"] == "action" and "closed" in e["message"]]
    assert len(closes) == 1, detail["timeline"]
    acks = [e for e in detail["timeline"] if e["kind"] == "action" and "acknowledged" in e["message"]]
    assert len(acks) == 1, detail["timeline"]
    # Every action carried a UUID made on the phone as its Idempotency-Key; replays reuse it.
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert keys and all(key and uuid.match(key) for _, key in keys), keys
    assert len({key for action, key in keys if action == "close"}) == 1, keys


def test_a_stale_action_shows_the_servers_message_and_can_be_discarded(app, client, context, page):
    w = h.world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    h.log_in_with_token(context, w, "property_staff")
    page.goto(f"/#/incidents/{incident_id}")
    alarm = page.locator("section.alarm-screen")
    expect(alarm).to_be_visible()

    context.set_offline(True)
    alarm.locator("[data-action=false-alarm]").click()
    alarm.locator("[data-reason=steam]").click()
    item = page.locator(".outbox-item", has_text="关闭事件")
    expect(item).to_have_attribute("data-state", "queued")
    # Meanwhile someone else closes it.
    resp = client.post(f"/api/v1/incidents/{incident_id}/close", json={"outcome": "test"}, headers=h.auth(w, "operator"))
    assert resp.status_code == 200, resp.get_json()

    context.set_offline(False)
    expect(item).to_have_attribute("data-state", "failed", timeout=15_000)
    expect(item).to_contain_text("该事件已由他人关闭")
    detail = h.incident(client, w, incident_id)
    assert (detail["state"], detail["outcome"]) == ("closed", "test")  # not overwritten
    expect(page.locator("a.waiting")).to_contain_text("1 条操作发送失败")
    item.get_by_role("button", name="重试").click()
    expect(item).to_have_attribute("data-state", "failed")
    expect(item).to_contain_text("该事件已由他人关闭")
    item.get_by_role("button", name="放弃").click()
    expect(page.locator(".outbox-item")).to_have_count(0)
    expect(page.locator(".incident-head .state-closed")).to_be_visible()


OUTBOX = """() => new Promise((done, fail) => {
  const open = indexedDB.open('fa', 1);
  open.onerror = () => fail(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('outbox').objectStore('outbox').getAll();
    req.onsuccess = () => { done(req.result.map((i) => ({ action: i.action, state: i.state }))); open.result.close(); };
  };
})"""


def test_background_sync_replays_the_outbox_with_the_app_closed(app, client, context, page, live_server):
    w = h.world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    h.log_in_with_token(context, w, "resident")
    page.goto(f"/#/incidents/{incident_id}")
    assert h.sw_ready(page)["controlled"]
    check = page.locator("section.alarm-screen [data-action=acknowledge]")
    expect(check).to_be_visible()
    context.set_offline(True)
    check.click()
    expect(page.locator(".outbox-item[data-state=queued]")).to_have_count(1)

    # The phone locks the app away; the signal comes back; the browser fires the sync.
    blank = context.new_page()
    sw = h.ServiceWorkerDevTools(context, blank, live_server)
    page.close()
    context.set_offline(False)
    worker = context.service_workers[0]
    assert worker.evaluate("self.clients.matchAll({ type: 'window' }).then((c) => c.length)") == 0
    sw.sync("outbox")
    # Generous waits: under a loaded CI machine the service worker's IndexedDB writes can lag.
    h.wait_for(lambda: h.incident(client, w, incident_id)["state"] == "acknowledged", what="the replay", page=blank,
               timeout=30)
    seen = []
    try:
        h.wait_for(lambda: seen.append(worker.evaluate(OUTBOX)) or seen[-1] == [{"action": "acknowledge",
                                                                               "state": "sent"}],
                   what="the item marked sent", page=blank, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the outbox held {seen[-1:]}") from None
    acks = [e for e in h.incident(client, w, incident_id)["timeline"] if "acknowledged" in e["message"]]
    assert len(acks) == 1 and "李住户" in acks[0]["message"]
    blank.close()


def test_real_fire_confirms_on_the_server_and_dials_119(app, client, context, page):
    w = h.world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    h.log_in_with_token(context, w, "property_staff")
    page.goto(f"/#/incidents/{incident_id}")
    fire = page.locator("section.alarm-screen [data-action=confirm-fire]")
    expect(fire).to_have_attribute("href", "tel:119")
    fire.click()
    expect(page.locator(".outbox-item[data-state=sent]")).to_contain_text("确认真实火情")
    detail = h.incident(client, w, incident_id)
    assert detail["confirmed_at"] and detail["level"] == 1 and detail["state"] == "acknowledged"
    expect(page.locator(".incident-head .level-1")).to_be_visible()
