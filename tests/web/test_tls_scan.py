"""IoT-1005-1 5.4.2.1, TAICS 5.3.1.2: a real sslyze scan of the running HTTPS server."""

from __future__ import annotations

import socket
import ssl

import pytest

from vigilcam.compliance.tls_scan import scan


@pytest.mark.peer
def test_sslyze_scan_of_running_server(server):
    report = scan("127.0.0.1", server.port)
    assert report.reachable, report.error
    assert report.versions == ["TLS 1.2", "TLS 1.3"], report.suites
    for suite in report.suites["TLS 1.2"]:
        assert "ECDHE" in suite and "GCM" in suite, suite
    assert report.suites["TLS 1.2"][0].startswith("TLS_ECDHE_ECDSA_WITH_AES_256_GCM")
    assert report.negotiated_default == "TLS_AES_256_GCM_SHA384"
    assert report.mozilla_issues == {}, report.mozilla_issues
    assert report.problems() == []


@pytest.mark.peer
def test_tls11_client_is_refused(server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.peer
def test_plaintext_http_gets_nothing(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        data = raw.recv(4096)
    assert b"HTTP/1.1 200" not in data
