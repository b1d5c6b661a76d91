"""The aiohttp application factory: routes, middleware, and the service's lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.addresses import TRUSTED_PROXIES, networks
from bot.config import Settings
from bot.console import routes as console
from bot.dashboard import inbox
from bot.dashboard import routes as dashboard
from bot.logs import correlation_id, new_correlation_id
from bot.service import Service
from bot.telegram.channel import WEBHOOK_PATH
from bot.webchat import routes as webchat
from dialogues.understanding import SafetyNet
from storage.types import Clock, utcnow

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
SERVICE = web.AppKey("service", Service)
MAX_REQUEST_BYTES = 1024 * 1024


def init_app(
    settings: Settings,
    *,
    poll_timeout: int = 10,
    clock: Clock = utcnow,
    net: SafetyNet | None = None,
) -> web.Application:
    """Build the web app; the service starts with the app and stops with it. `net`: a safety
    net already loaded (`snakkes run` loads it first, to fail clearly), else one is built."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[TRUSTED_PROXIES] = networks(settings.web.trusted_proxies)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        service = Service.build(settings, poll_timeout=poll_timeout, clock=clock, net=net)
        app[SERVICE] = service
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_post(WEBHOOK_PATH, telegram_webhook)
    webchat.add_routes(app, lambda app: app[SERVICE].web if SERVICE in app else None)
    dashboard.add_routes(app, settings, lambda app: app[SERVICE].database, clock,
                         catalog_of=lambda app: app[SERVICE].catalog)
    inbox.add_routes(app, lambda app: app[SERVICE].hub if SERVICE in app else None)
    console.add_routes(app, lambda app: app.get(SERVICE), clock)
    return app


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The one place unexpected errors of the web side are logged: class and correlation id."""
    new_correlation_id()
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as error:
        log.exception("request failed: %s [%s]", type(error).__name__, correlation_id())
        return web.json_response({"ok": False, "error": "internal"}, status=500)


async def healthz(request: web.Request) -> web.Response:
    health = await request.app[SERVICE].health()
    return web.json_response(health, status=200 if health["database"] else 503)


async def telegram_webhook(request: web.Request) -> web.Response:
    """Telegram's webhook: 401 without the secret; 200 only once the update is handled."""
    channel = request.app[SERVICE].telegram
    if channel is None or channel.mode != "webhook":
        raise web.HTTPNotFound
    if not channel.secret_matches(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
        return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
    try:
        payload = await request.json()
    except ValueError:
        return web.json_response({"ok": False, "error": "bad json"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    if await channel.process_webhook(payload):
        return web.json_response({"ok": True})
    return web.json_response({"ok": False, "error": "processing failed"}, status=500)
