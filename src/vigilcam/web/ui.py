"""The browser UI shell, security.txt and the OpenAPI document.

Serves IoT-1005-1 5.2.3.4 (model name and version on the login page), 5.2.3.1 (security.txt
per RFC 9116 with Contact and Expires) and TAICS 5.2.6.1 (all assets served locally: no CDN,
no inline script, so the CSP forbids anything else).
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from vigilcam import product
from vigilcam.web.openapi import build_openapi

STATIC_DIR = Path(__file__).parent / "static"


async def index(request: Request) -> Response:
    """The single-page UI. Model and version are rendered server-side for the login page."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = template.replace("{{model}}", html.escape(product.MODEL)).replace(
        "{{version}}", html.escape(product.VERSION)
    )
    return HTMLResponse(page)


async def security_txt(request: Request) -> Response:
    """RFC 9116: how to report a vulnerability in vigilcam."""
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=180)
    body = (
        f"Contact: {product.SECURITY_CONTACT}\n"
        f"Expires: {expires.isoformat().replace('+00:00', 'Z')}\n"
        f"Policy: {product.SECURITY_POLICY}\n"
        "Preferred-Languages: en, zh-Hant\n"
    )
    return PlainTextResponse(body)


async def openapi(request: Request) -> Response:
    return JSONResponse(build_openapi(request.app.state.route_specs))
