"""Fixtures for the whole suite (defined in tests/support.py)."""

import os

from vigilcam.platform import tls

# As the process entry does (vigilcam/__main__.py): FFmpeg's GnuTLS reads the TLS policy once,
# when PyAV loads, so the environment is set before anything here imports PyAV.
os.environ.update(tls.native_library_environment())

from tests.support import api, device, paths, provisioned, server  # noqa: E402, F401
