"""SMS. In development and tests the 'log' backend writes the text to the log
(and keeps it in memory for tests); provider backends come with the
notifications work."""

import logging
import uuid

from flask import current_app

from workers.channels.base import Channel, TransportError

log = logging.getLogger("sms")


class LogSms(Channel):
    name = "sms"
    outbox = []  # the last messages, for tests and `make run` users

    def send(self, address, message):
        provider_id = "log-" + uuid.uuid4().hex[:12]
        log.warning("SMS to %s: %s", address, message)
        LogSms.outbox.append({"to": address, "text": message, "id": provider_id})
        del LogSms.outbox[:-100]
        return provider_id


BACKENDS = {"log": LogSms}


def sms_channel():
    name = current_app.config["SMS_BACKEND"]
    try:
        return BACKENDS[name]()
    except KeyError:
        raise TransportError(f"unknown SMS backend {name!r}", permanent=True) from None
