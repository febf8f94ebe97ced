"""A bill's record as the Open API gives it, and the motion stages it shows.

The mapping is the one ``shared/na-open-api.md`` gives for ``kr-assembly-dismissal``:
the proposal date is ``submitted``, presentation to the plenary ``reported``, the
result ``passed``, ``rejected``, ``discarded`` or ``withdrawn``. The record gives
dates only (Korea's time), so every stage it yields is known to the day.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

# The record's dates are the Assembly's days.
SEOUL = ZoneInfo("Asia/Seoul")
DISMISSAL = "해임건의안"
SUBMITTED, REPORTED = "submitted", "reported"
RESULTS: Mapping[str, str] = {
    "원안가결": "passed",
    "수정가결": "passed",
    "부결": "rejected",
    "폐기": "discarded",
    "임기만료폐기": "discarded",
    "수정안반영폐기": "discarded",
    "대안반영폐기": "discarded",
    "철회": "withdrawn",
}
# Bill numbers are digits (e.g. 2200123); bounded, so that they fit every key built on them.
BILL_NO = re.compile(r"^[0-9A-Za-z-]{1,20}$")
NAME_LIMIT = 300
URL_LIMIT = 2000
_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")


@dataclass(frozen=True, slots=True)
class Bill:
    bill_no: str
    name: str
    bill_id: str | None = None
    kind: str | None = None
    proposed_on: date | None = None
    reported_on: date | None = None
    decided_on: date | None = None
    result: str | None = None
    link_url: str | None = None


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage the record shows: reached on ``on`` (a Korean day, the time unknown)."""

    stage: str
    on: date
    result: str | None = None

    @property
    def at(self) -> datetime:
        """The day's start in Seoul: how a date-only event is stored (precision ``date``)."""
        return datetime(self.on.year, self.on.month, self.on.day, tzinfo=SEOUL)


def normalize_bill_no(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if BILL_NO.match(text) else None


def is_dismissal_motion(name: str) -> bool:
    """A motion to recommend a dismissal, by its name (spaces ignored), whatever its kind."""
    return DISMISSAL in re.sub(r"\s+", "", name)


def _text(row: Mapping[str, Any], *keys: str, limit: int = NAME_LIMIT) -> str | None:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str | int) and str(value).strip():
            # Control characters have no place in a name shown in Discord.
            text = "".join(c for c in str(value) if c.isprintable()).strip()
            return text[:limit] or None
    return None


def _day(row: Mapping[str, Any], *keys: str) -> date | None:
    for key in keys:
        value = row.get(key)
        if isinstance(value, str) and (m := _DATE.match(value.strip())):
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def _link(row: Mapping[str, Any]) -> str | None:
    url = _text(row, "LINK_URL", "DETAIL_LINK", limit=URL_LIMIT + 1)
    if url is None or len(url) > URL_LIMIT:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def bill_from_row(row: Mapping[str, Any]) -> Bill | None:
    """A bill from one row of BILLRCP, ALLBILL(V2) or the plenary list; None if unusable."""
    bill_no = normalize_bill_no(row.get("BILL_NO"))
    name = _text(row, "BILL_NM", "BILL_NAME")
    if bill_no is None or name is None:
        return None
    result = _text(row, "RGS_CONF_RSLT", "PROC_RESULT_CD", "PROC_RSLT", "PROC_RESULT", limit=40)
    return Bill(
        bill_no=bill_no,
        name=name,
        bill_id=_text(row, "BILL_ID", limit=60),
        kind=_text(row, "BILL_KND", "BILL_KIND", limit=40),
        proposed_on=_day(row, "PPSL_DT", "PROPOSE_DT"),
        reported_on=_day(row, "RGS_PRSNT_DT", "RGS_PRESENT_DT"),
        decided_on=_day(row, "RGS_RSLN_DT", "RGS_PROC_DT", "PROC_DT"),
        result=result,
        link_url=_link(row),
    )


def stages(bill: Bill) -> list[Stage]:
    """The stages the record shows, in the order they happened.

    A result without its date is left out (the record must say when); a pending bill
    (no result, or an empty one) has none.
    """
    found: list[Stage] = []
    if bill.proposed_on is not None:
        found.append(Stage(SUBMITTED, bill.proposed_on))
    if bill.reported_on is not None:
        found.append(Stage(REPORTED, bill.reported_on))
    outcome = RESULTS.get((bill.result or "").replace(" ", ""))
    if outcome is not None and bill.decided_on is not None:
        found.append(Stage(outcome, bill.decided_on, bill.result))
    return found


def merge(bills: list[Bill]) -> dict[str, Bill]:
    """One bill per number, rows in any order: the one that shows most of its life wins."""
    best: dict[str, Bill] = {}
    for bill in bills:
        known = best.get(bill.bill_no)
        if known is None or len(stages(bill)) > len(stages(known)):
            best[bill.bill_no] = bill
    return best
