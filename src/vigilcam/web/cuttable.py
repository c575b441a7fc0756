"""A streaming HTTP response that a revocation or an administrator can cut in mid-body.

Owns cutting playback and export downloads at once (IoT-1005-1 5.1.2.1: a viewer whose grant is
gone stops receiving video; TAICS 5.5.1.1: an administrator's "end this viewing session"). The
body is sent in a task that is cancelled as soon as ``cut`` is set, even while a slow client
holds a write. A cut response ends without its final chunk, so the client sees a broken
transfer rather than a short file that looks complete; the HTTP server closes the connection
(uvicorn notes "returned without completing response" in its own log).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send


class CuttableStreamingResponse(StreamingResponse):
    def __init__(self, content: Any, cut: asyncio.Event, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.cut = cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.cut.is_set():  # ended before the first byte: a clear refusal instead
            await JSONResponse({"error": "this viewing session has ended"},
                               status_code=403)(scope, receive, send)
            return
        body = asyncio.ensure_future(super().__call__(scope, receive, send))
        cut = asyncio.ensure_future(self.cut.wait())
        try:
            await asyncio.wait({body, cut}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cut.cancel()
            if not body.done():
                body.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await body
                # Run the body's own clean-up now (end the viewing session, free an export's
                # in-memory file), not whenever the suspended generator is collected.
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):
                        await aclose()
        if not body.cancelled():
            body.result()  # an error of the body itself propagates as before
