"""An error the member caused and can fix: shown to them, in their language, as a short message."""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values
