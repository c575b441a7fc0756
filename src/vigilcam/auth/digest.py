"""HTTP/RTSP authentication, server side: RFC 7616 Digest (SHA-256, MD5) and RFC 7617 Basic.

Owns how an RTSP or HTTP ``Authorization`` header is parsed and judged, for every edge that
offers Digest (RTSPS, the ONVIF snapshot URI). Pure: no sockets, an injected clock. Serves
IoT-1005-1 5.1.1.3 (authentication resists replay), 5.4.2.2 (Basic is only ever offered by a
TLS-only listener, so the factor is encrypted in transit) and 5.5.2.1 (bounded, strict parsing
of the header).

Replay resistance (5.1.1.3), step by step:
1. Every nonce is made by the server: ``time | random | HMAC(key, time | random | binding)``,
   where ``binding`` names the TLS connection it was issued on. A forged or altered nonce, or
   one presented on another connection, is not accepted (answered with a fresh challenge).
2. A nonce lives ``lifetime`` seconds; afterwards a *correct* response is answered
   ``stale=true`` (RFC 7616 3.3) so a well-behaved client retries with a fresh nonce, and a
   captured request is useless after expiry.
3. With ``qop=auth`` each (nonce, nc) pair is accepted once: a second request with the same
   nonce and nonce-count is a replay and refused, even on the same connection. The pair is
   only spent after the response was verified, so garbage cannot burn a client's counter.
4. Clients without ``qop`` (RFC 2069 style, e.g. GStreamer's ``rtspsrc``) have no counter;
   their nonce is still bound to one TLS connection (step 1), inside which TLS itself prevents
   replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "ALGORITHMS",
    "AuthParseError",
    "BasicAuth",
    "DigestAuth",
    "DigestVerifier",
    "NonceStore",
    "digest_response",
    "parse_authorization",
]

ALGORITHMS: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "SHA-256": hashlib.sha256,
    "MD5": hashlib.md5,
}
"""Offered in this order (strongest first); MD5 only for old clients (RFC 7616 3.7)."""

_MAX_USES_PER_NONCE = 4096
_MAC_BYTES = 16


class AuthParseError(ValueError):
    """The Authorization header is not a well-formed Basic or Digest credential."""


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class DigestAuth:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None


def _parse_params(text: str) -> dict[str, str]:
    """auth-param list: ``name=token`` or ``name="quoted string"``, comma separated."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise AuthParseError("auth parameter without value")
        name = text[i:eq].strip().lower()
        if not name or not all(c.isalnum() or c in "-_*" for c in name) or len(name) > 32:
            raise AuthParseError("malformed auth parameter name")
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            out: list[str] = []
            while True:
                if i >= n:
                    raise AuthParseError("unterminated quoted string")
                c = text[i]
                if c == "\\" and i + 1 < n:
                    out.append(text[i + 1])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                out.append(c)
                i += 1
            value = "".join(out)
        else:
            j = i
            while j < n and text[j] not in ", \t":
                j += 1
            value = text[i:j]
            i = j
        if name in params:
            raise AuthParseError(f"duplicate auth parameter {name}")
        params[name] = value
        if len(params) > 16:
            raise AuthParseError("too many auth parameters")
    return params


def parse_authorization(value: str) -> BasicAuth | DigestAuth:
    """Parse an Authorization header value; raise AuthParseError when malformed."""
    scheme, _, rest = value.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            raw = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthParseError("Basic credential is not base64 of UTF-8") from None
        user, sep, password = raw.partition(":")
        if not sep:
            raise AuthParseError("Basic credential has no ':'")
        return BasicAuth(user, password)
    if scheme != "digest":
        raise AuthParseError("only Digest and Basic authentication are supported")
    p = _parse_params(rest)
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
    if missing:
        raise AuthParseError(f"Digest credential lacks {', '.join(missing)}")
    if "username*" in p or p.get("userhash", "false").lower() == "true":
        raise AuthParseError("userhash and username* are not supported")
    qop = p.get("qop")
    if qop is not None:
        if qop.lower() != "auth":
            raise AuthParseError("only qop=auth is supported")
        nc, cnonce = p.get("nc"), p.get("cnonce")
        if nc is None or cnonce is None:
            raise AuthParseError("qop=auth needs nc and cnonce")
        if len(nc) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc):
            raise AuthParseError("nc must be 8 hex digits")
        if not cnonce or len(cnonce) > 256:
            raise AuthParseError("malformed cnonce")
    return DigestAuth(
        username=p["username"], realm=p["realm"], nonce=p["nonce"], uri=p["uri"],
        response=p["response"].lower(), algorithm=p.get("algorithm", "MD5"),
        qop=qop.lower() if qop else None, nc=p.get("nc", "").lower() or None,
        cnonce=p.get("cnonce"),
    )


def _algorithm(name: str) -> tuple[Callable[[bytes], hashlib._Hash], bool] | None:
    upper = name.upper()
    sess = upper.endswith("-SESS")
    base = upper[:-5] if sess else upper
    fn = ALGORITHMS.get(base)
    return (fn, sess) if fn is not None else None


def digest_response(auth: DigestAuth, secret: str, method: str) -> str:
    """The expected ``response`` value for ``auth`` (RFC 7616 3.4.1, RFC 2069 without qop)."""
    found = _algorithm(auth.algorithm)
    if found is None:
        raise AuthParseError(f"unsupported Digest algorithm {auth.algorithm}")
    fn, sess = found

    def h(text: str) -> str:
        return fn(text.encode("utf-8")).hexdigest()

    ha1 = h(f"{auth.username}:{auth.realm}:{secret}")
    if sess:
        ha1 = h(f"{ha1}:{auth.nonce}:{auth.cnonce or ''}")
    ha2 = h(f"{method}:{auth.uri}")
    if auth.qop:
        return h(f"{ha1}:{auth.nonce}:{auth.nc}:{auth.cnonce}:{auth.qop}:{ha2}")
    return h(f"{ha1}:{auth.nonce}:{ha2}")


@dataclass
class _NonceState:
    expires: float
    used: set[str] = field(default_factory=set)


class NonceStore:
    """Issues HMAC-protected, expiring, connection-bound nonces and tracks their counts."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        lifetime: float = 300.0,
        max_tracked: int = 20_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key or secrets.token_bytes(32)
        self.lifetime = lifetime
        self.max_tracked = max_tracked
        self.clock = clock
        self._live: OrderedDict[str, _NonceState] = OrderedDict()

    def _mac(self, stamp: bytes, rand: bytes, binding: str) -> bytes:
        msg = b"vigilcam-rtsp-nonce\x00" + stamp + rand + binding.encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, binding: str) -> str:
        now = self.clock()
        stamp = struct.pack(">Q", int(now * 1000))
        rand = secrets.token_bytes(12)
        nonce = base64.urlsafe_b64encode(stamp + rand + self._mac(stamp, rand, binding)).decode()
        self._expire(now)
        self._live[nonce] = _NonceState(now + self.lifetime)
        while len(self._live) > self.max_tracked:
            self._live.popitem(last=False)  # evicted nonces are answered stale: safe
        return nonce

    def _expire(self, now: float) -> None:
        while self._live:
            first = next(iter(self._live.values()))
            if first.expires > now:
                break
            self._live.popitem(last=False)

    def status(self, nonce: str, binding: str) -> str:
        """"ok", "stale" (ours but expired or forgotten) or "invalid" (not ours / not here)."""
        if len(nonce) != 48:
            return "invalid"
        try:
            raw = base64.urlsafe_b64decode(nonce.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            return "invalid"
        if len(raw) != 8 + 12 + _MAC_BYTES:
            return "invalid"
        stamp, rand, mac = raw[:8], raw[8:20], raw[20:]
        if not hmac.compare_digest(mac, self._mac(stamp, rand, binding)):
            return "invalid"
        now = self.clock()
        issued = struct.unpack(">Q", stamp)[0] / 1000.0
        if issued > now + 5:
            return "invalid"
        state = self._live.get(nonce)
        if state is None or state.expires <= now:
            return "stale"
        return "ok"

    def use(self, nonce: str, key: str) -> bool:
        """Spend ``key`` (the nc value) of a live nonce; False when already spent (replay)."""
        state = self._live.get(nonce)
        if state is None or key in state.used or len(state.used) >= _MAX_USES_PER_NONCE:
            return False
        state.used.add(key)
        return True

    def forget(self, binding_nonces: list[str]) -> None:
        """Drop the nonces of a closed connection (they can never be used again)."""
        for nonce in binding_nonces:
            self._live.pop(nonce, None)


class DigestVerifier:
    """Challenges and verdicts for one realm; the secret lookup is the caller's."""

    def __init__(self, realm: str, nonces: NonceStore) -> None:
        if '"' in realm or "\\" in realm:
            raise ValueError("realm must not contain quotes or backslashes")
        self.realm = realm
        self.nonces = nonces

    def challenges(self, nonce: str, *, stale: bool = False, basic: bool = True) -> list[str]:
        """WWW-Authenticate values: Digest SHA-256, Digest MD5, then Basic (TLS only)."""
        tail = ", stale=true" if stale else ""
        out = [
            f'Digest realm="{self.realm}", qop="auth", algorithm={alg}, nonce="{nonce}"{tail}'
            for alg in ALGORITHMS
        ]
        if basic:
            out.append(f'Basic realm="{self.realm}", charset="UTF-8"')
        return out

    def verify(
        self, auth: DigestAuth, secret: str | None, method: str, request_uri: str, binding: str,
        uri_matches: Callable[[str, str], bool] | None = None,
    ) -> str:
        """"ok", "stale" (right answer, old nonce), "replay" or "bad"."""
        if _algorithm(auth.algorithm) is None or auth.realm != self.realm:
            return "bad"
        same_uri = auth.uri == request_uri or (
            uri_matches is not None and uri_matches(auth.uri, request_uri)
        )
        expected = digest_response(auth, secret if secret is not None else secrets.token_hex(16),
                                   method)
        correct = hmac.compare_digest(expected.encode(), auth.response.encode("utf-8", "replace"))
        if not (correct and same_uri and secret is not None):
            return "bad"
        status = self.nonces.status(auth.nonce, binding)
        if status == "invalid":
            # A nonce that is not ours, or was issued to another connection: a fresh challenge.
            return "stale"
        if status == "stale":
            return "stale"
        if auth.qop is not None:
            assert auth.nc is not None
            if not self.nonces.use(auth.nonce, auth.nc):
                return "replay"
        return "ok"
