"""A local stand-in for the National Assembly's Open API (열린국회정보), on loopback.

It serves the shapes recorded from the real service (``shared/na-open-api.md``): the
``{SERVICE: [{head}, {row}]}`` success, ``INFO-200`` for no data, ``ERROR-300`` for a
missing required parameter, ``ERROR-290`` for a wrong key, and, when a test asks for
them, a malformed body, HTTP 500 and a request that never gets an answer. Rows come in
the order the test chooses (never assume newest first) and in pages of ``pSize``.

Its bills are made up: a test or the demo puts them in ``bills`` (see ``bill_row``).
Nothing here logs a request: its URL carries the key.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SERVICES_NEEDING = {"ALLBILLV2": "ERACO", "ALLBILL": "BILL_NO", "nbslryaradshbpbpm": "AGE"}
NO_DATA = {"CODE": "INFO-200", "MESSAGE": "해당하는 데이터가 없습니다."}
MISSING = {"CODE": "ERROR-300", "MESSAGE": "필수 값이 누락되어 있습니다. 요청인자를 참고 하십시오."}
BAD_KEY = {
    "CODE": "ERROR-290",
    "MESSAGE": (
        "인증키가 유효하지 않습니다. 인증키가 없는 경우, 홈페이지에서 인증키를 신청하십시오."
    ),
}
TOO_MANY = {"CODE": "ERROR-336", "MESSAGE": "데이터요청은 한번에 최대 1,000건을 넘을 수 없습니다."}
OK = {"CODE": "INFO-000", "MESSAGE": "정상 처리되었습니다."}
# What a test can make the next answers be (``fail_next``) or every answer (``fault``).
FAULTS = ("no-data", "error-300", "error-290", "malformed", "http-500", "hang")


def bill_row(
    bill_no: str,
    name: str,
    *,
    proposed: str | None = None,
    reported: str | None = None,
    decided: str | None = None,
    result: str = "",
    era: str = "제22대",
    kind: str = "건의안",
) -> dict[str, Any]:
    """A made-up bill as ALLBILLV2 gives one (dates ``YYYY-MM-DD``; result empty: pending)."""
    bill_id = f"STANDIN_{bill_no}"
    return {
        "ERACO": era,
        "BILL_ID": bill_id,
        "BILL_NO": bill_no,
        "BILL_KND": kind,
        "BILL_NM": name,
        "PPSR_KND": "의원",
        "PPSR_NM": "(made up) 외 120인",
        "PPSL_DT": proposed,
        "RGS_PRSNT_DT": reported,
        "RGS_RSLN_DT": decided,
        "RGS_CONF_NM": "본회의" if result else None,
        "RGS_CONF_RSLT": result or None,
        "PROC_STAGE_CD": "본회의의결" if result else "접수",
        "LINK_URL": f"https://likms.assembly.go.kr/bill/billDetail.do?billId={bill_id}",
    }


@dataclass
class AssemblyStandIn:
    """The Open API on ``base`` (``http://127.0.0.1:<port>/portal/openapi``) once started.

    ``key``: the only key it accepts (ERROR-290 for another; None: any). ``order``:
    "given", "reversed" or "shuffled" (with ``seed``). ``fault``: every answer fails so;
    ``fail_next``: the next answers do, one each. ``requests``: each request's parameters.
    """

    key: str | None = None
    bills: list[dict[str, Any]] = field(default_factory=list)
    order: str = "given"
    seed: int = 14
    fault: str | None = None
    fail_next: deque[str] = field(default_factory=deque)
    requests: list[dict[str, str]] = field(default_factory=list)
    base: str = ""
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/portal/openapi/{service}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.1
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}/portal/openapi"
        return self.base

    async def stop(self) -> None:
        self._stopping.set()  # a hung request ends now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> AssemblyStandIn:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    def hung(self) -> int:
        """How many requests were answered with nothing (``hang``)."""
        return sum(1 for r in self.requests if r.get("_fault") == "hang")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        service = request.match_info["service"]
        params = dict(request.query)
        fault = self.fail_next.popleft() if self.fail_next else self.fault
        self.requests.append({**params, "_service": service, "_fault": fault or ""})
        if fault == "hang":
            await self._stopping.wait()
            raise web.HTTPServiceUnavailable()
        if fault == "http-500":
            return web.Response(status=500, text="Internal Server Error")
        if fault == "malformed":
            return web.Response(text='{"ALLBILLV2":[{"head":[', content_type="application/json")
        if fault == "error-290" or (self.key is not None and params.get("KEY") != self.key):
            return _json({"RESULT": BAD_KEY})
        if fault == "error-300":
            return _json({"RESULT": MISSING})
        if fault == "no-data":
            return _json({"RESULT": NO_DATA})
        needed = SERVICES_NEEDING.get(service)
        if needed is not None and not params.get(needed):
            return _json({"RESULT": MISSING})
        try:
            index = max(int(params.get("pIndex", "1")), 1)
            size = max(int(params.get("pSize", "100")), 1)
        except ValueError:
            return _json({"RESULT": MISSING})
        if size > 1000:
            return _json({"RESULT": TOO_MANY})
        rows = self._matching(params)
        chunk = rows[(index - 1) * size : index * size]
        if not chunk:
            return _json({"RESULT": NO_DATA})
        head = [{"list_total_count": len(rows)}, {"RESULT": OK}]
        return _json({service: [{"head": head}, {"row": chunk}]})

    def _matching(self, params: dict[str, str]) -> list[dict[str, Any]]:
        rows = list(self.bills)
        if name := params.get("BILL_NM"):
            rows = [r for r in rows if name in str(r.get("BILL_NM") or "")]
        if bill_no := params.get("BILL_NO"):
            rows = [r for r in rows if str(r.get("BILL_NO")) == bill_no]
        if era := params.get("ERACO"):
            rows = [r for r in rows if r.get("ERACO") in (None, era)]
        if self.order == "reversed":
            rows.reverse()
        elif self.order == "shuffled":
            random.Random(self.seed).shuffle(rows)
        return rows


def _json(data: dict[str, Any]) -> web.Response:
    # The real service answers UTF-8 JSON with Korean as it is.
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="application/json")
