"""Software bill of materials and the dependency vulnerability audit.

Owns knowing what software the camera runs and whether any of it has a known vulnerability.
Serves IoT-1005-1 5.2.1.1 (no known high/critical vulnerabilities; an SBOM per release) and
ETSI EN 303 645 5.3-8 / 5.2-3. ``cyclonedx`` builds a CycloneDX 1.5 SBOM of the installed
environment with the CycloneDX project's library; ``vulns`` runs pip-audit and states honestly
when it could not check.
"""
