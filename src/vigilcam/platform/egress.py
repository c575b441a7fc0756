"""Where the device may send things on its own: no loopback, link-local or own address.

Owns the rule for outbound destinations the owner types in (alert webhooks, ntfy, SMTP, MQTT,
apprise). Serves IoT-1005-1 5.6.1.1 / 5.5.2.1 (a configured URL cannot turn the camera into a
proxy to its own local services or to link-local cloud metadata endpoints, i.e. server-side
request forgery) and 5.4.2.1 (alerts leave the device only over TLS, decided elsewhere).

Rule: a destination whose name resolves to any loopback, link-local, unspecified, multicast
or reserved address, or to one of the device's own addresses, is refused unless the owner
allowed a local target for that channel explicitly. Private LAN addresses (RFC 1918, ULA) are
allowed: a home server on the LAN is the usual alert receiver.

The check runs when a channel is added and again before every delivery, on a fresh
resolution (a name that later resolves to 127.0.0.1 is refused then). A name that does not
resolve is left to the delivery, which fails on its own. Not covered: a DNS answer that
changes between this check and the connection (rebinding within one delivery); the window is
one resolution long.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(ValueError):
    """The destination is local to the device; the message says why and what to do."""


def _plain(ip: IpAddress) -> IpAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def refusal(addresses: list[IpAddress], own: set[IpAddress]) -> str | None:
    """Why these resolved addresses are not a place the device sends to, or None."""
    for raw in addresses:
        ip = _plain(raw)
        if ip.is_loopback:
            return f"{ip} is this device (loopback)"
        if ip.is_link_local:
            return f"{ip} is link-local (e.g. a cloud metadata service)"
        if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
            return f"{ip} is not a unicast host address"
        if ip in own:
            return f"{ip} is one of this device's own addresses"
    return None


def own_addresses() -> set[IpAddress]:
    """The addresses of this host's interfaces (IPv4 by hostname and routes, IPv6 from /proc)."""
    found: set[IpAddress] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
    except (OSError, ValueError):
        pass
    try:
        found |= _fib_local_ipv4(Path("/proc/net/fib_trie").read_text())
    except OSError:
        pass
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            hexaddr = line.split()[0]
            found.add(ipaddress.IPv6Address(int(hexaddr, 16)))
    except (OSError, ValueError, IndexError):
        pass
    return found


def _fib_local_ipv4(trie: str) -> set[IpAddress]:
    """IPv4 addresses that the kernel's routing table marks as local (``/32 host LOCAL``)."""
    out: set[IpAddress] = set()
    last: str | None = None
    for line in trie.splitlines():
        text = line.strip()
        if text.startswith("|--"):
            last = text[3:].strip()
        elif "/32 host LOCAL" in text and last:
            try:
                out.add(ipaddress.IPv4Address(last))
            except ValueError:
                pass
    return out


def _addresses(infos: list) -> list[IpAddress]:
    out: list[IpAddress] = []
    for info in infos:
        try:
            out.append(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        except ValueError:
            continue
    return out


def check_destination(host: str, port: int, *, allow_local: bool) -> None:
    """Raise :class:`EgressRefused` for a local destination (blocking resolution)."""
    if allow_local:
        return
    try:
        infos = socket.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    _judge(host, _addresses(infos))


async def check_destination_async(host: str, port: int, *, allow_local: bool) -> None:
    """The same, resolving on the event loop's resolver."""
    if allow_local:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    _judge(host, _addresses(infos))


def _judge(host: str, addresses: list[IpAddress]) -> None:
    why = refusal(addresses, own_addresses())
    if why is not None:
        raise EgressRefused(
            f"{host}: {why}; the camera does not send to its own or link-local addresses "
            "unless you allow a local target for this channel explicitly")
