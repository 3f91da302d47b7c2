"""The channel contract.

A channel sends one message to one address. It returns a provider id on
success or raises TransportError; `permanent=True` means retrying cannot help
(a dead subscription, an invalid number), otherwise the caller may retry.
"""


class TransportError(Exception):
    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class Channel:
    name = "base"

    def send(self, address, message):  # pragma: no cover - interface
        raise NotImplementedError
