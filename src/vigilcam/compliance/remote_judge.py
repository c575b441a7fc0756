"""Verdicts of the remote audit: pure functions from ``RemoteFacts`` to clause results.

Owns how what the network shows is judged, clause by clause (IoT-1005-1 5.1.2.1, 5.1.2.2,
5.1.3.1, 5.2.2.1, 5.2.3.1, 5.4.2.1, 5.4.2.2, 5.5.1.1, 5.6.1.1; TAICS 5.1.1.1, 5.2.6.1,
5.2.7.1, 5.3.1.2, 5.5.2.3). No IO: tests feed facts and check verdicts; ``remote.collect``
gathers the facts.
"""

from __future__ import annotations

from vigilcam.compliance.model import Result, merge
from vigilcam.compliance.remote import THROTTLE_PROBES, HttpAnswer, PortSeen, RemoteFacts

PAGE_HEADERS = ("strict-transport-security", "content-security-policy",
                "x-content-type-options")
_OWNER = "Re-run with --i-own-this-device on a camera you own to try it."


def _shorten(problems: list[str], most: int = 8, width: int = 240) -> list[str]:
    """Keep a report readable: the first problems in full, then a count."""
    out = [p if len(p) <= width else p[: width - 3] + "..." for p in problems[:most]]
    if len(problems) > most:
        out.append(f"... and {len(problems) - most} more of the same kind")
    return out


def _no_tls(facts: RemoteFacts) -> Result | None:
    if facts.tls is None or not facts.tls.reachable:
        return Result.failed("Serve the management interface over TLS >= 1.2.",
                             f"no TLS service at {facts.target.url}")
    return None


def _plain_services(facts: RemoteFacts) -> list[PortSeen]:
    return [p for p in facts.ports if p.open and p.plaintext and not p.plain_redirect]


def access_needs_authentication(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.1.2.1: no video or API data without authentication."""
    problems = [f"RTSP port {r.port} serves the stream {r.path} without authentication "
                f"(DESCRIBE answered 200 with SDP)" for r in facts.rtsp if r.sdp]
    if facts.api is not None and facts.api.status == 200:
        problems.append("anonymous GET /api/v1/users answered 200")
    if facts.onvif is not None:
        problems += [f"ONVIF {where} without credentials" for where in facts.onvif.anonymous]
    if problems:
        return Result.failed("Require authentication on every stream and API (RTSP Digest "
                             "over RTSPS; sessions on the API).", *problems)
    evidence = [f"RTSP port {r.port} {r.path}: {r.status}" + (f" ({r.auth})" if r.auth else "")
                for r in facts.rtsp]
    if facts.api is not None:
        evidence.append(f"anonymous GET /api/v1/users: {facts.api.status}")
    return Result.passed(*evidence or ["no unauthenticated stream or API answer found"])


def login_throttled(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.1.2.2: repeated wrong logins get throttled."""
    if not facts.owner:
        return Result.not_tested("throttling probe not run (it sends wrong passwords)",
                                 todo=_OWNER)
    if facts.throttle is None:
        return Result.not_tested("no login endpoint found (JSON session or HTTP Basic)")
    seen = facts.throttle
    if seen.throttled_after is not None:
        earlier = len(facts.defaults.tried) if facts.defaults is not None else 0
        evidence = [f"throttled at probe attempt {seen.throttled_after + 1} of "
                    f"{THROTTLE_PROBES} ({earlier} default-credential attempts before it) on "
                    f"{facts.login.where}: answers {seen.statuses}"]
        burst = facts.burst
        if burst is None:
            return Result.passed(*evidence, "parallel-guess burst not run (deadline)")
        # Sent at once, a made-up account's guesses may get at most what the guesses in a row
        # (defaults and probe) got before the first refusal, plus one for a request already
        # being judged when that refusal came.
        in_a_row = [*(facts.defaults.statuses if facts.defaults else []), *seen.statuses]
        budget = sum(1 for status in in_a_row if status in (401, 403)) + 1
        evidence.append(f"{burst.sent} wrong passwords at once for a new account: "
                        f"{burst.checked} judged, {burst.refused} refused unchecked "
                        f"(answers {burst.statuses})")
        if burst.checked > budget:
            return Result.failed("Count an attempt before its password is checked, so that "
                                 "parallel guesses get no more checks than guesses in a row "
                                 "(NIST SP 800-63B: at most 100 per account).", *evidence)
        return Result.passed(*evidence)
    if seen.slowest_s >= 5:
        return Result.passed(f"answers slowed to {seen.slowest_s:.1f} s (delay throttling)")
    return Result.failed("Limit login attempts: growing delays and lockout (at most 100 "
                         "failures per account).",
                         f"{len(seen.tried)} wrong passwords in a row, no throttling: "
                         f"answers {seen.statuses}")


def no_default_credentials(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.1.3.1: no well-known default password works."""
    if not facts.owner:
        return Result.not_tested("default-credential check not run", todo=_OWNER)
    if facts.defaults is None:
        return Result.not_tested("no login endpoint found (JSON session or HTTP Basic)")
    seen = facts.defaults
    if seen.accepted:
        return Result.failed("Change the default password now; a unique per-device password "
                             "or a forced change at first login is required.",
                             f"default credentials accepted: {', '.join(seen.accepted)} "
                             f"({facts.login.where})")
    stop = (f"; stopped by throttling after {seen.throttled_after}"
            if seen.throttled_after is not None else "")
    return Result.passed(f"refused: {', '.join(seen.tried)} (answers {seen.statuses}){stop}")


def only_necessary_services(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.2.2.1: nothing beyond the secure management port by default."""
    problems = []
    for p in facts.ports:
        if not p.open:
            continue
        if p.protocol == "telnet":
            problems.append(f"telnet open on port {p.port}")
        elif p.plaintext and not p.plain_redirect:
            problems.append(f"plaintext service on port {p.port}: {p.detail}")
    open_ports = [f"{p.port} ({p.detail})" for p in facts.ports if p.open]
    closed = [str(p.port) for p in facts.ports if not p.open]
    evidence = [f"open: {', '.join(open_ports) or 'none besides the target'}",
                f"closed: {', '.join(closed) or 'none'}"]
    if problems:
        return Result.failed("Turn off every plaintext or debug service the camera does not "
                             "need.", *problems, *evidence)
    return Result.passed(*evidence)


def security_txt(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.2.3.1: a vulnerability disclosure contact (RFC 9116)."""
    answer = facts.security_txt
    if answer is not None and answer.status == 200 and b"contact:" in answer.body.lower():
        return Result.passed("/.well-known/security.txt: 200 with Contact")
    got = "no answer" if answer is None else f"{answer.status}"
    return Result.failed("Publish a disclosure policy and serve /.well-known/security.txt "
                         "(RFC 9116).", f"/.well-known/security.txt: {got}")


def secure_channels(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.4.2.1: TLS >= 1.2 with forward secrecy; no plaintext data service."""
    missing = _no_tls(facts)
    parts = [missing] if missing else []
    if facts.tls is not None and facts.tls.reachable:
        problems = _shorten([p for p in facts.tls.problems()
                             if not p.startswith("default suite is")])
        cert = facts.cert
        if cert.get("expired") == "True":
            problems.append(f"certificate expired {cert.get('not_after')}")
        if cert.get("key", "").startswith("RSA ") and int(cert["key"].split()[1]) < 2048:
            problems.append(f"certificate key {cert['key']} is too short")
        evidence = [f"{facts.target.url}: {', '.join(facts.tls.versions)}",
                    f"certificate {cert.get('subject', '?')}, {cert.get('key', '?')}, until "
                    f"{cert.get('not_after', '?')}"]
        if problems:
            parts.append(Result.failed("Allow only TLS 1.2+ with ECDHE and AEAD suites.",
                                       *problems, *evidence))
        else:
            parts.append(Result.passed(*evidence, "every accepted suite has forward secrecy"))
    plain = [p for p in _plain_services(facts) if p.protocol != "telnet"]
    if plain:
        parts.append(Result.failed("Serve video and data only over TLS (RTSPS, HTTPS).",
                                   *(f"plaintext {p.protocol.upper()} on port {p.port}"
                                     for p in plain)))
    return merge(*parts)


def credentials_encrypted(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.4.2.2: credentials never cross the network in clear."""
    problems = [f"plain-HTTP port {p} takes logins in clear" for p in facts.login.plaintext_ports]
    problems += [f"telnet on port {p.port} sends passwords in clear"
                 for p in facts.ports if p.open and p.protocol == "telnet"]
    problems += [f"plaintext RTSP port {r.port} asks for {r.auth} credentials"
                 for r in facts.rtsp if not r.tls and r.auth.lower() == "basic"]
    if problems:
        return Result.failed("Accept credentials only inside TLS; make plain HTTP "
                             "redirect-only.", *problems)
    return Result.passed("no plaintext service accepts credentials"
                         + (f" (login at {facts.login.where} over TLS)" if facts.login.kind
                            else ""))


def no_debug_service(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.5.1.1 / TAICS 5.1.1.1: no telnet or debug console on the network."""
    telnet = [p for p in facts.ports if p.open and p.protocol == "telnet"]
    if telnet:
        return Result.failed("Disable telnet and any debug console.",
                             *(f"telnet answers on port {p.port}" for p in telnet))
    probed = [str(p.port) for p in facts.ports if p.expected == "telnet"]
    return Result.passed(f"no telnet/debug console answered (probed {', '.join(probed) or 'none'}"
                         "); physical ports need a local audit")


def _header_result(answer: HttpAnswer | None, where: str, required: tuple[str, ...],
                   todo: str) -> Result:
    if answer is None:
        return Result.failed(todo, f"{where}: no answer over TLS")
    missing = [h for h in required if not answer.header(h)]
    problems = [f"{where}: missing {h}" for h in missing]
    server = answer.header("server")
    if server and any(ch.isdigit() for ch in server):
        problems.append(f"{where}: Server header reveals a version ({server})")
    if "content-security-policy" in required and "unsafe-inline" in answer.header(
            "content-security-policy"):
        problems.append(f"{where}: CSP allows inline script")
    if problems:
        return Result.failed(todo, *problems)
    return Result.passed(f"{where} ({answer.status}): {', '.join(required)} present")


def web_headers(facts: RemoteFacts) -> Result:
    """TAICS 5.2.6.1: the web interface sends HSTS, CSP, nosniff and refuses framing."""
    missing = _no_tls(facts)
    if missing:
        return missing
    result = _header_result(facts.page, "GET /", PAGE_HEADERS,
                            "Send HSTS, a CSP without inline script, X-Content-Type-Options "
                            "and frame protection on every page.")
    if result.verdict.value == "PASS" and facts.page is not None:
        csp = facts.page.header("content-security-policy")
        if "frame-ancestors" not in csp and not facts.page.header("x-frame-options"):
            return Result.failed("Refuse framing (frame-ancestors 'none').",
                                 "GET /: page may be framed (clickjacking)")
    return result


def api_headers(facts: RemoteFacts) -> Result:
    """TAICS 5.2.7.1: API answers are not cached or sniffed and need authentication."""
    missing = _no_tls(facts)
    if missing:
        return missing
    result = _header_result(facts.api, "GET /api/v1/users", ("x-content-type-options",
                                                             "cache-control"),
                            "Send X-Content-Type-Options: nosniff and Cache-Control: no-store "
                            "on API answers; require authentication.")
    if facts.api is not None and facts.api.status == 200:
        return merge(result, Result.failed("Require authentication on the API.",
                                           "anonymous API call answered 200"))
    return result


def _aes(facts: RemoteFacts) -> Result:
    missing = _no_tls(facts)
    if missing:
        return missing
    assert facts.tls is not None
    got = facts.tls.negotiated_default
    if "AES_256_GCM" in got or "AES256-GCM" in got:
        return Result.passed(f"a default client gets {got} ({facts.tls.negotiated_version})")
    return Result.failed("Prefer AES-256-GCM suites (TLS_AES_256_GCM_SHA384, "
                         "ECDHE-*-AES256-GCM-SHA384).",
                         f"a default client gets {got or '?'} ({facts.tls.negotiated_version})")


def aes256_default(facts: RemoteFacts) -> Result:
    """TAICS 5.3.1.2: data in transit AES-256 by default."""
    return _aes(facts)


def video_aes256(facts: RemoteFacts) -> Result:
    """TAICS 5.5.2.3: video in transit AES-256 by default; never in plaintext."""
    parts = [_aes(facts)]
    plain = [p for p in facts.ports if p.open and p.protocol == "rtsp"]
    if plain:
        parts.append(Result.failed("Stream only over RTSPS / WSS.",
                                   *(f"plaintext RTSP video on port {p.port}" for p in plain)))
    return merge(*parts)


def _answered(answer: HttpAnswer | None) -> str:
    return "no answer (refused or reset)" if answer is None else f"{answer.status}"


def slow_clients(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.6.1.1: clients that never finish a request head, all from one address,
    neither keep others out nor hold their connections for ever."""
    if not facts.owner:
        return Result.not_tested("slow-client probe not run (it holds up to 64 connections)",
                                 todo=_OWNER)
    missing = _no_tls(facts)
    if missing:
        return missing
    seen = facts.slow
    if seen is None:
        return Result.not_tested("slow-client probe not run")
    same_address = seen.other_source == "the probing address"
    problems = []
    other = seen.other
    budget_refusal = other is None and same_address and seen.refused > 0
    if (other is None and not budget_refusal) or (other is not None and other.status >= 500):
        problems.append(f"while {seen.held} partial request heads were held from one address, "
                        f"a request from {seen.other_source} got {_answered(other)}")
    if seen.still_open:
        problems.append(f"{seen.still_open} of {seen.held} partial request heads still open "
                        f"after {seen.waited_s:.0f} s: no request-head deadline")
    if seen.after is None or seen.after.status >= 500:
        problems.append("after the cuts, the probing address got "
                        f"{_answered(seen.after)}: connections are not given back")
    cuts = (f"cut after {min(seen.cut_after):.1f}-{max(seen.cut_after):.1f} s"
            if seen.cut_after else "none cut")
    evidence = [f"{seen.held} of {seen.tried} partial-head connections held, {seen.refused} "
                "refused before TLS (a per-source budget)" if seen.refused else
                f"{seen.held} of {seen.tried} partial-head connections held",
                f"meanwhile a request from {seen.other_source}: {_answered(other)}"
                + (" (this address was over its budget; other addresses were not tried)"
                   if budget_refusal else ""),
                f"partial heads {cuts}; the probing address then got {_answered(seen.after)}"]
    if problems:
        return Result.failed("Give each request head a deadline (about 10-30 s), cap "
                             "connections per address well below the total, and keep serving "
                             "other addresses.", *problems, *evidence)
    return Result.passed(*evidence)


def onvif_replay(facts: RemoteFacts) -> Result:
    """IoT-1005-1 5.1.1.3: a captured ONVIF request does not work again (replay, stale
    Created), no ONVIF answer without credentials, no ONVIF over plain HTTP."""
    seen = facts.onvif
    if seen is None or not seen.found:
        return Result.passed("no ONVIF service answered on the HTTPS port or the plain HTTP "
                             "ports probed: no ONVIF request to replay")
    problems = [f"{where} answered without credentials (no authentication to replay)"
                for where in seen.anonymous]
    problems += [f"ONVIF over plain HTTP on port {port}: requests and their digests can be "
                 "read and replayed" for port in seen.plaintext_ports]
    if seen.replay_accepted:
        problems.append("the same signed envelope was accepted twice (no nonce cache)")
    if seen.stale_accepted:
        problems.append("an envelope whose Created was 10 minutes old was accepted "
                        "(no time window)")
    if problems:
        return Result.failed("Serve ONVIF over HTTPS only, require WS-Security PasswordDigest "
                             "with Nonce and Created on every operation but "
                             "GetSystemDateAndTime, refuse a Created outside +-5 min and a "
                             "(user, nonce) seen before.", *_shorten(problems))
    if seen.replay_accepted is False and seen.stale_accepted is False:
        return Result.passed(f"ONVIF at {', '.join(seen.endpoints)}: anonymous calls refused; "
                             "a replayed envelope and a 10-minute-old Created were refused")
    if not facts.owner:
        return Result.not_tested("ONVIF found and refuses anonymous calls; replay not tried",
                                 todo=_OWNER + " Add --onvif-user NAME with the password in "
                                 "VIGILCAM_AUDIT_ONVIF_PASSWORD.")
    return Result.not_tested("ONVIF found and refuses anonymous calls; replay not tried",
                             *seen.detail,
                             todo="Give an ONVIF account: --onvif-user NAME with the password "
                                  "in VIGILCAM_AUDIT_ONVIF_PASSWORD.")
