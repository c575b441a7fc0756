"""Local audit checks of the device's network face: listeners, TLS, plaintext, headers.

Owns the checks that look at the running service from inside the host: the sockets its process
listens on against the documented set (IoT-1005-1 5.2.2.1), an sslyze scan of each TLS port
and the TLS policy the contexts are built from (5.4.2.1, TAICS 5.3.1.2 / 5.5.2.3), the
plain-HTTP redirect listener (5.4.2.2), security.txt (5.2.3.1) and the security headers of the
web interface and API (TAICS 5.2.6.1 / 5.2.7.1). When the service is not running they judge
the configuration and the code and say so.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import httpx

from vigilcam.compliance.model import Result, Verdict, merge
from vigilcam.compliance.state import documented_listeners

if TYPE_CHECKING:
    from vigilcam.compliance.state import LocalContext

TIMEOUT = 5.0
REQUIRED_PAGE_HEADERS = ("strict-transport-security", "content-security-policy",
                         "x-content-type-options", "x-frame-options")


def _url(ctx: LocalContext, port: int, path: str, scheme: str = "https") -> str:
    host = ctx.connect_host()
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}{path}"


def https_get(ctx: LocalContext, path: str, **kw: object) -> httpx.Response:
    url = _url(ctx, ctx.settings().https_port, path)
    with httpx.Client(verify=ctx.client_ssl(), timeout=TIMEOUT) as client:
        return client.get(url, **kw)  # type: ignore[arg-type]


def only_necessary_services(ctx: LocalContext) -> Result:
    """5.2.2.1: only HTTPS by default; each other listener opt-in and documented."""
    settings = ctx.settings()
    documented = documented_listeners(settings)
    hidden = ctx.sockets_unreadable()
    if hidden:
        return hidden
    if not ctx.running:
        return Result.passed(ctx.running_note(), "configured listeners: " + "; ".join(
            f"{what} on port {port}" for port, (what, _) in sorted(documented.items())))
    listening = ctx.listening()
    unexpected = [f"undocumented listener {item.socket}" for item in listening if not item.name]
    evidence = [ctx.running_note()] + [f"{item.socket}: {item.name}" for item in listening
                                       if item.name]
    missing = [f"{what} (port {port}) configured but not listening"
               for port, (what, _) in documented.items()
               if not any(i.socket.port == port for i in listening)]
    if unexpected:
        return Result.failed("Turn off the undocumented service, or document it in "
                             "Settings and docs/setup-guide.md.", *unexpected, *evidence)
    return Result.passed(*evidence, *missing)


def _policy() -> Result:
    """The TLS policy as data and as the server context it builds (platform/tls.py)."""
    from vigilcam.platform import tls

    policy = tls.describe()
    problems = []
    if policy["minimum_version"] not in ("TLSv1_2", "TLSv1_3"):
        problems.append(f"minimum version {policy['minimum_version']}")
    suites = [str(s) for s in policy["tls12_ciphers"]]  # type: ignore[attr-defined]
    for suite in suites:
        if not suite.startswith("ECDHE-") or not ("GCM" in suite or "CHACHA20" in suite):
            problems.append(f"TLS 1.2 suite without forward secrecy or AEAD: {suite}")
    if policy.get("compression"):
        problems.append("compression enabled")
    # Client and server contexts share one hardening step in platform/tls.py.
    ctx = tls.client_context(verify=False)
    for cipher in ctx.get_ciphers():
        if cipher["protocol"] == "TLSv1.2" and (cipher["kea"] != "kx-ecdhe" or not
                                                 cipher["aead"]):
            problems.append(f"server context enables {cipher['name']} (no ECDHE or AEAD)")
    if ctx.minimum_version < ssl.TLSVersion.TLSv1_2:
        problems.append(f"server context allows {ctx.minimum_version.name}")
    problems = list(dict.fromkeys(problems))
    if problems:
        return Result.failed("Restore the TLS policy in platform/tls.py: TLS 1.2 minimum, "
                             "ECDHE with AES-GCM only.", *problems)
    return Result.passed(f"TLS policy (platform/tls.py): minimum {policy['minimum_version']}, "
                         f"TLS 1.2 suites {', '.join(suites)}, TLS 1.3 AEAD suites; no "
                         "compression, renegotiation or tickets")


def _scan_problems(ctx: LocalContext, port: int, what: str) -> Result:
    report = ctx.tls_scan(port)
    if not report.reachable:
        return Result.failed(f"Make {what} speak TLS from platform/tls.py.",
                             f"port {port} ({what}): no TLS handshake: {report.error}")
    problems = [p for p in report.problems() if not p.startswith("default suite is")]
    if problems:
        return Result.failed("Build every listener's context with platform.tls."
                             "server_context().", *(f"port {port}: {p}" for p in problems))
    return Result.passed(f"port {port} ({what}), sslyze: {', '.join(report.versions)}; "
                         f"{sum(len(s) for s in report.suites.values())} suites, all ECDHE/AEAD")


def _redirect_probe(ctx: LocalContext, port: int) -> Result:
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            r = client.get(_url(ctx, port, "/api/v1/device", "http"))
    except httpx.HTTPError as exc:
        return Result.failed("Check the redirect listener.", f"port {port}: {exc}")
    location = r.headers.get("location", "")
    if r.status_code in (301, 302, 307, 308) and location.startswith("https://"):
        return Result.passed(f"port {port} (plain HTTP, opt-in) only redirects to {location}")
    return Result.failed("The plain-HTTP listener must only redirect; turn it off or fix it.",
                         f"port {port} answered {r.status_code} in plaintext, not a redirect")


def secure_channels(ctx: LocalContext) -> Result:
    """5.4.2.1: every listener TLS >= 1.2 with ECDHE (sslyze); plaintext only the redirect."""
    parts = [_policy()]
    if not ctx.running:
        parts.append(Result.passed(ctx.running_note() + "; TLS ports not scanned"))
        return merge(*parts)
    hidden = ctx.sockets_unreadable()
    if hidden:
        if parts[0].verdict == Verdict.FAIL:
            return merge(*parts, hidden)
        return Result(Verdict.NOT_TESTED, parts[0].evidence + hidden.evidence, hidden.todo)
    parts.append(Result.passed(ctx.running_note()))
    for item in ctx.listening():
        if item.socket.transport != "tcp":
            continue
        if item.name and not item.tls:
            parts.append(_redirect_probe(ctx, item.socket.port))
        else:
            parts.append(_scan_problems(ctx, item.socket.port, item.name or "undocumented"))
    return merge(*parts)


def credentials_encrypted(ctx: LocalContext) -> Result:
    """5.4.2.2: credentials never cross a plaintext listener; Basic refused there."""
    settings = ctx.settings()
    port = settings.http_redirect_port
    if not port:
        return Result.passed("no plaintext listener: logins only over TLS (HTTPS/WSS)")
    if not ctx.running:
        return Result.passed(ctx.running_note(), f"plain-HTTP port {port} is configured as a "
                             "redirect-only app (GET/HEAD, no authentication)")
    problems = []
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            login = client.post(_url(ctx, port, "/api/v1/session", "http"),
                                json={"username": "audit", "password": "not-a-password"})
            basic = client.get(_url(ctx, port, "/api/v1/device", "http"),
                               auth=("audit", "not-a-password"))
    except httpx.HTTPError as exc:
        return Result.failed("Check the redirect listener.", f"port {port}: {exc}")
    if login.status_code in (200, 401, 403, 429):
        problems.append(f"plaintext POST /api/v1/session was processed ({login.status_code})")
    if basic.status_code not in (301, 302, 307, 308):
        problems.append(f"plaintext request with Basic credentials got {basic.status_code}")
    if problems:
        return Result.failed("Turn off the plain-HTTP listener or restore its redirect-only "
                             "app.", *problems)
    return Result.passed(f"plain-HTTP port {port}: login refused ({login.status_code}), Basic "
                         f"credentials not processed (redirect {basic.status_code})")


def disclosure_policy(ctx: LocalContext) -> Result:
    """5.2.3.1: SECURITY.md published and /.well-known/security.txt served (RFC 9116)."""
    from vigilcam import product
    from vigilcam.compliance.checks_docs import doc_sections

    parts = [doc_sections(ctx, "SECURITY.md", ("report", "acknowledg", "severity"))]
    if not ctx.running:
        parts.append(Result.passed(ctx.running_note(), "security.txt route registered; "
                                   f"contact {product.SECURITY_CONTACT}"))
        return merge(*parts)
    try:
        r = https_get(ctx, "/.well-known/security.txt")
        body = r.text
    except httpx.HTTPError as exc:
        return merge(*parts, Result.failed("Check the HTTPS service.", f"security.txt: {exc}"))
    if r.status_code == 200 and "Contact:" in body and "Expires:" in body:
        parts.append(Result.passed("GET /.well-known/security.txt: 200 with Contact and "
                                   "Expires (RFC 9116)"))
    else:
        parts.append(Result.failed("Serve /.well-known/security.txt with Contact and Expires.",
                                   f"security.txt answered {r.status_code}"))
    return merge(*parts)


def _header_problems(headers: httpx.Headers, required: tuple[str, ...]) -> list[str]:
    problems = [f"missing header {h}" for h in required if h not in headers]
    csp = headers.get("content-security-policy", "")
    if "content-security-policy" in required and "unsafe-inline" in csp:
        problems.append("CSP allows inline script")
    if "server" in headers and any(ch.isdigit() for ch in headers["server"]):
        problems.append(f"Server header reveals a version: {headers['server']}")
    return problems


def web_interface_security(ctx: LocalContext) -> Result:
    """TAICS 5.2.6.1: web UI headers (HSTS, CSP, no framing, nosniff), auth and CSRF."""
    from vigilcam.web.headers import BASE_HEADERS

    if not ctx.running:
        names = {k.decode() for k, _ in BASE_HEADERS}
        missing = [h for h in REQUIRED_PAGE_HEADERS if h not in names]
        if missing:
            return Result.failed("Restore web/headers.py.", f"headers not set: {missing}")
        return Result.passed(ctx.running_note(), "web/headers.py sets " + ", ".join(
            sorted(names)), "sessions need CSRF token and request nonce for changes")
    try:
        r = https_get(ctx, "/")
    except httpx.HTTPError as exc:
        return Result.failed("Check the HTTPS service.", f"GET /: {exc}")
    problems = _header_problems(r.headers, REQUIRED_PAGE_HEADERS)
    if problems:
        return Result.failed("Restore web/headers.py on every response.", *problems)
    return Result.passed(f"GET / over TLS: {', '.join(REQUIRED_PAGE_HEADERS)} present; CSP "
                         "without inline script; no Server version")


def api_security(ctx: LocalContext) -> Result:
    """TAICS 5.2.7.1: the API refuses anonymous calls and is not cached or sniffed."""
    if not ctx.running:
        return Result.passed(ctx.running_note(), "every API route guarded by the permission "
                             "matrix; strict body schemas (see 5.1.2.1 and 5.5.2.1)")
    try:
        r = https_get(ctx, "/api/v1/users")
    except httpx.HTTPError as exc:
        return Result.failed("Check the HTTPS service.", f"GET /api/v1/users: {exc}")
    problems = _header_problems(r.headers, ("x-content-type-options", "cache-control"))
    if r.status_code not in (401, 403):
        problems.append(f"anonymous GET /api/v1/users answered {r.status_code}")
    if "no-store" not in r.headers.get("cache-control", ""):
        problems.append("API answer may be cached (no Cache-Control: no-store)")
    if problems:
        return Result.failed("Guard every API route and keep the API headers.", *problems)
    return Result.passed(f"anonymous GET /api/v1/users: {r.status_code}; nosniff and "
                         "no-store set")


def _aes256(ctx: LocalContext, video_only: bool) -> Result:
    from vigilcam.platform import tls

    first = str(tls.describe()["tls12_ciphers"][0])  # type: ignore[index]
    parts = []
    if "AES256-GCM" in first:
        parts.append(Result.passed(f"policy prefers {first} (TLS 1.2) and TLS_AES_256_GCM_SHA384"
                                   " (TLS 1.3), server order"))
    else:
        parts.append(Result.failed("Put an AES-256-GCM suite first in platform/tls.py.",
                                   f"preferred TLS 1.2 suite is {first}"))
    if not ctx.running:
        parts.append(Result.passed(ctx.running_note()))
        return merge(*parts)
    for item in ctx.listening():
        if item.socket.transport != "tcp" or not item.tls:
            continue
        report = ctx.tls_scan(item.socket.port)
        got = report.negotiated_default
        if report.reachable and "AES_256_GCM" in got:
            parts.append(Result.passed(f"port {item.socket.port} ({item.name}): a default "
                                       f"client gets {got}"))
        else:
            parts.append(Result.failed("Prefer AES-256-GCM in platform/tls.py.",
                                       f"port {item.socket.port}: default client gets "
                                       f"{got or report.error}"))
    if video_only:
        plain = [i for i in ctx.listening() if i.socket.transport == "tcp" and not i.tls
                 and not (i.name and "redirect" in i.name)]
        if plain:
            parts.append(Result.failed("Serve video only over TLS.", *(
                f"plaintext listener {i.socket} may carry video" for i in plain)))
        else:
            parts.append(Result.passed("no plaintext video listener (live video over WSS, "
                                       "RTSPS only)"))
    return merge(*parts)


def aes256_default(ctx: LocalContext) -> Result:
    """TAICS 5.3.1.2: data in transit AES-256 by default."""
    return _aes256(ctx, video_only=False)


def video_aes256(ctx: LocalContext) -> Result:
    """TAICS 5.5.2.3: video and audio in transit AES-256 by default."""
    return _aes256(ctx, video_only=True)
