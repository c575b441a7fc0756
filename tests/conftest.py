"""Fixtures for the whole suite (defined in tests/support.py)."""

from tests.support import api, device, paths, provisioned, server  # noqa: F401
