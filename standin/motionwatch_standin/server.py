"""The aiohttp server: one app for REST, the CDN and the gateway, on loopback.

The middleware does what every request needs, in Discord's order: record it,
find the route (an unknown one is a 404 *and* a violation, so tests notice),
check the bot token, validate the body against the OpenAPI spec, then run the
handler. It also adds rate-limit headers: generous ones, which let discord.py
send requests to one route concurrently instead of one at a time, unless rate
limits are on (`motionwatch_standin.ratelimits`), when over-limit requests get a 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from motionwatch_standin.journal import Journal, RequestRecord
from motionwatch_standin.ratelimits import RateLimiter, Verdict
from motionwatch_standin.validate import SpecValidator
from motionwatch_standin.wire import (
    API_PREFIX,
    attach,
    body_of,
    error_response,
    file_records,
    invalid_form_body,
    json_response,
    read_body,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Routes whose credential is the token in the path, not the Authorization header.
_TOKEN_IN_PATH = (f"{API_PREFIX}/interactions/", f"{API_PREFIX}/webhooks/")


def _needs_auth(path: str) -> bool:
    # The websocket and the CDN are outside the API; GET /gateway is public.
    if not path.startswith(API_PREFIX + "/") or path == f"{API_PREFIX}/gateway":
        return False
    return not path.startswith(_TOKEN_IN_PATH)


class Server:
    def __init__(
        self,
        *,
        journal: Journal,
        validator: SpecValidator,
        token: str,
        reject_invalid: bool,
        routes: list[web.RouteDef],
        gateway: Handler,
        limiter: RateLimiter,
    ) -> None:
        self._journal = journal
        self._validator = validator
        self._token = token
        self._reject_invalid = reject_invalid
        self._limiter = limiter
        self.validation_ms: list[float] = []
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes(routes)
        app.router.add_get("/gateway", gateway)
        app.router.add_get("/gateway/resume", gateway)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        await self._runner.cleanup()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        arrived = time.perf_counter()
        path = request.path
        api_path = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
        record = RequestRecord(request.method, api_path, dict(request.query), arrived)
        self._journal.record(record)
        routed = request.match_info.http_exception is None
        if routed and request.headers.get("Upgrade", "").lower() == "websocket":
            response = await handler(request)
            record.status = response.status
            return response

        body = await read_body(request)
        record.json, record.files, record.multipart = (
            body.json,
            file_records(body.files),
            body.multipart,
        )
        attach(request, record, body)
        verdict = self._rate_limit(request) if path.startswith(API_PREFIX) else None
        if verdict is not None and verdict.body is not None:
            answer: web.StreamResponse = json_response(verdict.body, 429)
        else:
            answer = await self._respond(request, handler, record)
        record.status = answer.status
        if verdict is not None:
            answer.headers.update(verdict.headers)
        self._journal.notify()
        return answer

    def _rate_limit(self, request: web.Request) -> Verdict:
        resource = request.match_info.route.resource
        if request.match_info.http_exception is not None or resource is None:
            return Verdict(self._limiter.generous_headers())
        route = f"{request.method} {resource.canonical.removeprefix(API_PREFIX)}"
        return self._limiter.check(route, request.match_info, is_global=_needs_auth(request.path))

    async def _respond(
        self, request: web.Request, handler: Handler, record: RequestRecord
    ) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            self._journal.violation(record, "unimplemented route")
            return error_response(404, 0, "404: Not Found")
        if (
            _needs_auth(request.path)
            and request.headers.get("Authorization") != f"Bot {self._token}"
        ):
            return error_response(401, 0, "401: Unauthorized")
        parsed = body_of(request)
        if parsed.error is not None:
            self._journal.violation(record, parsed.error)
            return error_response(400, 50109, "The request body contains invalid JSON.")
        problems = self._validate(record)
        if problems and self._reject_invalid:
            return invalid_form_body(problems)
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("stand-in handler failed for %s", record.label)
            self._journal.violation(record, f"stand-in internal error: {exc!r}")
            # Not a 5xx: discord.py retries those with back-off for ~25 s.
            return error_response(400, 0, f"stand-in internal error: {exc!r}")

    def _validate(self, record: RequestRecord) -> list[str]:
        if record.json is None or not self._validator.available:
            return []
        operation = self._validator.match(record.method, record.path)
        if operation is None:
            return []
        record.route = operation.template
        started = time.perf_counter()
        problems = self._validator.validate(operation, record.json, multipart=record.multipart)
        record.validation_ms = (time.perf_counter() - started) * 1000
        self.validation_ms.append(record.validation_ms)
        for problem in problems:
            self._journal.violation(record, problem)
        return problems
