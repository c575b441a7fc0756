"""The client TLS policy reaches FFmpeg's GnuTLS, and a process without it fails closed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from itertools import product

from vigilcam.platform import tls


def test_the_shipped_gnutls_file_is_the_policy() -> None:
    assert tls.gnutls_policy_path().read_text() == tls.gnutls_config_text()
    assert tls.GNUTLS_PRIORITY in tls.gnutls_config_text()


def test_gnutls_priority_allows_exactly_the_tls12_suites() -> None:
    """GnuTLS cannot pair a key exchange with a cipher: the product must be the suite table."""
    pairs = {(kx, cipher) for _name, kx, cipher in tls.TLS12_SUITES}
    assert set(product(tls.GNUTLS_ALLOWED["kx"], tls.GNUTLS_ALLOWED["ciphers"])) == pairs
    assert tls.TLS12_CIPHERS.split(":") == [name for name, _kx, _c in tls.TLS12_SUITES]
    assert tls.GNUTLS_ALLOWED["protocols"] == ("TLS1.3", "TLS1.2")


def _run(code: str, *, env_policy: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GNUTLS_SYSTEM_PRIORITY_FILE"}
    if env_policy:
        env.update(tls.native_library_environment())
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_in_force_with_the_environment_exactly_the_policy() -> None:
    out = _run("""
        import json
        import av
        from vigilcam.platform import tls
        print(tls.gnutls_policy_problem())
        effective = tls.gnutls_effective_policy(tls._loaded_gnutls()[0])
        print(json.dumps({k: sorted(v) for k, v in effective.items()}, sort_keys=True))
    """, env_policy=True)
    assert out.returncode == 0, out.stderr
    problem, effective = out.stdout.splitlines()
    assert problem == "None"
    assert json.loads(effective) == {k: sorted(v) for k, v in tls.GNUTLS_ALLOWED.items()}


def test_without_the_environment_rtsps_is_refused_with_the_fix() -> None:
    """The wheel's GnuTLS defaults allow TLS 1.0/1.1, CBC and RSA key exchange: fail closed."""
    out = _run("""
        from vigilcam.media.capture import SourceError, tls_options
        from vigilcam.media.source_spec import UpstreamTls
        try:
            tls_options(UpstreamTls(verify=False))
        except SourceError as exc:
            print(exc)
    """, env_policy=False)
    assert out.returncode == 0, out.stderr
    message = out.stdout
    assert "does not enforce the TLS policy" in message, message
    assert "TLS1.0" in message and "TLS1.1" in message and "AES-256-CBC" in message, message
    assert "RSA" in message and "GNUTLS_SYSTEM_PRIORITY_FILE=" in message, message


def test_the_process_entry_sets_the_policy_before_pyav_loads() -> None:
    """``vigilcam`` / ``python -m vigilcam`` run ``__main__.main``: the command line it then
    imports (here a stand-in that loads PyAV the way the real one does) sees the policy."""
    out = _run("""
        import sys, types
        cli = types.ModuleType("vigilcam.cli")
        def main():
            import av  # loads FFmpeg and its GnuTLS, as importing the real command line does
            from vigilcam.platform import tls
            print(tls.gnutls_policy_problem())
            return 0
        cli.main = main
        sys.modules["vigilcam.cli"] = cli
        from vigilcam.__main__ import main as entry
        raise SystemExit(entry())
    """, env_policy=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"


def test_ffmpeg_tls_protocol_has_no_version_or_cipher_option() -> None:
    """Why the policy goes through GnuTLS's default priority: FFmpeg's ``tls`` protocol (as
    linked in the PyAV wheel) offers only these options. If a version or cipher option appears,
    this fails: hand the policy to FFmpeg through it (platform/tls.ffmpeg_client_options)."""
    out = _run("""
        import ctypes
        import av
        def lib(name):
            return ctypes.CDLL(next(line.split()[-1] for line in open("/proc/self/maps")
                                    if f"/lib{name}" in line))
        fmt, util = lib("avformat"), lib("avutil")
        class AVOption(ctypes.Structure):  # the first two fields of FFmpeg's AVOption
            _fields_ = [("name", ctypes.c_char_p), ("help", ctypes.c_char_p)]
        fmt.avio_protocol_get_class.restype = ctypes.c_void_p
        fmt.avio_protocol_get_class.argtypes = [ctypes.c_char_p]
        util.av_opt_next.restype = ctypes.POINTER(AVOption)
        util.av_opt_next.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        holder = ctypes.c_void_p(fmt.avio_protocol_get_class(b"tls"))
        option, names = util.av_opt_next(ctypes.byref(holder), None), []
        while option:
            names.append(option.contents.name.decode())
            option = util.av_opt_next(ctypes.byref(holder), option)
        print(" ".join(names))
    """, env_policy=True)
    assert out.returncode == 0, out.stderr
    names = set(out.stdout.split())
    assert {"tls_verify", "ca_file", "verifyhost"} <= names, names
    assert names <= {"listen", "http_proxy", "external_sock", "use_srtp", "mtu", "cert_pem",
                     "key_pem", "ca_file", "cafile", "tls_verify", "verify", "cert_file",
                     "cert", "key_file", "key", "verifyhost"}, names
