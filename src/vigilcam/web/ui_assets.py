"""The browser UI's static files (``/static/``): ES modules, the style sheet.

Serves TAICS 5.2.6.1 (web management interface security, all assets served locally). The UI is
native ES modules (``static/js/main.js`` and what it imports, no build step); a browser runs a
module only when it arrives with a JavaScript media type, and with ``nosniff`` (web/headers.py)
it guesses nothing. So the media types of the UI's own file kinds are pinned here rather than
taken from the host's ``mimetypes`` table, which ``/etc/mime.types`` or a registry can change.
Caching of these files is decided in web/headers.py.
"""

from __future__ import annotations

import os
from pathlib import PurePath

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


class UiAssets(StaticFiles):
    """Starlette's static files (path checks, ETag, 304) with the media types above."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = MEDIA_TYPES.get(PurePath(full_path).suffix)
        if media_type is not None and response.status_code != 304:
            response.headers["content-type"] = media_type
        return response
