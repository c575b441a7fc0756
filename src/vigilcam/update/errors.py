"""The errors of the update feature, each with a kind a test or an event can name.

Owns the vocabulary of refusals (IoT-1005-1 5.3.1.2: rollback, freeze and mix-and-match attacks,
tampered or wrongly signed packages are refused with a clear reason; TAICS 5.1.4.1: code that
does not match its signed manifest is refused).
"""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    ROLLBACK = "rollback"  # metadata older than what the device already trusted
    FREEZE = "freeze"  # expired metadata (an attacker replays a stale but valid state)
    MIX_AND_MATCH = "mix_and_match"  # metadata versions that do not belong together
    SIGNATURE = "signature"  # not signed by the trusted keys (threshold not met)
    TAMPERED = "tampered"  # length or hash differs from the signed metadata
    DOWNGRADE = "downgrade"  # a validly signed package older than (or equal to) the installed
    DECRYPT = "decrypt"  # the package does not decrypt/authenticate (AES-256-GCM)
    PACKAGE = "package"  # a bad package layout (unsafe tar member, bad manifest)
    METADATA = "metadata"  # any other metadata inconsistency
    DOWNLOAD = "download"  # the repository could not be reached or answered an error
    CONFIG = "config"  # the device has no trust anchors or repository configured


class UpdateError(Exception):
    """An update step failed; ``kind`` names why, the message says it for a person."""

    def __init__(self, kind: RefusalKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.kind.value}: {super().__str__()}"
