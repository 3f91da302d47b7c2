"""The development channel: messages go to the log (and stay readable in the
PWA's "my messages" page through their Notification rows), so `make run`
shows every message without provider accounts."""

import logging
import uuid

from workers.channels.base import Channel

log = logging.getLogger("devlog")


class DevLogChannel(Channel):
    outbox = []  # the last messages, for tests

    def __init__(self, name):
        self.name = name

    def send(self, message):
        provider_id = f"log-{uuid.uuid4().hex[:12]}"
        log.warning("[%s → %s] %s", self.name, message.address[-40:], message.text)
        DevLogChannel.outbox.append({"channel": self.name, "to": message.address, "text": message.text,
                                     "id": provider_id})
        del DevLogChannel.outbox[:-500]
        return provider_id
