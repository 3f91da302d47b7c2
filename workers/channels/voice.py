"""Automatic voice calls through Alibaba Cloud: Dyvmsapi SingleCallByTts (2017-05-25).

A text-to-speech template per message kind (ALIYUN_VOICE_TEMPLATES), called
from the rented display number (ALIYUN_VOICE_SHOW_NUMBER). The call id comes
back as the provider id; OutId carries the delivery's token, as for SMS.
"""

import json

from flask import current_app

from workers.channels import aliyun_rpc
from workers.channels.base import Channel, TransportError

ACTION, VERSION = "SingleCallByTts", "2017-05-25"
PERMANENT = {"isv.MOBILE_NUMBER_ILLEGAL"}  # as for SMS: only a number that cannot exist
PLAY_TIMES = 3  # the most Dyvms allows; a person woken at 3 a.m. may miss the first reading


class VoiceChannel(Channel):
    name = "voice"

    def send(self, message):
        cfg = current_app.config
        key_id, secret = aliyun_rpc.credentials(cfg, ACTION)
        kind = message.payload.get("template") or message.kind
        template = (cfg.get("ALIYUN_VOICE_TEMPLATES") or {}).get(kind)
        if not template or not cfg.get("ALIYUN_VOICE_SHOW_NUMBER"):
            raise TransportError(f"aliyun SingleCallByTts: no template for {kind!r} or no show number")
        number = aliyun_rpc.mainland_number(message.address)
        if number is None:
            # Not permanent: that would also stop SMS to a number that may well take them.
            raise TransportError("aliyun SingleCallByTts calls mainland China numbers only")
        params = {
            "CalledNumber": number,
            "CalledShowNumber": cfg["ALIYUN_VOICE_SHOW_NUMBER"],
            "TtsCode": template,
            "TtsParam": json.dumps(aliyun_rpc.template_params(message), ensure_ascii=False),
            "PlayTimes": str(PLAY_TIMES),
        }
        if message.token:
            params["OutId"] = message.token
        body = aliyun_rpc.call(cfg["ALIYUN_VOICE_ENDPOINT"], ACTION, VERSION, params, key_id, secret,
                               timeout=cfg.get("SMS_TIMEOUT_SECONDS", 10))
        if body.get("Code") != "OK":
            raise aliyun_rpc.refusal(ACTION, body, PERMANENT)
        return body.get("CallId") or ""
