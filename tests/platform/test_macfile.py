"""The one MAC'd state-file writer, and the rollback anchor written through it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path

import pytest

from vigilcam.platform.anchor import Anchor, AnchorError, AnchorState
from vigilcam.platform.macfile import MacFile, MacFileDamaged, MacFileUnauthentic


def test_roundtrip_tamper_torn_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "state.json"
    f = MacFile(path, b"k" * 32)
    assert f.read() is None
    f.write({"n": 3, "s": "x"})
    assert f.read() == {"n": 3, "s": "x"}
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(MacFileUnauthentic):
        MacFile(path, b"j" * 32).read()  # another key
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "n": 4}))
    with pytest.raises(MacFileUnauthentic):
        f.read()
    path.write_text(json.dumps({"n": 3, "s": "x"}))  # MAC stripped
    with pytest.raises(MacFileUnauthentic):
        f.read()
    path.write_bytes(b'{"n": 3, "s"')
    with pytest.raises(MacFileDamaged):
        f.read()
    path.write_text("[1, 2]")
    with pytest.raises(MacFileDamaged):
        f.read()


def test_anchor_file_of_the_earlier_writer_still_reads(tmp_path: Path) -> None:
    """The anchor's own writer made these files before: field JSON, hmac over sorted JSON."""
    key = b"a" * 32
    fields = {"vault": 5, "seclog_seq": 12, "seclog_mac": "ab" * 32}
    mac = hmac.new(key, json.dumps(fields, sort_keys=True).encode(), hashlib.sha256).hexdigest()
    path = tmp_path / "anchor.json"
    path.write_text(json.dumps({**fields, "hmac": mac}))
    anchor = Anchor(path, key)
    assert anchor.read() == AnchorState(5, 12, "ab" * 32)
    anchor.advance(vault=6)
    assert json.loads(path.read_text())["vault"] == 6 and anchor.read() == AnchorState(
        6, 12, "ab" * 32)
    with pytest.raises(AnchorError, match="failed authentication"):
        Anchor(path, b"b" * 32).read()
    path.write_text("{")
    with pytest.raises(AnchorError, match="is damaged"):
        anchor.read()
    mac_nofield = hmac.new(key, b'{"vault": 1}', hashlib.sha256).hexdigest()
    path.write_text(json.dumps({"vault": 1, "hmac": mac_nofield}))  # authentic, fields missing
    with pytest.raises(AnchorError, match="is damaged"):
        anchor.read()


def test_concurrent_advances_never_lower_the_anchor(tmp_path: Path) -> None:
    path = tmp_path / "anchor.json"
    Anchor(path, b"a" * 32).reset()
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            mine = Anchor(path, b"a" * 32)  # own instance and lock descriptor, like a process
            for i in range(offset, 200, 8):
                mine.advance(vault=i, seclog=(i, f"m{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert Anchor(path, b"a" * 32).read() == AnchorState(199, 199, "m199")
