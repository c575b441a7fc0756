"""Run inside a fresh network namespace (``unshare --net``) by test_discovery.py: starts
``vigilcam run`` with ONVIF off, then with ONVIF and discovery on, and probes UDP 3702 each
time. Prints one JSON line with what it saw. Talks only to this namespace's loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support import VIGILCAM, run_cli, start_server  # noqa: E402

PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?><s:Envelope '
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
    "<a:MessageID>urn:uuid:{mid}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:"
    "discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"
    "</a:Action></s:Header><s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types>"
    "</d:Probe></s:Body></s:Envelope>"
)


def udp_3702_bound() -> bool:
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            if line.split()[1].endswith(":0E76"):
                return True
    return False


def probe(target: str) -> str | None:
    mid = str(uuid.uuid4())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.5)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        s.sendto(PROBE.format(mid=mid).encode(), (target, 3702))
        try:
            data, _ = s.recvfrom(65536)
        except TimeoutError:
            return None
    text = data.decode()
    return text if mid in text else "wrong RelatesTo"


def main() -> None:
    data = Path(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    subprocess.run(["ip", "route", "add", "239.0.0.0/8", "dev", "lo"], check=True)
    out: dict[str, object] = {"vigilcam": VIGILCAM[0]}
    srv = start_server(data, port=8443)
    try:
        time.sleep(0.3)  # the HTTPS port answers last: every other listener is up by now
        out["off_bound"] = udp_3702_bound()
        out["off_answer"] = probe("127.0.0.1")
    finally:
        srv.kill()
    run_cli("onvif", "enable", "--discovery", "--data-dir", str(data))
    srv = start_server(data, port=8443)
    try:
        out["on_bound"] = udp_3702_bound()
        out["on_unicast"] = probe("127.0.0.1")
        out["on_multicast"] = probe("239.255.255.250")
    finally:
        srv.kill()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
