"""The Open API key stays out of every log line, error and message.

The key travels in the query string (the service reads it nowhere else), so any URL
of a request carries it: httpx logs request URLs and exceptions may quote them.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

MASK = "***"
# Loggers that may print a request's URL: the HTTP client's and its transport's.
CLIENT_LOGGERS = ("httpx", "httpcore")


def redact(text: str, secret: str | None) -> str:
    """``text`` without ``secret``, in any of the forms a URL may carry it."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
        text = text.replace(form, MASK)
    return text


class KeyFilter(logging.Filter):
    """Rewrites a record's message without the keys, before any handler sees it."""

    def __init__(self) -> None:
        super().__init__("official-key")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = message
        for secret in self.secrets:
            clean = redact(clean, secret)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = KeyFilter()


def guard_logs(secret: str) -> None:
    """From now on, the HTTP client's log lines never show ``secret`` (idempotent).

    A logger's filters run before the record propagates to any handler, so this holds
    for every handler, the root's included.
    """
    _FILTER.secrets.add(secret)
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
