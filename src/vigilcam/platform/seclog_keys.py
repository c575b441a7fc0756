"""The vault entries that hold the security log's keys.

Owns their names, for every reader of the log: the composition root that opens it and the
local audit that verifies it (TAICS 5.2.8.1: a keyed, hash-chained log; IoT-1005-1 5.4.1.2:
the keys live only in the vault). Made once at provisioning; only a factory reset replaces them.
"""

from __future__ import annotations

SECLOG_MAC_KEY = "seclog_mac_key"
"""HMAC key of the log's hash chain."""
SECLOG_ARCHIVE_KEY = "seclog_archive_key"
"""AES-256-GCM key of rotated log archives."""
