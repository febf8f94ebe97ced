"""The line sent with /timeline view:chart's picture."""

from __future__ import annotations

from datetime import datetime

from i18n import t
from render.common import Reply, clip, plain_date
from tracker.items import ItemSpec

CONTENT_LIMIT = 300


def chart_reply(language: str, item: ItemSpec, now: datetime) -> Reply:
    content = t(
        language,
        "chart.content",
        item=item.name(language),
        date=plain_date(language, now, item.timezone),
    )
    return Reply(content=clip(content, CONTENT_LIMIT))
