"""RFC 7616 Digest server side: test vectors, replay refused, stale on expiry, binding."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigilcam.auth.digest import (
    AuthParseError,
    BasicAuth,
    DigestAuth,
    DigestVerifier,
    NonceStore,
    digest_response,
    parse_authorization,
)

from .rtsp_support import digest_header

RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_section_3_9_1_vectors(algorithm: str, expected: str) -> None:
    auth = DigestAuth(
        username="Mufasa", realm="http-auth@example.org", nonce=RFC_NONCE,
        uri="/dir/index.html", response="", algorithm=algorithm, qop="auth", nc="00000001",
        cnonce=RFC_CNONCE,
    )
    assert digest_response(auth, "Circle of Life", "GET") == expected


def test_parse_digest_and_basic() -> None:
    d = parse_authorization(
        'Digest username="a\\"b", realm="r", nonce="n", uri="/main", response="ABC", '
        "qop=auth, nc=0000000a, cnonce=\"c\", algorithm=SHA-256"
    )
    assert isinstance(d, DigestAuth)
    assert (d.username, d.response, d.nc, d.algorithm) == ('a"b', "abc", "0000000a", "SHA-256")
    b = parse_authorization("Basic " + base64.b64encode(b"alice:p:w").decode())
    assert b == BasicAuth("alice", "p:w")


@pytest.mark.parametrize(
    "value",
    [
        "Bearer x", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
        'Digest username="a"', 'Digest username="a", realm="r", nonce="n", uri="/", '
        'response="x", qop=auth-int, nc=00000001, cnonce="c"',
        'Digest username="a", realm="r", nonce="n", uri="/", response="x", qop=auth',
        'Digest username="a", realm="r", nonce="n", uri="/", response="x", qop=auth, '
        'nc=1, cnonce="c"',
        'Digest username="a", username="b", realm="r", nonce="n", uri="/", response="x"',
        'Digest username="a, realm="r"', 'Digest userhash=true, username="a", realm="r", '
        'nonce="n", uri="/", response="x"',
    ],
)
def test_parse_refusals(value: str) -> None:
    with pytest.raises(AuthParseError):
        parse_authorization(value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_parse_authorization(value: str) -> None:
    try:
        parse_authorization(value)
    except AuthParseError:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def setup(lifetime: float = 60.0) -> tuple[DigestVerifier, Clock]:
    clock = Clock()
    return DigestVerifier("vigilcam", NonceStore(b"k" * 32, lifetime=lifetime, clock=clock)), clock


def answer(verifier: DigestVerifier, nonce: str, *, nc: int = 1, secret: str = "s3cret",
           uri: str = "rtsps://h/main", method: str = "DESCRIBE", alg: str = "SHA-256",
           cnonce: str = "cn") -> DigestAuth:
    challenge = [c for c in verifier.challenges(nonce) if f"algorithm={alg}" in c][0]
    auth = parse_authorization(digest_header(challenge, "alice", secret, method, uri, nc=nc,
                                             cnonce=cnonce))
    assert isinstance(auth, DigestAuth)
    return auth


def test_accepts_sha256_and_md5() -> None:
    v, _ = setup()
    for alg in ("SHA-256", "MD5"):
        nonce = v.nonces.issue("conn1")
        assert v.verify(answer(v, nonce, alg=alg), "s3cret", "DESCRIBE", "rtsps://h/main",
                        "conn1") == "ok"


def test_same_nonce_and_nc_twice_is_a_replay() -> None:
    """IoT-1005-1 5.1.1.3: a captured request (same nonce, same nc) is refused."""
    v, _ = setup()
    nonce = v.nonces.issue("conn1")
    auth = answer(v, nonce, nc=1)
    assert v.verify(auth, "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "ok"
    assert v.verify(auth, "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "replay"
    # even with a new client nonce: the (nonce, nc) pair is spent
    again = answer(v, nonce, nc=1, cnonce="other")
    assert v.verify(again, "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "replay"
    assert v.verify(answer(v, nonce, nc=2), "s3cret", "DESCRIBE", "rtsps://h/main",
                    "conn1") == "ok"


def test_wrong_answer_does_not_burn_the_clients_counter() -> None:
    v, _ = setup()
    nonce = v.nonces.issue("conn1")
    forged = answer(v, nonce, nc=5, secret="guess")
    assert v.verify(forged, "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "bad"
    assert v.verify(answer(v, nonce, nc=5), "s3cret", "DESCRIBE", "rtsps://h/main",
                    "conn1") == "ok"


def test_expired_nonce_is_stale_only_with_the_right_answer() -> None:
    v, clock = setup(lifetime=60)
    nonce = v.nonces.issue("conn1")
    clock.now += 61
    assert v.verify(answer(v, nonce), "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "stale"
    assert v.verify(answer(v, nonce, secret="x"), "s3cret", "DESCRIBE", "rtsps://h/main",
                    "conn1") == "bad"
    assert any("stale=true" in c for c in v.challenges(v.nonces.issue("c"), stale=True))


def test_nonce_bound_to_connection_forged_or_foreign_refused() -> None:
    v, _ = setup()
    nonce = v.nonces.issue("conn1")
    assert v.verify(answer(v, nonce), "s3cret", "DESCRIBE", "rtsps://h/main", "conn2") == "stale"
    forged = nonce[:-4] + ("AAAA" if not nonce.endswith("AAAA") else "BBBB")
    assert v.verify(answer(v, forged), "s3cret", "DESCRIBE", "rtsps://h/main", "conn1") == "stale"
    assert v.nonces.status("not-a-nonce", "conn1") == "invalid"
    other = DigestVerifier("vigilcam", NonceStore(b"j" * 32))  # another key: not ours
    assert other.nonces.status(nonce, "conn1") == "invalid"


def test_response_bound_to_method_uri_realm_and_user_secret() -> None:
    v, _ = setup()
    nonce = v.nonces.issue("c")
    auth = answer(v, nonce, uri="rtsps://h/main", method="DESCRIBE")
    assert v.verify(auth, "s3cret", "PLAY", "rtsps://h/main", "c") == "bad"
    assert v.verify(auth, "s3cret", "DESCRIBE", "rtsps://h/sub", "c") == "bad"
    assert v.verify(auth, None, "DESCRIBE", "rtsps://h/main", "c") == "bad"  # no credential
    assert v.verify(auth, "other", "DESCRIBE", "rtsps://h/main", "c") == "bad"
    wrong_realm = DigestAuth(**{**auth.__dict__, "realm": "x"})
    assert v.verify(wrong_realm, "s3cret", "DESCRIBE", "rtsps://h/main", "c") == "bad"


def test_legacy_client_without_qop_is_bound_to_its_connection() -> None:
    v, _ = setup()
    nonce = v.nonces.issue("c1")
    legacy = DigestAuth("alice", "vigilcam", nonce, "rtsp://h/main", "", "MD5")
    legacy = DigestAuth(**{**legacy.__dict__,
                           "response": digest_response(legacy, "s3cret", "DESCRIBE")})
    assert v.verify(legacy, "s3cret", "DESCRIBE", "rtsp://h/main", "c1") == "ok"
    assert v.verify(legacy, "s3cret", "DESCRIBE", "rtsp://h/main", "c2") == "stale"


def test_nonce_table_is_bounded_and_evicted_nonces_are_stale() -> None:
    clock = Clock()
    store = NonceStore(b"k" * 32, max_tracked=10, clock=clock)
    first = store.issue("c")
    for _ in range(20):
        store.issue("c")
    assert len(store._live) == 10
    assert store.status(first, "c") == "stale"
