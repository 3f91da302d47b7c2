"""The channel contract.

A channel sends one Outgoing message and returns the provider's id, or raises
TransportError; `permanent=True` means retrying cannot help (a dead
subscription, an invalid number), otherwise the caller retries with backoff.
"""

from dataclasses import dataclass, field


class TransportError(Exception):
    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass
class Outgoing:
    channel: str
    address: str  # push endpoint, E.164 phone, openid, webhook URL
    text: str
    kind: str = "alarm"  # alarm | fire | all_clear | test
    token: str = ""  # the delivery's receipt token
    locale: str = "zh-CN"
    incident_id: int = None
    payload: dict = field(default_factory=dict)  # channel-specific extras (push keys, template data)


class Channel:
    name = "base"

    def send(self, message):  # pragma: no cover - interface
        raise NotImplementedError


def channel_for(name):
    """The configured implementation of a channel (imported on first use)."""
    from flask import current_app

    if name == "push":
        from workers.channels.push import PushChannel

        return PushChannel.shared()
    if name == "sms":
        from workers.channels.sms import sms_channel

        return sms_channel()
    backend = current_app.config.get(f"{name.upper()}_BACKEND", "log")
    if backend == "log":
        from workers.channels.devlog import DevLogChannel

        return DevLogChannel(name)
    if name == "wechat":
        from workers.channels.wechat import WechatChannel

        return WechatChannel()
    if name == "wecom":
        from workers.channels.wecom import WecomChannel

        return WecomChannel()
    if name == "voice":
        from workers.channels.voice import VoiceChannel

        return VoiceChannel()
    raise TransportError(f"no channel {name!r}", permanent=True)
