"""Message texts: Chinese first, English for those who chose it; an SMS fits
one 70-character segment where it can."""

from api.common.clock import SHANGHAI

LEVEL_ZH = {1: "一级(红)", 2: "二级(橙)", 3: "三级(黄)", 4: "四级(蓝)"}
LEVEL_EN = {1: "L1 red", 2: "L2 orange", 3: "L3 yellow", 4: "L4 blue"}


def _what(incident, english):
    from api.ingest.processing import label

    alert = incident.alerts[0] if incident.alerts else None
    if alert is None:
        return ("alarm" if english else "报警"), ""
    what = alert.condition.replace("_", " ") if english else label(alert.condition)
    where = alert.device.location_text or "" if alert.device else ""
    return what, where


def text(incident, kind, locale="zh-CN", base_url=""):
    english = (locale or "").startswith("en")
    site = incident.site
    when = (incident.opened_at.astimezone(SHANGHAI)).strftime("%H:%M")
    # /i/<id> redirects into the PWA: a short link keeps an SMS within one segment.
    link = f"{base_url.rstrip('/')}/i/{incident.id}" if base_url else f"/i/{incident.id}"
    what, where = _what(incident, english)
    if kind == "all_clear":
        outcome = incident.outcome or "closed"
        if english:
            return f"[Fire alert] All clear at {site.name}: {outcome.replace('_', ' ')}. {link}"
        label = {"false_alarm": "误报", "real_fire": "火情已处置", "test": "测试", "unknown": "已关闭"}.get(outcome, "已关闭")
        return f"【消防预警】解除：{site.name}{label}。{link}"
    if kind == "fire":
        if english:
            return f"[FIRE] Confirmed fire at {site.name} {site.address or ''} {when}. Evacuate. {link}"
        return f"【火警】{site.name}确认火情 {when}，请立即疏散/处置！{site.address or ''} {link}"
    if english:
        return f"[Fire alert] {LEVEL_EN[incident.level]} {what} at {site.name} {where} {when}. Check now: {link}"
    return f"【消防预警】{LEVEL_ZH[incident.level]}{what}：{site.name}{where} {when} 请立即核实 {link}"


def push_payload(incident, kind, delivery_token, locale="zh-CN"):
    english = (locale or "").startswith("en")
    what, where = _what(incident, english)
    title = {"fire": "火警" if not english else "FIRE", "all_clear": "解除" if not english else "All clear"}.get(
        kind, (LEVEL_ZH if not english else LEVEL_EN)[incident.level])
    return {
        "incident_id": incident.id,
        "level": incident.level,
        "kind": kind,
        "title": f"{title} · {incident.site.name}",
        "body": f"{what} {where}".strip(),
        "site": incident.site.name,
        "receipt": delivery_token,
    }


def test_text(locale="zh-CN"):
    if (locale or "").startswith("en"):
        return "[Fire alert] Test: alarms reach this phone."
    return "【消防预警】测试提醒：本机可以收到报警通知。"


def test_payload(text, delivery_token, locale="zh-CN"):
    english = (locale or "").startswith("en")
    return {"incident_id": None, "level": 4, "kind": "test", "title": "Test alarm" if english else "测试报警",
            "body": text, "site": "", "receipt": delivery_token}


def notice_payload(notification, delivery_token, locale="zh-CN"):
    """A notice (patrol overdue, hazard past its deadline…): its text and the screen to open."""
    from api.extensions import db
    from api.notices.models import Notice

    notice = db.session.get(Notice, notification.notice_id) if notification.notice_id else None
    english = (locale or "").startswith("en")
    return {"incident_id": None, "notice_id": notice.id if notice else None,
            "level": notice.level if notice and notice.level else 4, "kind": "notice",
            "title": "Fire-safety notice" if english else "消防提醒", "body": notification.text, "site": "",
            "url": "/" + (notice.link or "") if notice and notice.link else "/#/notices", "receipt": delivery_token}
