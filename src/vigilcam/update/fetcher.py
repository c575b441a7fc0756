"""The HTTPS fetcher python-tuf's ngclient downloads through, with vigilcam's TLS policy.

Owns the update channel, IoT-1005-1 5.3.1.2: every byte of metadata and package comes over TLS
>= 1.2 with ECDHE (the context is ``vigilcam.platform.tls.client_context``, the one home of TLS
policy), the server certificate and host name are verified, plain ``http://`` is refused and
redirects are not followed (a redirect could lead off TLS). Sizes are bounded by ngclient,
which stops reading past the length the signed metadata allows.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from tuf.api import exceptions
from tuf.ngclient import FetcherInterface

from vigilcam import product


class TlsFetcher(FetcherInterface):
    """``FetcherInterface._fetch`` over ``http.client`` with the given SSL context."""

    def __init__(self, context: ssl.SSLContext, *, timeout: float = 30.0,
                 chunk_size: int = 256 * 1024) -> None:
        self.context = context
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.user_agent = f"{product.MODEL.replace(' ', '-')}/{product.VERSION}"
        self.last_tls: tuple[str, str] | None = None  # (protocol, cipher) of the last fetch

    def _fetch(self, url: str) -> Iterator[bytes]:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise exceptions.DownloadError(f"refusing to fetch {url}: only https:// is allowed")
        conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443,
                                           context=self.context, timeout=self.timeout)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.connect()
            sock = conn.sock
            if isinstance(sock, ssl.SSLSocket):
                cipher = sock.cipher()
                self.last_tls = (sock.version() or "?", cipher[0] if cipher else "?")
            conn.request("GET", target or "/", headers={
                "User-Agent": self.user_agent, "Accept-Encoding": "identity"})
            response = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise exceptions.SlowRetrievalError(f"{url}: timed out") from exc
        except ssl.SSLError as exc:
            conn.close()
            raise exceptions.DownloadError(f"{url}: TLS failed ({exc.reason or exc})") from exc
        except OSError as exc:
            conn.close()
            raise exceptions.DownloadError(f"{url}: {exc}") from exc
        if response.status >= 400:
            conn.close()
            raise exceptions.DownloadHTTPError(f"{url}: HTTP {response.status}", response.status)
        if response.status != 200:
            conn.close()
            raise exceptions.DownloadError(f"{url}: HTTP {response.status} (redirects are not "
                                           "followed)")
        return self._chunks(conn, response)

    def _chunks(self, conn: http.client.HTTPSConnection,
                response: http.client.HTTPResponse) -> Iterator[bytes]:
        try:
            while chunk := response.read(self.chunk_size):
                yield chunk
        except TimeoutError as exc:
            raise exceptions.SlowRetrievalError("timed out while reading") from exc
        finally:
            conn.close()
