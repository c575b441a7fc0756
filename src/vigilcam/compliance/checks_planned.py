"""Audit checks of clauses whose feature is planned: they FAIL with what to do until built.

Owns the honest answer for IoT-1005-1 5.2.1.1 (dependency vulnerability audit, SBOM),
5.3.1.1 / 5.3.1.2 / 5.3.1.3 (update mechanism, signed updates, scheduled checks), TAICS
5.1.1.2 (hot-plug events logged) and TAICS 5.1.4.1 (secure boot). Each check first looks for
the feature module, so the verdict changes by itself once the feature lands; the feature's own
check then replaces this one in the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigilcam.compliance.checks_local import feature
from vigilcam.compliance.model import Result

if TYPE_CHECKING:
    from vigilcam.compliance.state import LocalContext


def _planned(module: str, what: str, todo: str) -> Result:
    if feature(module):
        return Result.failed(f"{module} is installed but has no audit check yet: register "
                             "its check in compliance/registry.py.", f"{what}: module present")
    return Result.failed(todo, f"{what}: not implemented yet (planned)")


def known_vulnerabilities(ctx: LocalContext) -> Result:
    """IoT-1005-1 5.2.1.1: no known high/critical CVEs; pip-audit and an SBOM."""
    return _planned("pip_audit", "dependency vulnerability audit",
                    "Run `pip-audit` on the installed environment (CI and before each release) "
                    "and publish a CycloneDX SBOM (`cyclonedx-py environment`); fix every "
                    "CVSS v3 high/critical finding.")


def hotplug_logging(ctx: LocalContext) -> Result:
    """TAICS 5.1.1.2: USB / storage hot-plug events in the security log."""
    return _planned("vigilcam.hotplug", "USB and storage hot-plug logging",
                    "Disable unused USB ports in firmware/BIOS and with a udev rule "
                    "(docs/setup-guide.md) until hot-plug logging lands.")


