"""SMS through a provider chosen by config (SMS_BACKEND): `log` in development
and tests, `aliyun` or `tencent` in production (see sms_aliyun.py, sms_tencent.py)."""

import logging
import uuid

from flask import current_app

from workers.channels.base import Channel, TransportError

log = logging.getLogger("sms")


class LogSms(Channel):
    name = "sms"
    outbox = []  # the last messages, for tests and `make run` users

    def send(self, message):
        provider_id = "log-" + uuid.uuid4().hex[:12]
        log.warning("SMS to %s: %s", message.address, message.text)
        LogSms.outbox.append({"to": message.address, "text": message.text, "id": provider_id})
        del LogSms.outbox[:-100]
        return provider_id


def _provider(name):
    if name == "log":
        return LogSms
    if name == "aliyun":
        from workers.channels.sms_aliyun import AliyunSms

        return AliyunSms
    if name == "tencent":
        from workers.channels.sms_tencent import TencentSms

        return TencentSms
    return None


def sms_channel():
    name = current_app.config["SMS_BACKEND"]
    cls = _provider(name)
    if cls is None:
        raise TransportError(f"unknown SMS backend {name!r}", permanent=True)
    return cls()
