"""Conformance: the clause registry, checks and the audit report writer."""
