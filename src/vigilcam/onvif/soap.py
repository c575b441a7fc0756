"""SOAP 1.2 envelopes in and out: bounded, entity-free parsing and ONVIF faults.

Owns how an ONVIF request body becomes a :class:`SoapRequest` and how answers and faults are
written. Pure: bytes in, values out. Serves IoT-1005-1 5.5.2.1 (input validated, bounded and
answered with a clear fault, never a trace) and 5.5.1.1 (no external entity or DTD is ever
resolved: ``defusedxml`` refuses a DOCTYPE outright).

Invariants:
- Nothing larger than ``max_bytes`` or with more than ``max_elements`` elements or deeper than
  ``max_depth`` is handed on; a DTD, entity or external reference is a ``Sender`` fault.
- Elements are matched by namespace URI and local name, never by prefix.
- Every string written into an answer goes through :func:`esc` (text) or :func:`attr`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - only used for types and tree walking
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = [
    "NS",
    "SoapFault",
    "SoapRequest",
    "attr",
    "envelope",
    "esc",
    "fault_envelope",
    "parse_envelope",
]

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "tns1": "http://www.onvif.org/ver10/topics",
    "xs": "http://www.w3.org/2001/XMLSchema",
}
SOAP12 = NS["s"]
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

MAX_BYTES = 64 * 1024
MAX_ELEMENTS = 2000
MAX_DEPTH = 32


@dataclass
class SoapFault(Exception):
    """A SOAP 1.2 fault to send back: ``code`` is ``Sender`` or ``Receiver``; ``subcodes`` are
    qualified names such as ``ter:NotAuthorized`` (the ``ter`` prefix is declared)."""

    code: str
    subcodes: tuple[str, ...]
    reason: str
    status: int = 400

    def __str__(self) -> str:
        return self.reason


def sender(reason: str, *subcodes: str, status: int = 400) -> SoapFault:
    return SoapFault("Sender", subcodes, reason, status)



@dataclass(frozen=True)
class SoapRequest:
    """One parsed request: the body's first element names the operation."""

    namespace: str
    operation: str
    body: ET.Element
    header: ET.Element | None

    def security(self) -> ET.Element | None:
        if self.header is None:
            return None
        return self.header.find(f"{{{NS['wsse']}}}Security")


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _check_shape(root: ET.Element, max_elements: int, max_depth: int) -> None:
    count = 0
    stack: list[tuple[ET.Element, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > max_elements:
            raise sender("too many XML elements", "ter:InvalidArgs", status=413)
        if depth > max_depth:
            raise sender("XML nested too deeply", "ter:InvalidArgs")
        stack.extend((child, depth + 1) for child in node)


def parse_envelope(
    data: bytes, *, max_bytes: int = MAX_BYTES, max_elements: int = MAX_ELEMENTS,
    max_depth: int = MAX_DEPTH,
) -> SoapRequest:
    """Parse a SOAP 1.2 request; raise :class:`SoapFault` for anything malformed or too big."""
    if len(data) > max_bytes:
        raise sender("request too large", "ter:InvalidArgs", status=413)
    if not data.strip():
        raise sender("empty request")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise sender("DTDs and entities are not accepted", "ter:InvalidArgs") from None
    except (ET.ParseError, ValueError, UnicodeError, RecursionError):
        raise sender("malformed XML", "ter:InvalidArgs") from None
    _check_shape(root, max_elements, max_depth)
    ns, local = _split(root.tag)
    if ns == SOAP11 and local == "Envelope":
        raise sender("SOAP 1.1 is not supported; use SOAP 1.2", "ter:InvalidArgs")
    if ns != SOAP12 or local != "Envelope":
        raise sender("not a SOAP 1.2 envelope", "ter:InvalidArgs")
    header = root.find(f"{{{SOAP12}}}Header")
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise sender("SOAP envelope without Body", "ter:InvalidArgs")
    children = list(body)
    if len(children) != 1:
        raise sender("SOAP Body must hold exactly one operation", "ter:InvalidArgs")
    op = children[0]
    op_ns, op_name = _split(op.tag)
    return SoapRequest(op_ns, op_name, op, header)


def esc(value: object) -> str:
    return escape(str(value))


def attr(value: object) -> str:
    """A quoted attribute value (quotes included)."""
    return quoteattr(str(value))


_DECLS = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p not in ("xs",))


def envelope(body: str, header: str = "") -> bytes:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope {_DECLS}>{head}'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_envelope(fault: SoapFault) -> bytes:
    """A SOAP 1.2 Fault with nested ONVIF subcodes (ONVIF Core 5.11)."""
    sub = ""
    for code in reversed(fault.subcodes):
        sub = f"<s:Subcode><s:Value>{esc(code)}</s:Value>{sub}</s:Subcode>"
    body = (
        f"<s:Fault><s:Code><s:Value>s:{esc(fault.code)}</s:Value>{sub}</s:Code>"
        f'<s:Reason><s:Text xml:lang="en">{esc(fault.reason)}</s:Text></s:Reason></s:Fault>'
    )
    return envelope(body)


def text_of(elem: ET.Element | None, path: str, default: str = "") -> str:
    """Text of the first element at ``path`` (``{ns}Local/{ns}Local``) or ``default``."""
    if elem is None:
        return default
    found = elem.find(path)
    if found is None or found.text is None:
        return default
    return found.text.strip()


def q(prefix: str, local: str) -> str:
    """``{namespace}local`` for a known prefix (for ElementTree lookups)."""
    return f"{{{NS[prefix]}}}{local}"
