"""The encrypted package format and its safe unpacking (IoT-1005-1 5.3.1.2, 5.4.1.1, 5.3.1.1)."""

from __future__ import annotations

import io
import tarfile

import pytest

from vigilcam.update import package
from vigilcam.update.errors import RefusalKind, UpdateError


def test_round_trip_and_binding_to_name_and_version():
    key = package.new_key()
    blob = package.encrypt(b"payload" * 1000, key, "vigilcam.pkg", "0.2.0")
    assert b"payload" not in blob and len(key) == 32
    assert package.decrypt(blob, key, "vigilcam.pkg", "0.2.0") == b"payload" * 1000
    for name, version in (("vigilcam.pkg", "0.3.0"), ("other.pkg", "0.2.0")):
        with pytest.raises(UpdateError) as info:
            package.decrypt(blob, key, name, version)
        assert info.value.kind is RefusalKind.DECRYPT
    with pytest.raises(UpdateError):
        package.decrypt(blob, package.new_key(), "vigilcam.pkg", "0.2.0")
    with pytest.raises(UpdateError, match="not a vigilcam update package"):
        package.decrypt(b"garbage", key, "vigilcam.pkg", "0.2.0")


def test_key_field_plain_and_wrapped():
    key = package.new_key()
    plain = package.key_field(key, "0.2.0", "vigilcam.pkg")
    assert package.key_from_field(plain, "vigilcam.pkg", None) == key
    dist = package.new_key()
    wrapped = package.key_field(key, "0.2.0", "vigilcam.pkg", dist)
    assert "key" not in wrapped
    assert package.key_from_field(wrapped, "vigilcam.pkg", dist) == key
    with pytest.raises(UpdateError) as info:
        package.key_from_field(wrapped, "vigilcam.pkg", None)
    assert info.value.kind is RefusalKind.CONFIG
    with pytest.raises(UpdateError):
        package.key_from_field({**plain, "cipher": "DES"}, "vigilcam.pkg", None)


def _tar(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in members:
            if m.isfile():
                m.size = len(data)
                tar.addfile(m, io.BytesIO(data))
            else:
                tar.addfile(m)
    return buf.getvalue()


@pytest.mark.parametrize("name,kind", [
    ("../escape.py", tarfile.REGTYPE),
    ("/etc/cron.d/evil", tarfile.REGTYPE),
    ("vigilcam/link", tarfile.SYMTYPE),
    ("vigilcam/hard", tarfile.LNKTYPE),
    ("vigilcam/dev", tarfile.CHRTYPE),
])
def test_unsafe_members_refused(tmp_path, name, kind):
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = "/etc/passwd"
    with pytest.raises(UpdateError) as info:
        package.unpack(_tar(member), tmp_path / "slot")
    assert info.value.kind is RefusalKind.PACKAGE
    assert not (tmp_path / "escape.py").exists()


def test_build_and_unpack(tmp_path):
    src = tmp_path / "src" / "vigilcam"
    (src / "web").mkdir(parents=True)
    (src / "__init__.py").write_text("__version__ = '1'\n")
    (src / "web" / "a.js").write_text("x")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "c.pyc").write_bytes(b"pyc")
    tar = package.build_tar(tmp_path / "src")
    assert package.build_tar(tmp_path / "src") == tar  # deterministic
    names = package.unpack(tar, tmp_path / "slot")
    assert "vigilcam/web/a.js" in names and not any("__pycache__" in n for n in names)
    assert (tmp_path / "slot" / "vigilcam" / "web" / "a.js").read_text() == "x"
    with pytest.raises(UpdateError, match="not empty"):
        package.unpack(tar, tmp_path / "slot")
    with pytest.raises(UpdateError, match="not a valid tar"):
        package.unpack(b"nonsense" * 100, tmp_path / "slot2")
