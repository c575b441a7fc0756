"""The remote audit against a deliberately weak camera and against vigilcam itself.

The weak camera must FAIL exactly the clauses it breaks and PASS the rest; vigilcam must PASS
every remote clause, with and without its opt-in redirect listener. Every probe is bounded
(IoT-1005-1 5.1.2.1, 5.1.2.2, 5.1.3.1, 5.2.2.1, 5.2.3.1, 5.4.2.1, 5.4.2.2, 5.5.1.1; TAICS
5.1.1.1, 5.2.6.1, 5.2.7.1, 5.3.1.2, 5.5.2.3; IoT-1005-1 5.6.1.1 slow clients).
"""

from __future__ import annotations

import socket
import ssl
import warnings

import pytest

from tests.compliance.weak_camera import RacyThrottleHandler, WeakCamera, WeakHandler
from tests.support import free_port, start_server
from vigilcam.compliance import registry, remote_slow
from vigilcam.compliance.audit import run_remote
from vigilcam.compliance.model import Verdict
from vigilcam.compliance.remote import MAX_DEFAULT_ATTEMPTS, THROTTLE_PROBES, collect
from vigilcam.compliance.remote_wire import Target, TargetError, parse_target

REMOTE = {c.key for c in registry.CLAUSES if c.remote_check}
WEAK_FAILS = {
    "IoT-1005-1 5.1.1.3",  # ONVIF without credentials, over plain HTTP
    "IoT-1005-1 5.1.2.1",  # RTSP stream without authentication
    "IoT-1005-1 5.1.2.2",  # no throttling
    "IoT-1005-1 5.1.3.1",  # admin/admin
    "IoT-1005-1 5.2.2.1",  # plaintext HTTP and RTSP
    "IoT-1005-1 5.2.3.1",  # no security.txt
    "IoT-1005-1 5.4.2.1",  # TLS 1.0, CBC without FS, plaintext services
    "IoT-1005-1 5.4.2.2",  # login over plain HTTP
    "TAICS 5.2.6.1",  # no security headers on the page
    "TAICS 5.2.7.1",  # no security headers on the API
    "TAICS 5.3.1.2",  # default suite AES-128-CBC
    "TAICS 5.5.2.3",  # AES-128 and plaintext video
    "IoT-1005-1 5.6.1.1",  # partial request heads are never cut
}


@pytest.fixture(scope="module")
def weak(tmp_path_factory):
    cam = WeakCamera(tmp_path_factory.mktemp("weak")).start()
    yield cam
    cam.stop()


def weak_plan(cam: WeakCamera, telnet: int | None = None) -> dict[int, str]:
    return {cam.http_port: "http", cam.rtsp_port: "rtsp", telnet or free_port(): "telnet"}


@pytest.mark.peer
def test_weak_camera_really_speaks_tls10(weak):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("AES256-SHA:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", weak.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            assert tls.version() == "TLSv1"
            assert tls.cipher()[0] == "AES256-SHA"


@pytest.mark.peer
def test_weak_camera_fails_exactly_what_it_breaks(weak, monkeypatch):
    monkeypatch.setattr(remote_slow, "SLOW_CUT_WAIT_S", 3.0)  # it never cuts: do not wait 30 s
    lines: list[str] = []
    facts = collect(Target("127.0.0.1", weak.https_port), owner=True, ports=weak_plan(weak),
                    progress=lines.append)
    report = run_remote(facts)
    verdicts = {o.clause.key: o.result.verdict for o in report.outcomes}
    assert set(verdicts) == REMOTE
    assert {k for k, v in verdicts.items() if v == Verdict.FAIL} == WEAK_FAILS
    assert {k for k, v in verdicts.items() if v != Verdict.FAIL} == REMOTE - WEAK_FAILS
    assert all(v == Verdict.PASS for k, v in verdicts.items() if k not in WEAK_FAILS)
    for o in report.failed:
        assert o.result.todo and o.result.evidence, o.clause.key
    assert report.exit_code == 1
    text = {k: " ".join(report.of(k).result.evidence) for k in WEAK_FAILS}
    assert "TLS 1.0 is accepted" in text["IoT-1005-1 5.4.2.1"]
    assert "admin/admin" in text["IoT-1005-1 5.1.3.1"]
    assert "without authentication" in text["IoT-1005-1 5.1.2.1"]
    assert "AES128" in text["TAICS 5.3.1.2"]
    assert "ONVIF over plain HTTP" in text["IoT-1005-1 5.1.1.3"]
    assert "GetUsers without credentials" in text["IoT-1005-1 5.1.2.1"]
    # bounded: the default check stopped at the first success, the probe at 15
    assert facts.defaults is not None and facts.defaults.tried == ["admin/admin"]
    assert facts.throttle is not None and len(facts.throttle.tried) == THROTTLE_PROBES
    assert facts.slow is not None and facts.slow.tried == remote_slow.SLOW_CONNECTIONS
    assert facts.slow.still_open == facts.slow.held == remote_slow.SLOW_CONNECTIONS
    assert "no request-head deadline" in " ".join(report.of("IoT-1005-1 5.6.1.1").result.evidence)
    assert facts.seconds < 60
    assert lines and any("sslyze" in line for line in lines)


@pytest.mark.peer
def test_owner_flag_guards_the_login_probes(weak):
    before = WeakHandler.logins
    facts = collect(Target("127.0.0.1", weak.https_port), owner=False, ports=weak_plan(weak))
    report = run_remote(facts)
    for key in ("IoT-1005-1 5.1.2.2", "IoT-1005-1 5.1.3.1"):
        result = report.of(key).result
        assert result.verdict == Verdict.NOT_TESTED and "--i-own-this-device" in result.todo
    # only the discovery probes (one bogus name per interface), never a password guess
    assert WeakHandler.logins - before <= 2
    assert facts.defaults is None and facts.throttle is None and facts.slow is None
    assert report.of("IoT-1005-1 5.6.1.1").result.verdict == Verdict.NOT_TESTED


@pytest.mark.peer
def test_telnet_port_fails_debug_clauses(weak):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        telnet = listener.getsockname()[1]
        facts = collect(Target("127.0.0.1", weak.https_port), ports={telnet: "telnet"})
    report = run_remote(facts)
    for key in ("IoT-1005-1 5.5.1.1", "TAICS 5.1.1.1", "IoT-1005-1 5.2.2.1",
                "IoT-1005-1 5.4.2.2"):
        assert report.of(key).result.verdict == Verdict.FAIL, key
        assert str(telnet) in " ".join(report.of(key).result.evidence)


@pytest.mark.peer
def test_vigilcam_passes_every_remote_clause(tmp_path):
    redirect = free_port()
    srv = start_server(tmp_path / "data", "--http-redirect-port", str(redirect))
    try:
        plan = {redirect: "http", free_port(): "rtsp", free_port(): "telnet"}
        facts = collect(Target("127.0.0.1", srv.port), owner=True, ports=plan)
        report = run_remote(facts)
        assert {o.clause.key for o in report.outcomes} == REMOTE
        assert report.failed == [], [(o.clause.key, o.result.evidence) for o in report.failed]
        assert all(o.result.verdict == Verdict.PASS for o in report.outcomes)
        assert report.exit_code == 0
        # no default worked; vigilcam throttled the probe well within its 15 attempts
        assert facts.defaults is not None and facts.defaults.accepted == []
        assert len(facts.defaults.tried) <= MAX_DEFAULT_ATTEMPTS
        assert not any(200 <= s < 300 for s in facts.defaults.statuses)
        assert facts.throttle is not None and facts.throttle.throttled_after is not None
        assert facts.throttle.throttled_after < THROTTLE_PROBES
        assert facts.burst is not None and facts.burst.checked <= 3  # its pair's free attempts
        # slow clients: the address got its budget, the rest was refused, another address was
        # served meanwhile, and the partial heads were cut by the head deadline
        slow = facts.slow
        assert slow is not None and 0 < slow.held < slow.tried and slow.refused > 0
        assert slow.other is not None and slow.other.status == 200
        assert slow.still_open == 0 and max(slow.cut_after) < 15
        assert slow.after is not None and slow.after.status == 200
        services = " ".join(report.of("IoT-1005-1 5.2.2.1").result.evidence)
        assert f"{redirect} (plaintext HTTP answers 301)" in services
        assert "vigilcam VC-1" in report.subject["certificate"]
    finally:
        srv.kill()


@pytest.mark.peer
def test_throttle_that_holds_only_for_guesses_in_a_row_fails(tmp_path):
    """IoT-1005-1 5.1.2.2: a camera that counts failures after the check passes the sequential
    probe but lets a burst of parallel guesses through: the audit must fail it."""
    cam = WeakCamera(tmp_path, RacyThrottleHandler).start()
    try:
        facts = collect(Target("127.0.0.1", cam.https_port), owner=True, ports={})
    finally:
        cam.stop()
    assert facts.throttle is not None and facts.throttle.throttled_after is not None
    assert facts.burst is not None and facts.burst.checked > 10
    result = run_remote(facts).of("IoT-1005-1 5.1.2.2").result
    assert result.verdict == Verdict.FAIL, result.evidence
    assert f"{facts.burst.checked} judged" in " ".join(result.evidence)


def test_target_must_be_what_the_user_typed():
    assert parse_target("https://192.168.1.20") == Target("192.168.1.20", 443)
    assert parse_target("192.168.1.20:8443") == Target("192.168.1.20", 8443)
    assert parse_target("https://[::1]:8443/x") == Target("::1", 8443)
    for bad in ("http://cam", "rtsp://cam", "https://admin:pw@cam", "https://", "https://c:99999"):
        with pytest.raises(TargetError):
            parse_target(bad)
