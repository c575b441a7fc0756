"""Security headers on every response, and the request body size cap.

Serves IoT-1005-1 5.4.2.1 (HSTS keeps browsers on TLS), 5.5.2.1 (body sizes capped before
parsing) and TAICS 5.2.6.1 (web management interface security: a CSP without inline script,
no framing, no MIME sniffing, no caching of API and auth pages, no server version).

The UI's static files (``/static/``) may be cached but are revalidated on every use
(``no-cache``, answered 304 by ETag): the UI is a graph of ES modules, and a browser that
mixed modules of two releases after an update would break; ``no-store`` everywhere else.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
NO_STORE = (b"cache-control", b"no-store")
REVALIDATE = (b"cache-control", b"no-cache")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        cacheable = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"server"
                ]
                present = {k.lower() for k, _ in headers}
                headers += [h for h in BASE_HEADERS if h[0] not in present]
                if b"cache-control" not in present:
                    headers.append(REVALIDATE if cacheable else NO_STORE)
                message["headers"] = headers
            await send(message)

        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _refuse(send_with_headers, 413, b'{"error":"request body too large"}')
                    return

        received = 0
        limit = self.max_body_bytes

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except BodyTooLarge:
            await _refuse(send_with_headers, 413, b'{"error":"request body too large"}')


class BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length",
                                                                   str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
