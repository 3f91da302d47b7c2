"""In the browser: markup typed into names is shown as text, never run; the PWA and the
API docs page work under the Content-Security-Policy (no violation reported)."""

from playwright.sync_api import expect

from api.extensions import db
from tests.pwa import helpers as h

XSS = "<img src=x onerror=window.__xss=1>"

# Every CSP violation the page reports, kept for the test to read.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def _hostile_world(app):
    w = h.world(app)
    with app.app_context():
        from api.devices.models import Device
        from api.places.models import Place

        device = Device.query.filter_by(serial=w["serials"]["household"]).one()
        device.location_text = f"厨房 {XSS}"
        site = db.session.get(Place, db.session.get(Place, device.place_id).parent_id)
        site.name, site.address = f"阳明花园 {XSS}", f"{XSS} 阳明路 18 号"
        db.session.commit()
    return w


def test_markup_in_place_and_device_names_is_shown_as_text_and_never_runs(app, client, context, page):
    w = _hostile_world(app)
    h.alarm(client, w)
    incident_id = h.incidents(client, w)[0]["id"]
    h.log_in_with_token(context, w, "resident")
    context.add_init_script(WATCH_CSP)
    page.goto(f"/#/incidents/{incident_id}")
    alarm = page.locator("section.alarm-screen")
    expect(alarm.locator("h1")).to_have_text(f"阳明花园 {XSS}")
    expect(alarm.get_by_text(f"{XSS} 阳明路 18 号")).to_be_visible()
    alarm.get_by_role("button", name="查看详情和时间线").click()
    expect(page.get_by_text(f"厨房 {XSS}").first).to_be_visible()  # the alert's location
    page.click("nav.tabs >> text=首页")
    expect(page.get_by_text(f"阳明花园 {XSS}").first).to_be_visible()  # the incident in the list
    page.click("nav.tabs >> text=设备")
    expect(page.get_by_text(f"厨房 {XSS}").first).to_be_visible()  # the device in my home
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("img[src='x']").count() == 0  # no element was made from the text
    assert page.evaluate("window.__csp") == []  # the PWA needs nothing the policy refuses


def test_the_api_docs_page_works_under_the_policy(context, page, live_server):
    context.add_init_script(WATCH_CSP)
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Fire alarm platform API")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/login").first).to_be_visible()
    assert page.evaluate("window.__csp") == []
