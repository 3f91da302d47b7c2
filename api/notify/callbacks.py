"""Delivery reports pushed by the SMS providers (provider → us).

Neither Aliyun's SmsReport push nor Tencent's status callback is signed, so
the URL we register with them carries NOTIFY_CALLBACK_SECRET, as CTWing's
does; a wrong secret (or none configured) is a 404. A report finds its
Delivery by our token (Aliyun echoes OutId) or by the provider's id (BizId,
SerialNo). A report we cannot use (unknown id, a malformed entry, one already
applied: providers may repeat them) is skipped, and the answer is always 200
with the body the provider expects, or it would push the same reports again.
"""

import hmac
import logging

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.common.clock import utcnow
from api.errors import NotFound
from api.extensions import db
from api.notify.models import Delivery, Notification

log = logging.getLogger("notify.callbacks")
blp = Blueprint("notify_callbacks", __name__, url_prefix="/api/v1/notify/callbacks",
                description="Delivery reports from SMS providers")

# Operators' failure codes are a zoo, and most mean "switched off / out of
# coverage / suspended", which passes. Only a number that does not exist counts
# as undeliverable for good: that disables SMS *and* voice for the person.
DEAD_NUMBER_CODES = {"DB:0101", "CB:0001", "CB:0053"}  # China Mobile: 号码无效或者空号
DEAD_NUMBER_WORDS = ("空号", "号码不存在", "号码无效")


class AliyunAnswerSchema(Schema):
    code = fields.Integer()
    msg = fields.String()


class TencentAnswerSchema(Schema):
    result = fields.Integer()
    errmsg = fields.String()


def _authenticate(secret):
    expected = current_app.config.get("NOTIFY_CALLBACK_SECRET")
    # bytes: compare_digest refuses non-ASCII str
    if not expected or not hmac.compare_digest(expected.encode(), secret.encode("utf-8", "replace")):
        raise NotFound()


def _reports():
    data = request.get_json(force=True, silent=True)
    data = [data] if isinstance(data, dict) else data
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _find(token, provider_id, phone):
    """The SMS delivery a report is about, or None."""
    query = Delivery.query.join(Notification, Notification.id == Delivery.notification_id).filter(
        Notification.channel == "sms")
    delivery = query.filter(Delivery.token == token).one_or_none() if token else None
    if delivery is None and provider_id:
        delivery = query.filter(Delivery.provider_id == provider_id).order_by(Delivery.id.desc()).first()
    if delivery is not None and phone.isdigit() and not delivery.notification.address.endswith(phone):
        return None  # an id of ours with somebody else's number: not ours to apply (a masked number is skipped)
    return delivery


def dead_number(code, text):
    return code in DEAD_NUMBER_CODES or any(word in (text or "") for word in DEAD_NUMBER_WORDS)


def apply_report(delivery, ok, error, dead, now):
    """Record one report; returns new delivery ids (the person's next channel)."""
    from workers.delivery import _disable_address, fallback

    if delivery is None or delivery.state not in ("sending", "sent"):
        return []
    if ok:
        delivery.state, delivery.delivered_at = "delivered", now
        return []
    delivery.state, delivery.error, delivery.permanent = "failed", error[:300], dead
    if dead:
        _disable_address(delivery.notification, now)
    if delivery.fallback_done:
        return []
    # The message did not arrive: like a push without a receipt, the person goes
    # to the next channel now (fallback() does so only for open alarms and fires).
    return fallback(delivery, now)


def _apply_all(items):
    """items: (token, provider_id, phone, ok, error, dead) per report."""
    from api.notify.escalation import enqueue_deliveries

    now, new_ids, applied = utcnow(), [], 0
    try:
        for token, provider_id, phone, ok, error, dead in items:
            delivery = _find(token, provider_id, phone)
            applied += delivery is not None
            new_ids.extend(apply_report(delivery, ok, error, dead, now))
        db.session.commit()
    except Exception:  # still answered 200 (see above); what is lost is a delivered_at or an early
        # fallback, while the escalation steps run regardless
        db.session.rollback()
        log.exception("delivery reports could not be applied")
        return
    enqueue_deliveries(new_ids, f"report{min(new_ids) if new_ids else 0}")
    log.info("delivery reports: %d received, %d matched, %d fallbacks", len(items), applied, len(new_ids))


def _text(value):
    return str(value).strip() if value is not None else ""


@blp.route("/aliyun-sms/<string:secret>")
class AliyunSmsReport(MethodView):
    @blp.response(200, AliyunAnswerSchema)
    def post(self, secret):
        """Aliyun SmsReport (HTTP batch push): a JSON list of
        {phone_number, send_time, report_time, success, err_code, err_msg, biz_id, out_id}."""
        _authenticate(secret)
        items = []
        for r in _reports():
            code, text = _text(r.get("err_code")), _text(r.get("err_msg"))
            ok = r.get("success") is True or _text(r.get("success")).lower() == "true"
            items.append((_text(r.get("out_id")), _text(r.get("biz_id")), _text(r.get("phone_number")), ok,
                          f"aliyun report {code}: {text}", dead_number(code, text)))
        _apply_all(items)
        return {"code": 0, "msg": "成功"}


@blp.route("/tencent-sms/<string:secret>")
class TencentSmsReport(MethodView):
    @blp.response(200, TencentAnswerSchema)
    def post(self, secret):
        """Tencent SMS status callback: a JSON list of
        {user_receive_time, nationcode, mobile, report_status SUCCESS|FAIL, errmsg, description, sid}."""
        _authenticate(secret)
        items = []
        for r in _reports():
            code, text = _text(r.get("errmsg")), _text(r.get("description"))
            ok = _text(r.get("report_status")).upper() == "SUCCESS"
            # Tencent does not echo SessionContext here: the SerialNo (sid) is the key.
            items.append((None, _text(r.get("sid")), _text(r.get("mobile")), ok,
                          f"tencent report {code}: {text}", dead_number(code, text)))
        _apply_all(items)
        return {"result": 0, "errmsg": "OK"}
