"""Scan the installed vigilcam package for embedded secrets and undeclared endpoints.

Owns the package scan, for IoT-1005-1 5.4.1.1 (the software holds no undeclared server URLs or
IP addresses and no recoverable secrets: the clause's second alternative), 5.1.1.2 (nothing
key-like ships in the package: every key is made on the device) and 5.7.1.2 (no telemetry: the
package names no endpoint it could report to). Every endpoint the code may contact is declared
here with its purpose; anything else found in a string literal is reported.

Pure over the files: ``scan(folder)`` reads each file once and returns findings.
"""

from __future__ import annotations

import ast
import ipaddress
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Endpoints the code may name, and why (docs/secure-development.md repeats this list).
DECLARED_HOSTS: dict[str, str] = {
    "github.com": "security contact and policy links (product.py, security.txt)",
    "localhost": "the device itself",
    "testserver": "in-process test client base URL",
    "www.w3.org": "SVG namespace name in the HTML audit report (an identifier, not contacted)",
    "ntfy.sh": "example push-alert server in CLI help; contacted only if the owner adds it",
    "www.onvif.org": "ONVIF XML namespace names and scope URIs (identifiers, not contacted)",
    "docs.oasis-open.org": "WS-Security / WS-BaseNotification namespace names (identifiers)",
    "schemas.xmlsoap.org": "WS-Discovery / WS-Addressing namespace names (identifiers)",
}
# RFC 5737 / RFC 3849 documentation ranges: examples, never contacted.
DOC_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
DECLARED_IPS: dict[str, str] = {
    "127.0.0.1": "loopback (the default bind address)",
    "0.0.0.0": "any address (an opt-in bind)",
    "::1": "loopback",
    "::": "any address",
    "239.255.255.250": "WS-Discovery multicast (ONVIF, opt-in)",
    "255.255.255.255": "broadcast mask",
}
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
URL = re.compile(r"\b(?:https?|wss?|rtsps?|mqtts?|smtps?)://([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\])")
IPV4 = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")
SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|private_?key)", re.I)
SECRET_ASSIGN = re.compile(
    r"(password|passwd|secret|token|api_?key|private_?key)\w*\s*(:\s*\w+\s*)?=\s*[rbuf]*['\"]",
    re.I)
_TEXT_SUFFIXES = {".py", ".js", ".html", ".css", ".json", ".toml", ".txt", ".md", ".pem",
                  ".key", ".cfg", ".ini", ".yaml", ".yml"}


@dataclass
class ScanReport:
    files: int = 0
    secrets: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # undeclared
    declared_seen: set[str] = field(default_factory=set)

    @property
    def clean(self) -> bool:
        return not self.secrets and not self.endpoints


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _python_strings(source: str) -> tuple[list[str], list[tuple[str, str]]]:
    """String literals that are not docstrings, and (name, value) of literal assignments."""
    tree = ast.parse(source)
    skip = _docstring_ids(tree)
    strings = [n.value for n in ast.walk(tree)
               if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]
    assigned: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    assigned.append((target.id, node.value.value))
    return strings, assigned


def _check_endpoints(text: str, where: str, report: ScanReport) -> None:
    for host in URL.findall(text):
        host = host.strip("[]").lower()
        if host in DECLARED_HOSTS or host in DECLARED_IPS or host.endswith(".invalid"):
            report.declared_seen.add(host)
            continue
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if "." not in host:  # a template placeholder or a bare word, not a server
                continue
        report.endpoints.append(f"{where}: URL to undeclared host {host}")
    for match in IPV4.finditer(text):
        ip = match.group(0)
        if text[max(0, match.start() - 2):match.start()] == "==":
            continue  # a version pin (opencv-python-headless==5.1.0.95), not an address
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            continue
        if ip[0] in "56" and all(len(part) == 1 for part in ip.split(".")):
            continue  # a clause id of the standards (5.1.1.1, 5.2.8.2), not an address
        if ip in DECLARED_IPS or any(ipaddress.ip_address(ip) in n for n in DOC_NETWORKS
                                     if n.version == 4):
            report.declared_seen.add(ip)
        else:
            report.endpoints.append(f"{where}: undeclared IP address {ip}")


def scan_text(name: str, text: str, report: ScanReport) -> None:
    report.files += 1
    if PRIVATE_KEY.search(text):
        report.secrets.append(f"{name}: contains a PEM private key")
    if name.endswith(".py"):
        if not (URL.search(text) or IPV4.search(text) or SECRET_ASSIGN.search(text)):
            return  # nothing a parse could find: skip the (slow) AST walk
        try:
            strings, assigned = _python_strings(text)
        except SyntaxError:
            report.secrets.append(f"{name}: cannot be parsed (not checked)")
            return
        for value in strings:
            _check_endpoints(value, name, report)
        for var, value in assigned:
            if (SECRET_NAME.search(var) and len(value) >= 16 and " " not in value
                    and any(c.isdigit() for c in value) and _entropy(value) > 3.5):
                report.secrets.append(f"{name}: {var} holds a literal that looks like a secret")
    else:
        _check_endpoints(text, name, report)


def scan(folder: Path) -> ScanReport:
    report = ScanReport()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix not in _TEXT_SUFFIXES:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            report.secrets.append(f"{path}: unreadable ({exc.strerror})")
            continue
        scan_text(str(path.relative_to(folder)), text, report)
    return report
