"""The package scan finds embedded keys, secret literals and undeclared endpoints, and the
installed vigilcam package is clean (IoT-1005-1 5.4.1.1, 5.1.1.2, 5.7.1.2)."""

from __future__ import annotations

from pathlib import Path

import vigilcam
from vigilcam.update.pkgscan import scan

# Assembled at run time so this test file itself holds no key-shaped text.
PEM = "-----BEGIN " + "EC PRIVATE KEY-----\nMHcCAQEE\n-----END " + "EC PRIVATE KEY-----\n"


def test_installed_package_is_clean():
    report = scan(Path(vigilcam.__file__).parent)
    assert report.files > 50
    assert report.clean, (report.secrets, report.endpoints)


def test_findings(tmp_path):
    (tmp_path / "keys.py").write_text(f'KEY = """{PEM}"""\n')
    (tmp_path / "phone_home.py").write_text(
        '"""Docs may cite https://www.rfc-editor.org/rfc/rfc9116 freely."""\n'
        'CLAUSE = "5.1.1.1"\n'
        'URL = "https://telemetry.example.com/v1/collect"\n'
        'FALLBACK = "8.8.8.8"\n'
        'LOCAL = "127.0.0.1"\n'
        'api_token = "xK9fQ2mZ7vL4pR8tW3yB6nD1"\n'
        'LABEL_SECRET = "tls_key_password"\n')
    (tmp_path / "page.html").write_text('<script src="https://cdn.example.net/x.js"></script>')
    report = scan(tmp_path)
    assert any("keys.py: contains a PEM private key" in s for s in report.secrets)
    assert any("api_token" in s for s in report.secrets)
    assert not any("LABEL_SECRET" in s for s in report.secrets)
    endpoints = " ".join(report.endpoints)
    assert "telemetry.example.com" in endpoints and "8.8.8.8" in endpoints
    assert "cdn.example.net" in endpoints
    assert "rfc-editor" not in endpoints and "5.1.1.1" not in endpoints
    assert "127.0.0.1" not in endpoints and not report.clean


def test_a_version_pin_is_not_an_address_but_the_same_digits_alone_are() -> None:
    from vigilcam.update.pkgscan import ScanReport, scan_text

    pins = ScanReport()
    scan_text("dependencies.txt", "opencv-python-headless==5.1.0.95\nnumpy==2.2.6\n", pins)
    assert pins.clean
    loose = ScanReport()
    scan_text("notes.txt", "fetch from 5.1.0.95 at night\n", loose)
    assert loose.endpoints == ["notes.txt: undeclared IP address 5.1.0.95"]
