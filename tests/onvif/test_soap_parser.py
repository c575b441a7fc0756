"""The SOAP parser and WS-Security token reader, driven without sockets: hostile XML is
refused with a clear fault (no entity expansion, no external entity, size, element and depth
limits), elements are matched by namespace not prefix, and a hypothesis fuzz run of the
parser and of the whole endpoint finds no server error (IoT-1005-1 5.5.2.1, 5.1.1.3)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.onvif.onvif_support import SOAP, envelope, token
from vigilcam.onvif.durations import parse_duration
from vigilcam.onvif.soap import SoapFault, fault_envelope, parse_envelope
from vigilcam.onvif.wsse import (
    ReplayCache,
    TokenError,
    check_fresh,
    digest_of,
    parse_created,
    parse_token,
    verify_digest,
)

INFO = envelope("<tds:GetDeviceInformation/>")

LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol3;</s:Body>
</s:Envelope>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><a>&e;</a></s:Body>
</s:Envelope>"""


@pytest.mark.parametrize(("data", "words"), [
    (LAUGHS, "DTD"), (XXE, "DTD"), (b"", "empty"), (b"<a", "malformed"),
    (b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body><x/></s:Body>"
     b"</s:Envelope>", "SOAP 1.1"),
    (b"<Envelope><Body><x/></Body></Envelope>", "not a SOAP 1.2"),
    (envelope(""), "exactly one"),
    (envelope("<a/>" * 3000), "too many"),
    (envelope("<a>" * 100 + "</a>" * 100), "deeply"),
    (envelope("<x>" + "a" * 70_000 + "</x>"), "too large"),
])
def test_hostile_or_broken_xml_is_a_sender_fault(data, words):
    with pytest.raises(SoapFault) as caught:
        parse_envelope(data)
    assert caught.value.code == "Sender"
    assert words in caught.value.reason
    assert b"<s:Fault>" in fault_envelope(caught.value)


def test_elements_are_found_by_namespace_not_prefix():
    doc = (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
           b'xmlns:dev="http://www.onvif.org/ver10/device/wsdl"><e:Body>'
           b"<dev:GetHostname/></e:Body></e:Envelope>")
    req = parse_envelope(doc)
    assert (req.namespace, req.operation) == ("http://www.onvif.org/ver10/device/wsdl",
                                              "GetHostname")
    wrong = doc.replace(b"http://www.onvif.org/ver10/device/wsdl", b"urn:other")
    assert parse_envelope(wrong).namespace == "urn:other"


def _security(xml: str):
    return parse_envelope(envelope("<tds:GetHostname/>", xml)).security()


def test_token_digest_is_computed_over_created_as_sent():
    for created in ("2026-12-06T12:00:00Z", "2026-12-06T12:00:00.123+00:00",
                    "2026-12-06T20:00:00+08:00"):
        tok = parse_token(_security(token("ha", "s3cret", created=created)))
        assert tok.created == created
        assert tok.created_at == datetime(2026, 12, 6, 12, 0, tzinfo=UTC).replace(
            microsecond=123000 if ".123" in created else 0)
        assert verify_digest(tok, "s3cret") and not verify_digest(tok, "other")
        assert not verify_digest(tok, None)


def test_known_digest_vector():
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    digest = digest_of(nonce, "2010-09-16T07:50:45Z", "userpassword")
    assert base64.b64encode(digest).decode() == "tuOSpGlFlIXsozq4HFNeeGeFLEI="


def test_naive_or_malformed_created_is_refused():
    for bad in ("2026-12-06T12:00:00", "yesterday", "", "9" * 50):
        with pytest.raises(TokenError):
            parse_created(bad)


def test_freshness_window_both_sides():
    tok = parse_token(_security(token("ha", "x", created="2026-12-06T12:00:00Z")))
    t0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()
    check_fresh(tok, t0 + 299, 300)
    check_fresh(tok, t0 - 299, 300)
    for now in (t0 + 301, t0 - 301):
        with pytest.raises(TokenError):
            check_fresh(tok, now, 300)


def test_replay_cache_remembers_for_twice_the_window_and_bounds_each_user():
    now = [1000.0]
    cache = ReplayCache(300, per_user=3, clock=lambda: now[0])
    assert cache.remember("a", b"n1") == "ok"
    assert cache.remember("a", b"n1") == "replay"
    assert cache.remember("b", b"n1") == "ok"  # per (user, nonce)
    assert cache.remember("a", b"n2") == "ok"
    assert cache.remember("a", b"n3") == "ok"
    assert cache.remember("a", b"n4") == "full"  # not forgotten early: refused instead
    now[0] += 599
    assert cache.remember("a", b"n1") == "replay"
    now[0] += 2
    assert cache.remember("a", b"n1") == "ok"  # Created of that request is long stale now
    assert len(cache) == 1


def test_durations():
    assert parse_duration("PT60S").total_seconds() == 60
    assert parse_duration("PT1M").total_seconds() == 60
    assert parse_duration("P1DT1H").total_seconds() == 90000
    assert parse_duration("PT0.5S").total_seconds() == 0.5
    for bad in ("", "P", "PT", "1S", "P1Y", "PT1H1H", "P" + "9" * 80 + "D"):
        with pytest.raises(ValueError):
            parse_duration(bad)


_TAGS = st.sampled_from(["s:Envelope", "s:Header", "s:Body", "tds:GetHostname", "wsse:Security",
                         "wsse:UsernameToken", "wsse:Username", "wsse:Password", "wsse:Nonce",
                         "wsu:Created", "x", "tev:PullMessages", "tev:Timeout"])


@st.composite
def _xmlish(draw) -> bytes:
    """Envelope-shaped documents with random nesting, text and damage."""
    def node(depth: int) -> str:
        tag = draw(_TAGS)
        if depth > 4 or draw(st.booleans()):
            return f"<{tag}>{draw(st.text(max_size=20)).replace('<', '')}</{tag}>"
        children = "".join(node(depth + 1) for _ in range(draw(st.integers(0, 3))))
        return f"<{tag}>{children}</{tag}>"
    decl = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
            'xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
            'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-'
            'secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-'
            'wss-wssecurity-utility-1.0.xsd"')
    doc = f"<s:Envelope {decl}>{node(0)}</s:Envelope>".encode()
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(doc)))
        doc = doc[:cut] + draw(st.binary(max_size=8)) + doc[cut:]
    return doc


@settings(max_examples=400, deadline=None)
@given(st.one_of(_xmlish(), st.binary(max_size=300)))
def test_fuzz_parser_only_ever_raises_soap_faults(data):
    try:
        req = parse_envelope(data)
    except SoapFault as fault:
        assert fault.code == "Sender" and fault.reason
        return
    try:
        parse_token(req.security())
    except TokenError:
        pass


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(_xmlish(), st.binary(max_size=200)))
def test_fuzz_endpoint_never_answers_with_a_server_error(client, onvif_device, data):
    for path in ("/onvif/device_service", "/onvif/events_service", "/onvif/subscription/x"):
        r = client.post(path, content=data, headers={"Content-Type": SOAP})
        assert r.status_code in (200, 400, 413, 500), r.status_code
        assert r.headers["content-type"].startswith("application/soap+xml")
        assert "internal error" not in r.text
        if r.status_code == 500:  # only Receiver faults such as ActionNotSupported
            assert re.search(r"<s:Value>s:Receiver</s:Value>", r.text)


def test_topic_changes_from_security_events():
    from vigilcam.onvif.topics import MOTION, TAMPER, changes_for

    state = {MOTION.name: False, TAMPER.name: False}
    assert changes_for("motion.started", {}, state) == {MOTION.name: True}
    state[MOTION.name] = True
    assert changes_for("motion.started", {}, state) == {}  # no change, no message
    assert changes_for("motion.ended", {}, state) == {MOTION.name: False}
    raised = changes_for("tamper.moved", {"phase": "raised"}, state)
    assert raised == {"tns1:VideoSource/GlobalSceneChange/AnalyticsService": True,
                      TAMPER.name: True}
    state.update(raised)
    assert changes_for("tamper.moved", {"phase": "cleared"}, state) == {
        "tns1:VideoSource/GlobalSceneChange/AnalyticsService": False, TAMPER.name: False}
    assert changes_for("auth.login", {}, state) == {}
