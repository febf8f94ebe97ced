"""Errors the services raise: one the member caused and can fix (shown to them, in their
language, as a short message), and a channel the bot can no longer use."""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class ChannelUnavailable(Exception):
    """A channel is gone, or the bot may no longer read or post in it."""
