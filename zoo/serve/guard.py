"""The ASGI middleware in front of every route: the bearer token, the size of a request body, and the metrics of
every request (its route, status and time)."""
from __future__ import annotations

import hmac
import json

from .metrics import Metrics

PUBLIC = ("/health",)  # needs no token; the page's static files neither (they hold no model and no data)


class Guard:
    """Pure ASGI middleware: the bearer token (every route but /health and the page's static files) and the
    upload limit, answered 413 from the Content-Length header before any of the body is read, or as soon as a
    body without one passes the limit."""

    class TooLarge(Exception):
        pass

    def __init__(self, app, token: str | None, limit: int, metrics: Metrics):
        self.app, self.token, self.limit, self.metrics = app, token, limit, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token and not (path in PUBLIC or path == "/" or path.startswith("/page/")):
            given = headers.get("authorization", "")
            if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), self.token.encode())):
                self.metrics.errors.labels("unauthorized").inc()
                return await self._answer(send, 401, "missing or wrong token: send Authorization: Bearer TOKEN",
                                          [(b"www-authenticate", b"Bearer")], scope)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return await self._answer(send, 400, "Content-Length is not a number", [], scope)
            if int(length) > self.limit:
                self.metrics.errors.labels("too_large").inc()
                return await self._answer(send, 413, self._too_large(), [], scope)
        received, over, started = 0, False, False

        async def limited_receive():
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise Guard.TooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            if over:  # the body passed the limit: the app's own answer to that is replaced by the 413
                return
            if message["type"] == "http.response.start":
                started = True
                self.metrics.requests.labels(route_of(scope), str(message["status"])).inc()
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Guard.TooLarge:
            pass
        if over and not started:
            self.metrics.errors.labels("too_large").inc()
            await self._answer(send, 413, self._too_large(), [], scope, close=True)

    def _too_large(self) -> str:
        return f"upload over the limit of {self.limit / 1024 / 1024:g} MB (zoo serve --max-upload-mb)"

    async def _answer(self, send, status: int, detail: str, headers, scope, close: bool = False) -> None:
        self.metrics.requests.labels(route_of(scope), str(status)).inc()
        body = json.dumps({"detail": detail}).encode()
        extra = [(b"connection", b"close")] if close or status == 413 else []
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *headers, *extra]})
        await send({"type": "http.response.body", "body": body})


def route_of(scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
