"""SMS through Alibaba Cloud: Dysmsapi SendSms (2017-05-25), signed by aliyun_rpc.

One number per request: PhoneNumbers takes a list, but one answer for a list
would make per-person retries and fallbacks impossible. OutId carries the
delivery's token, so a delivery report finds its row even before BizId is stored.
"""

import json

from flask import current_app

from workers.channels import aliyun_rpc
from workers.channels.base import Channel, TransportError

ACTION, VERSION = "SendSms", "2017-05-25"
# Only "this number is not a phone" is permanent. isv.BLACK_KEY_CONTROL_LIMIT
# sounds like a blacklisted number but means a forbidden word in our variables;
# flow control (isv.BUSINESS_LIMIT_CONTROL, isv.DAY_LIMIT_CONTROL, Throttling.*)
# passes with time; everything else is ours to fix. All of those are retried.
PERMANENT = {"isv.MOBILE_NUMBER_ILLEGAL"}
PARAM_LIMIT = 35  # characters per variable; longer ones fail the whole message (isv.PARAM_LENGTH_LIMIT)


class AliyunSms(Channel):
    name = "sms"

    def send(self, message):
        cfg = current_app.config
        key_id, secret = aliyun_rpc.credentials(cfg, ACTION)
        kind = message.payload.get("template") or message.kind
        template = (cfg.get("ALIYUN_SMS_TEMPLATES") or {}).get(kind)
        if not template or not cfg.get("ALIYUN_SMS_SIGN_NAME"):
            raise TransportError(f"aliyun SendSms: no template for {kind!r} or no sign name (ALIYUN_SMS_*)")
        # Mainland numbers go national; others as country code + number, without "+".
        phone = aliyun_rpc.mainland_number(message.address) or message.address.lstrip("+")
        params = {
            "PhoneNumbers": phone,
            "SignName": cfg["ALIYUN_SMS_SIGN_NAME"],
            "TemplateCode": template,
            "TemplateParam": json.dumps(aliyun_rpc.template_params(message, PARAM_LIMIT), ensure_ascii=False),
        }
        if message.token:
            params["OutId"] = message.token
        body = aliyun_rpc.call(cfg["ALIYUN_SMS_ENDPOINT"], ACTION, VERSION, params, key_id, secret,
                               timeout=cfg.get("SMS_TIMEOUT_SECONDS", 10))
        if body.get("Code") != "OK":
            raise aliyun_rpc.refusal(ACTION, body, PERMANENT)
        return body.get("BizId") or ""
