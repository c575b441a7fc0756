"""Remote audit: what another camera shows to the network, probed with bounded requests.

Owns the network probes of ``vigilcam audit --target URL`` and collects what they see as
``RemoteFacts``; ``remote_judge`` turns the facts into clause verdicts (pure logic). Serves
IoT-1005-1 5.1.2.1, 5.1.2.2, 5.1.3.1, 5.2.2.1, 5.2.3.1, 5.4.2.1, 5.4.2.2, 5.5.1.1 and TAICS
5.1.1.1, 5.2.6.1, 5.2.7.1, 5.3.1.2, 5.5.2.3, as far as the network shows them.

Bounds (an audit must never become an attack): only the host the user typed; a fixed list of
common camera ports, each probed once with short timeouts; at most 4 RTSP DESCRIBE requests per
RTSP port; the default-credential check and the throttling probe run only with
``--i-own-this-device``, try at most 5 default pairs and 15 wrong passwords, and stop at the
first throttling answer (429, 423, Retry-After or a lockout message); then one burst of 30
wrong passwords sent at once for a made-up account tells whether the throttle also holds for
parallel guesses (a throttle that counts failures only after the check lets a burst through);
the slow-client probe (``remote_slow``, IoT-1005-1 5.6.1.1) also runs only with that flag, with
at most 64 partial request heads; every probe has a time limit and the whole remote audit a
deadline.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigilcam.compliance.remote_wire import (
    CONNECT_TIMEOUT,
    HttpAnswer,
    Target,
    TargetError,
    connect,
    http_request,
    parse_reply,
    read_reply,
    rtsp_describe,
)
from vigilcam.compliance.tls_scan import TlsScanReport

if TYPE_CHECKING:
    from vigilcam.compliance.remote_slow import SlowClientsSeen

MAX_DEFAULT_ATTEMPTS = 5
THROTTLE_PROBES = 15
BURST_SIZE = 30
PROBE_DEADLINE_S = 40.0

# Well-known factory defaults of consumer cameras (the Mirai list and vendor manuals).
DEFAULT_CREDENTIALS: tuple[tuple[str, str], ...] = (
    ("admin", "admin"), ("admin", "12345"), ("admin", ""), ("root", "root"),
    ("admin", "password"),
)
# port -> what a camera usually runs there
DEFAULT_PORTS: dict[int, str] = {
    80: "http", 443: "https", 554: "rtsp", 8554: "rtsp", 8080: "http", 8000: "http",
    23: "telnet", 8899: "onvif", 322: "rtsps",
}
RTSP_PATHS = ("/", "/live", "/stream1", "/h264")
THROTTLE_STATUSES = {423, 429, 503}


@dataclass
class PortSeen:
    port: int
    expected: str  # what usually runs there
    open: bool
    protocol: str = ""  # http | rtsp | tls | telnet | unknown
    plaintext: bool = False
    detail: str = ""
    http: HttpAnswer | None = None

    @property
    def plain_redirect(self) -> bool:
        return (self.protocol == "http" and self.http is not None
                and self.http.status in (301, 302, 307, 308)
                and self.http.header("location").startswith("https://"))


@dataclass
class RtspSeen:
    port: int
    tls: bool
    path: str
    status: int
    sdp: bool
    auth: str = ""  # WWW-Authenticate scheme when refused


@dataclass
class LoginSeen:
    kind: str  # "json" (POST /api/v1/session) | "basic" | ""
    where: str = ""
    plaintext_ports: list[int] = field(default_factory=list)  # plain ports that take logins


@dataclass
class AttemptsSeen:
    tried: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    throttled_after: int | None = None  # attempts made before the first throttle answer
    slowest_s: float = 0.0


@dataclass
class BurstSeen:
    """Wrong passwords sent at once: how many the camera judged (not refused unchecked)."""

    sent: int
    checked: int  # answered as a judged guess (401/403, or 2xx)
    refused: int  # throttle answers
    statuses: dict[int, int] = field(default_factory=dict)


@dataclass
class RemoteFacts:
    target: Target
    owner: bool
    tls: TlsScanReport | None = None
    cert: dict[str, str] = field(default_factory=dict)
    ports: list[PortSeen] = field(default_factory=list)
    page: HttpAnswer | None = None
    api: HttpAnswer | None = None
    security_txt: HttpAnswer | None = None
    rtsp: list[RtspSeen] = field(default_factory=list)
    login: LoginSeen = field(default_factory=lambda: LoginSeen(""))
    defaults: AttemptsSeen | None = None
    throttle: AttemptsSeen | None = None
    burst: BurstSeen | None = None
    slow: SlowClientsSeen | None = None  # remote_slow.probe_slow_clients, owner only
    onvif: Any = None  # remote_onvif.OnvifSeen once probed
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- probes --------------------------------------------------------------------------------
def probe_port(host: str, port: int, expected: str) -> PortSeen:
    """Is the port open, and does it speak plaintext HTTP/RTSP, telnet or TLS?"""
    seen = PortSeen(port, expected, open=False)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as sock:
            seen.open = True
            if expected == "telnet":
                seen.protocol, seen.plaintext = "telnet", True
                sock.settimeout(1.0)
                try:
                    banner = sock.recv(256)
                except OSError:
                    banner = b""
                seen.detail = f"telnet answers ({len(banner)} bytes of banner)"
                return seen
    except OSError:
        return seen
    if expected in ("rtsp", "rtsps"):
        answer = _plain_rtsp_options(host, port)
    else:
        answer = http_request(host, port, False, "GET", "/")
    if answer is not None:
        seen.plaintext = True
        seen.protocol = "rtsp" if expected in ("rtsp", "rtsps") else "http"
        seen.http = answer
        seen.detail = f"plaintext {seen.protocol.upper()} answers {answer.status}"
        return seen
    try:
        with connect(host, port, True) as tls_sock:
            assert isinstance(tls_sock, ssl.SSLSocket)
            seen.protocol = "tls"
            seen.detail = f"TLS ({tls_sock.version()})"
    except (OSError, ssl.SSLError):
        seen.protocol, seen.plaintext = "unknown", True
        seen.detail = "open; neither HTTP, RTSP nor TLS answered"
    return seen


def _plain_rtsp_options(host: str, port: int) -> HttpAnswer | None:
    try:
        with connect(host, port, False) as sock:
            sock.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: vigilcam-audit\r\n\r\n")
            answer = parse_reply(read_reply(sock))
    except OSError:
        return None
    return answer


def _json_login(target: Target, username: str, password: str, *, tls: bool = True,
                port: int | None = None) -> HttpAnswer | None:
    body = json.dumps({"username": username, "password": password}).encode()
    return http_request(target.host, port or target.port, tls, "POST", "/api/v1/session",
                        {"Content-Type": "application/json"}, body)


def _basic_login(target: Target, where: str, username: str, password: str) -> HttpAnswer | None:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return http_request(target.host, target.port, True, "GET", where,
                        {"Authorization": f"Basic {token}"})


def discover_login(target: Target, plain_http: list[int]) -> LoginSeen:
    """Find the login: a vigilcam-style JSON session endpoint, or HTTP Basic on a page."""
    seen = LoginSeen("")
    probe = _json_login(target, "vigilcam-audit-" + secrets.token_hex(3), secrets.token_hex(8))
    if probe is not None and probe.status in (200, 401, 403, 429):
        seen.kind, seen.where = "json", "POST /api/v1/session"
    else:
        for path in ("/", "/api/v1/device"):
            answer = http_request(target.host, target.port, True, "GET", path)
            if answer and answer.status == 401 and "basic" in answer.header(
                    "www-authenticate").lower():
                seen.kind, seen.where = "basic", f"GET {path} (HTTP Basic)"
                break
    for port in plain_http:
        plain = _json_login(target, "vigilcam-audit-" + secrets.token_hex(3),
                            secrets.token_hex(8), tls=False, port=port)
        basic = http_request(target.host, port, False, "GET", "/")
        if (plain is not None and plain.status in (200, 401, 403, 429)) or (
                basic is not None and "basic" in basic.header("www-authenticate").lower()):
            seen.plaintext_ports.append(port)
    return seen


def _login(target: Target, login: LoginSeen, username: str, password: str) -> int:
    if login.kind == "json":
        answer = _json_login(target, username, password)
    else:
        answer = _basic_login(target, login.where.split()[1], username, password)
    return answer.status if answer is not None else 0


def _is_throttle(status: int) -> bool:
    return status in THROTTLE_STATUSES


def try_defaults(target: Target, login: LoginSeen, deadline: float) -> AttemptsSeen:
    """At most 5 well-known default pairs; stop at the first throttle answer."""
    seen = AttemptsSeen()
    for username, password in DEFAULT_CREDENTIALS[:MAX_DEFAULT_ATTEMPTS]:
        if time.monotonic() > deadline:
            break
        status = _login(target, login, username, password)
        pair = f"{username}/{password or '(blank)'}"
        seen.tried.append(pair)
        seen.statuses.append(status)
        if _is_throttle(status):
            seen.throttled_after = len(seen.tried) - 1
            break
        if 200 <= status < 300:
            seen.accepted.append(pair)
            break
    return seen


def probe_throttling(target: Target, login: LoginSeen, deadline: float) -> AttemptsSeen:
    """Up to 15 wrong passwords for admin; stop at the first throttle answer."""
    seen = AttemptsSeen()
    for attempt in range(THROTTLE_PROBES):
        if time.monotonic() > deadline:
            break
        started = time.monotonic()
        status = _login(target, login, "admin", "audit-" + secrets.token_urlsafe(12))
        seen.slowest_s = max(seen.slowest_s, time.monotonic() - started)
        seen.tried.append("admin/(random)")
        seen.statuses.append(status)
        if _is_throttle(status):
            seen.throttled_after = attempt
            break
        if 200 <= status < 300:
            seen.accepted.append("admin/(random)")
            break
    return seen


def probe_burst(target: Target, login: LoginSeen, deadline: float) -> BurstSeen | None:
    """BURST_SIZE wrong passwords at once for one made-up account (owner approved)."""
    if time.monotonic() > deadline:
        return None
    account = "vigilcam-audit-" + secrets.token_hex(3)

    def guess(_: int) -> int:
        return _login(target, login, account, "audit-" + secrets.token_urlsafe(12))

    with ThreadPoolExecutor(BURST_SIZE, thread_name_prefix="audit-burst") as pool:
        statuses = list(pool.map(guess, range(BURST_SIZE)))
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    checked = sum(1 for st in statuses if st in (401, 403) or 200 <= st < 300)
    refused = sum(1 for st in statuses if _is_throttle(st))
    return BurstSeen(len(statuses), checked, refused, dict(sorted(counts.items())))


def _certificate(target: Target) -> dict[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        with connect(target.host, target.port, True) as sock:
            assert isinstance(sock, ssl.SSLSocket)
            der = sock.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        return {"error": str(exc)}
    if not der:
        return {"error": "no certificate"}
    cert = x509.load_der_x509_certificate(der)
    key = cert.public_key()
    key_desc = f"RSA {key.key_size}" if isinstance(key, rsa.RSAPublicKey) else type(
        key).__name__.removeprefix("_").replace("PublicKey", "")
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "expired": str(cert.not_valid_after_utc < dt.datetime.now(dt.UTC)),
        "self_signed": str(cert.issuer == cert.subject),
        "key": key_desc,
        "signature": cert.signature_hash_algorithm.name if cert.signature_hash_algorithm
        else "?",
    }


def tls_handshake_error(host: str, port: int) -> str:
    """'' when the port completes a TLS handshake (any version), else why not (fast)."""
    try:
        with connect(host, port, True):
            return ""
    except (OSError, ssl.SSLError) as exc:
        return f"no TLS handshake: {exc}"


def quick_then_sslyze(host: str, port: int) -> TlsScanReport:
    """sslyze takes ~10 s to give up on a plaintext port; a plain handshake tells at once."""
    from vigilcam.compliance.tls_scan import scan

    error = tls_handshake_error(host, port)
    if error:
        return TlsScanReport(reachable=False, error=error)
    return scan(host, port, timeout=15.0)


_default_tls_scan = quick_then_sslyze


def collect(
    target: Target,
    *,
    owner: bool = False,
    ports: dict[int, str] | None = None,
    progress: Callable[[str], None] = lambda line: None,
    tls_scanner: Callable[[str, int], TlsScanReport] = _default_tls_scan,
    onvif_credential: tuple[str, str] | None = None,
) -> RemoteFacts:
    """Run every bounded probe against the one target the user named."""
    started = time.monotonic()
    deadline = started + PROBE_DEADLINE_S
    try:
        ipaddress.ip_address(target.host)
    except ValueError:
        try:
            socket.getaddrinfo(target.host, target.port)
        except OSError as exc:
            raise TargetError(f"cannot resolve {target.host}: {exc}") from None
    facts = RemoteFacts(target, owner)
    progress(f"TLS scan of {target.url} (sslyze)")
    facts.tls = tls_scanner(target.host, target.port)
    if not facts.tls.reachable:
        facts.errors.append(f"no TLS service at {target.url}: {facts.tls.error}")
    else:
        facts.cert = _certificate(target)
    plan = {p: s for p, s in (ports if ports is not None else DEFAULT_PORTS).items()
            if p != target.port}
    progress(f"probing {len(plan)} common camera ports")
    for port, service in sorted(plan.items()):
        if time.monotonic() > deadline:
            facts.errors.append(f"port {port} not probed: the {PROBE_DEADLINE_S:.0f} s probe "
                                "deadline passed")
            continue
        facts.ports.append(probe_port(target.host, port, service))
    if facts.tls.reachable:
        progress("HTTP security headers and security.txt")
        facts.page = http_request(target.host, target.port, True, "GET", "/")
        facts.api = http_request(target.host, target.port, True, "GET", "/api/v1/users")
        facts.security_txt = http_request(target.host, target.port, True, "GET",
                                          "/.well-known/security.txt")
    rtsp_ports = [(p.port, False) for p in facts.ports if p.open and p.protocol == "rtsp"]
    rtsp_ports += [(p.port, True) for p in facts.ports
                   if p.open and p.protocol == "tls" and p.expected in ("rtsp", "rtsps")]
    for port, tls in rtsp_ports:
        progress(f"RTSP DESCRIBE without credentials on port {port}")
        for path in RTSP_PATHS:
            if time.monotonic() > deadline:
                break
            answer = rtsp_describe(target.host, port, tls, path)
            if answer is None:
                continue
            sdp = answer.status == 200 and "sdp" in answer.header("content-type")
            facts.rtsp.append(RtspSeen(port, tls, path, answer.status, sdp,
                                       answer.header("www-authenticate").split(" ")[0]))
            if sdp or answer.status == 401:
                break
    plain_http = [p.port for p in facts.ports if p.open and p.protocol == "http"
                  and not p.plain_redirect]
    if facts.tls.reachable or plain_http:
        progress("looking for the login endpoint")
        facts.login = discover_login(target, plain_http)
    # Before the login probes: their wrong passwords may lock this address out, and the
    # ONVIF credential check would then be throttled instead of judged.
    if facts.tls.reachable or plain_http:
        from vigilcam.compliance.remote_onvif import probe_onvif

        progress("ONVIF: anonymous answers, plain HTTP"
                 + (", replay and stale Created (owner's credential)"
                    if owner and onvif_credential else ""))
        facts.onvif = probe_onvif(target, plain_http, tls=facts.tls.reachable,
                                  owner=owner, credential=onvif_credential)
    if owner and facts.login.kind:
        progress(f"default credentials (at most {MAX_DEFAULT_ATTEMPTS}, owner approved)")
        facts.defaults = try_defaults(target, facts.login, deadline)
        progress(f"throttling probe (at most {THROTTLE_PROBES} wrong passwords)")
        facts.throttle = probe_throttling(target, facts.login, deadline)
        if facts.throttle.throttled_after is not None:
            progress(f"parallel guessing ({BURST_SIZE} wrong passwords at once, owner approved)")
            facts.burst = probe_burst(target, facts.login, deadline)
    if owner and facts.tls.reachable:
        from vigilcam.compliance.remote_slow import SLOW_CONNECTIONS, probe_slow_clients

        progress(f"slow-client probe ({SLOW_CONNECTIONS} partial request heads, owner approved)")
        facts.slow = probe_slow_clients(target)
    facts.seconds = time.monotonic() - started
    return facts
