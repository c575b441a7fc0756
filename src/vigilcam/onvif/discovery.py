"""WS-Discovery responder (opt-in): answers Probe on UDP 3702 as an ONVIF video transmitter.

Owns the camera's presence on the local network for ONVIF clients that search (NVRs, Home
Assistant's discovery). Serves IoT-1005-1 5.2.2.1 (off by default: it listens only when the
owner turned on both ONVIF and discovery), 5.5.2.1 (bounded input: a datagram above 8 KiB or
not a well-formed Probe is dropped, answers are rate-limited so the camera cannot be used to
amplify traffic) and 5.4.2.1 (the XAddrs it announces are ``https://``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import time
import uuid
from typing import Any

from vigilcam import product
from vigilcam.platform.events import Event

from .soap import SoapFault, esc, parse_envelope

PORT = 3702
GROUP = "239.255.255.250"
MAX_DATAGRAM = 8192
ANSWERS_PER_S = 10.0
WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
DN = "http://www.onvif.org/ver10/network/wsdl"
TDS = "http://www.onvif.org/ver10/device/wsdl"


def wants_us(types_text: str, nsmap: dict[str, str]) -> bool:
    """A Probe without Types matches every device; else one of its QNames must name
    ``dn:NetworkVideoTransmitter`` or ``tds:Device`` (prefixes resolved by namespace)."""
    names = types_text.split()
    if not names:
        return True
    for name in names:
        prefix, _, local = name.rpartition(":")
        ns = nsmap.get(prefix, "")
        if (ns, local) in ((DN, "NetworkVideoTransmitter"), (TDS, "Device")):
            return True
    return False


def _namespaces(data: bytes) -> dict[str, str]:
    """Prefix declarations of a (small, already parsed once) datagram."""
    import re

    text = data.decode("utf-8", "replace")
    return {m.group(1): m.group(2)
            for m in re.finditer(r'xmlns:([A-Za-z_][\w.-]*)\s*=\s*["\']([^"\']*)["\']', text)}


def probe_match(message_id: str, device_id: str, xaddr: str) -> bytes:
    scopes = " ".join(["onvif://www.onvif.org/Profile/Streaming",
                       "onvif://www.onvif.org/type/video_encoder",
                       f"onvif://www.onvif.org/name/{product.MODEL.replace(' ', '_')}"])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        f'xmlns:a="{WSA}" xmlns:d="{WSD}" xmlns:dn="{DN}"><s:Header>'
        f"<a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID>"
        f"<a:RelatesTo>{esc(message_id)}</a:RelatesTo>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>"
        "</s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
        f"<a:EndpointReference><a:Address>urn:uuid:{esc(device_id)}</a:Address>"
        "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>{esc(scopes)}</d:Scopes><d:XAddrs>{esc(xaddr)}</d:XAddrs>"
        "<d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
        "</s:Body></s:Envelope>"
    ).encode()


def _local_address_towards(peer: str) -> str:
    """The address this host uses to reach ``peer`` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((peer, 9))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, responder: DiscoveryResponder) -> None:
        self.responder = responder
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # a datagram transport (not a DatagramTransport subclass)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = self.responder.answer(data, addr[0])
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


class DiscoveryResponder:
    def __init__(self, device: Any, port: int = PORT) -> None:
        self.device = device
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self._tokens = ANSWERS_PER_S
        self._last = time.monotonic()

    def _allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(ANSWERS_PER_S, self._tokens + (now - self._last) * ANSWERS_PER_S)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def xaddr(self, peer: str) -> str:
        settings = self.device.settings
        host = settings.onvif.advertised_host
        if not host:
            host = settings.bind if settings.bind not in ("0.0.0.0", "::") else (  # noqa: S104
                _local_address_towards(peer))
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        port = settings.https_port
        return f"https://{host}{'' if port == 443 else f':{port}'}/onvif/device_service"

    def answer(self, data: bytes, peer: str) -> bytes | None:
        """The ProbeMatches for a Probe that asks for us, else None (dropped silently)."""
        if len(data) > MAX_DATAGRAM:
            return None
        try:
            req = parse_envelope(data, max_bytes=MAX_DATAGRAM, max_elements=200)
        except SoapFault:
            return None
        if (req.namespace, req.operation) != (WSD, "Probe"):
            return None
        types = req.body.findtext(f"{{{WSD}}}Types") or ""
        if not wants_us(types, _namespaces(data)):
            return None
        header = req.header
        message_id = ""
        if header is not None:
            message_id = (header.findtext(f"{{{WSA}}}MessageID") or "").strip()[:200]
        if not message_id or not self._allow():
            return None
        return probe_match(message_id, self.device.identity.device_id, self.xaddr(peer))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", self.port))  # noqa: S104 - multicast needs the wildcard
        try:
            mreq = struct.pack("4s4s", socket.inet_aton(GROUP), socket.inet_aton("0.0.0.0"))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            joined = True
        except OSError:
            joined = False  # no multicast-capable interface: unicast probes still answered
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self.transport = transport
        self.device.record(Event.ONVIF_DISCOVERY_STARTED, port=self.port, multicast=joined)

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
