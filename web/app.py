"""The web application (SPEC §8): read-only pages served from the store the bot writes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from services.context import Services
from services.health import health
from web.calendar import add_calendar_routes
from web.chart import add_chart_routes
from web.pages import choose_language, index_page, item_inputs, item_page, not_found_page
from web.rendered import RenderedPages

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SERVICES = web.AppKey("services", Services)
STARTED_AT = web.AppKey("started_at", datetime)
TEMPLATE_ENV = web.AppKey("templates", jinja2.Environment)
RENDERED = web.AppKey("rendered", RenderedPages)

# The pages carry no script and load nothing from elsewhere; a browser holds them to it,
# so that even a summary that escaped escaping could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def make_app(services: Services, *, started_at: datetime | None = None) -> web.Application:
    app = web.Application(middlewares=[_security_headers])
    app[SERVICES] = services
    app[STARTED_AT] = started_at if started_at is not None else services.clock()
    app[TEMPLATE_ENV] = templates()
    app[RENDERED] = RenderedPages()
    app.router.add_get("/", _index, name="index")
    app.router.add_get("/healthz", _healthz, name="healthz")
    app.router.add_get("/items/{key}", _item, name="item")
    add_chart_routes(app, services=services)
    add_calendar_routes(app, services=services)
    return app


@web.middleware
async def _security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _language(request: web.Request) -> str:
    return choose_language(request.query.get("lang"), request.headers.get("Accept-Language"))


def _render(request: web.Request, template: str, page: Any) -> str:
    return request.app[TEMPLATE_ENV].get_template(template).render(page=page)


def _html(request: web.Request, text: str, *, language: str, status: int = 200) -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Language"] = language
    # The language can come from Accept-Language: a shared cache must keep one copy per value.
    response.headers["Vary"] = "Accept-Language"
    return response


async def _index(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    language = _language(request)
    page = await index_page(services, language=language, now=services.clock())
    return _html(request, _render(request, "index.html", page), language=language)


async def _item(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    key = request.match_info["key"]
    language = _language(request)
    spec = next((s for s in services.tracker.items if s.key == key), None)
    if spec is None:
        missing = _render(request, "not_found.html", not_found_page(language, key))
        return _html(request, missing, language=language, status=404)
    inputs = await item_inputs(services, spec=spec, now=services.clock())
    rendered = request.app[RENDERED]
    text = rendered.get((key, language), inputs.basis)
    if text is None:
        # Building and rendering a long timeline takes milliseconds; its reads are cached,
        # so the page is kept for as long as they are.
        text = _render(request, "item.html", item_page(inputs, language=language))
        rendered.put((key, language), inputs.basis, text)
    return _html(request, text, language=language)


async def _healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    now = services.clock().astimezone(UTC)
    found = await health(services)
    last = found.last_poll
    body = {
        "status": "ok" if found.database else "unavailable",
        "database": "reachable" if found.database else "unreachable",
        "last_poll": last.astimezone(UTC).isoformat() if last else None,
        "last_poll_age_seconds": round((now - last).total_seconds(), 3) if last else None,
        "uptime_seconds": round((now - request.app[STARTED_AT]).total_seconds(), 3),
    }
    response = web.json_response(body, status=200 if found.database else 503)
    response.headers["Cache-Control"] = "no-store"
    return response
