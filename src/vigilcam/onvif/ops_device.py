"""ONVIF Device service (ver10 devicemgmt): identity, services, capabilities, time, users.

Owns the answers of ``/onvif/device_service``. Serves IoT-1005-1 5.2.3.4 (model and firmware
version reported), 5.1.2.1 (GetUsers and SystemReboot only for administrators: their entries in
the operation table name admin-only permissions) and 5.4.2.1 (every XAddr is ``https://``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

from vigilcam import product
from vigilcam.auth.permissions import Permission as P
from vigilcam.platform.events import Event

from .context import Call, Operation
from .soap import NS, SoapFault, esc

DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
EVENTS_PATH = "/onvif/events_service"

_LEVEL = {"admin": "Administrator", "operator": "Operator", "viewer": "User"}


def xaddr(call: Call, path: str) -> str:
    return call.base_url + path


def hardware_address(device_id: str, sys_net: Path = Path("/sys/class/net")) -> str:
    """The first physical interface's MAC, else one derived from the device ID (locally
    administered bit set), so Home Assistant's MAC-based identity stays stable."""
    try:
        for iface in sorted(sys_net.iterdir()):
            if iface.name == "lo" or not (iface / "device").exists():
                continue
            mac = (iface / "address").read_text().strip()
            if mac and mac != "00:00:00:00:00:00":
                return mac
    except OSError:
        pass
    raw = bytearray(hashlib.sha256(device_id.encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFC) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


async def get_system_date_and_time(call: Call) -> str:
    now = datetime.now(UTC)

    def dt(tag: str) -> str:
        return (f"<tt:{tag}><tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}"
                f"</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time><tt:Date>"
                f"<tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>"
                f"{now.day}</tt:Day></tt:Date></tt:{tag}>")

    return ("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false"
            "</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"{dt('UTCDateTime')}{dt('LocalDateTime')}"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")


async def get_device_information(call: Call) -> str:
    ident = call.device.identity
    return ("<tds:GetDeviceInformationResponse>"
            f"<tds:Manufacturer>{esc(product.VENDOR)}</tds:Manufacturer>"
            f"<tds:Model>{esc(product.MODEL)}</tds:Model>"
            f"<tds:FirmwareVersion>{esc(product.VERSION)}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{esc(ident.serial)}</tds:SerialNumber>"
            f"<tds:HardwareId>{esc(ident.device_id)}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>")


def _capabilities(call: Call) -> str:
    return (
        "<tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{esc(xaddr(call, DEVICE_PATH))}</tt:XAddr>"
        "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false"
        "</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false"
        "</tt:DynDNS></tt:Network>"
        "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false"
        "</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>"
        "<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging>"
        "<tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>"
        "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor>"
        "</tt:SupportedVersions></tt:System>"
        "<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>true</tt:TLS1.2>"
        "<tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false"
        "</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false"
        "</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false"
        "</tt:RELToken></tt:Security></tt:Device>"
        f"<tt:Events><tt:XAddr>{esc(xaddr(call, EVENTS_PATH))}</tt:XAddr>"
        "<tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>"
        "<tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
        "<tt:WSPausableSubscriptionManagerInterfaceSupport>false"
        "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
        f"<tt:Media><tt:XAddr>{esc(xaddr(call, MEDIA_PATH))}</tt:XAddr>"
        "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
        "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
        "</tt:StreamingCapabilities></tt:Media>"
        "</tds:Capabilities>"
    )


async def get_capabilities(call: Call) -> str:
    categories = [(c.text or "").strip() for c in call.request.body
                  if c.tag == f"{{{NS['tds']}}}Category"]
    allowed = {"All", "Device", "Events", "Media", ""}
    if any(c not in allowed for c in categories):
        raise SoapFault("Receiver", ("ter:ActionNotSupported", "ter:NoSuchService"),
                        "capability category not offered", 500)
    return f"<tds:GetCapabilitiesResponse>{_capabilities(call)}</tds:GetCapabilitiesResponse>"


def _device_service_capabilities() -> str:
    return ('<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" '
            'IPVersion6="false" DynDNS="false"/><tds:Security TLS1.2="true" '
            'UsernameToken="true" HttpDigest="true"/><tds:System DiscoveryResolve="false" '
            'DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" '
            'SystemLogging="false" FirmwareUpgrade="false"/></tds:Capabilities>')


async def get_device_service_capabilities(call: Call) -> str:
    return ("<tds:GetServiceCapabilitiesResponse>"
            f"{_device_service_capabilities()}</tds:GetServiceCapabilitiesResponse>")


async def get_services(call: Call) -> str:
    from .ops_events import events_service_capabilities
    from .ops_media import media_service_capabilities

    include = (call.request.body.findtext(f"{{{NS['tds']}}}IncludeCapability") or "").strip()
    with_caps = include.lower() in ("true", "1")
    services = [
        (NS["tds"], DEVICE_PATH, _device_service_capabilities()),
        (NS["trt"], MEDIA_PATH, media_service_capabilities("trt")),
        (NS["tev"], EVENTS_PATH, events_service_capabilities()),
    ]
    out = []
    for ns, path, caps in services:
        cap = f"<tds:Capabilities>{caps}</tds:Capabilities>" if with_caps else ""
        out.append(f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
                   f"<tds:XAddr>{esc(xaddr(call, path))}</tds:XAddr>{cap}"
                   "<tds:Version><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor></tds:Version>"
                   "</tds:Service>")
    return f"<tds:GetServicesResponse>{''.join(out)}</tds:GetServicesResponse>"


async def get_network_interfaces(call: Call) -> str:
    mac = hardware_address(call.device.identity.device_id)
    host = "0.0.0.0"  # noqa: S104 - shown when the address is not IPv4
    for candidate in (call.local_ip, call.host):
        try:
            if ipaddress.ip_address(candidate).version == 4:
                host = candidate
                break
        except ValueError:
            continue
    return ('<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{esc(mac)}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            f"<tt:Address>{esc(host)}</tt:Address><tt:PrefixLength>24</tt:PrefixLength>"
            "</tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>")


async def get_scopes(call: Call) -> str:
    scopes = ["onvif://www.onvif.org/Profile/Streaming",
              "onvif://www.onvif.org/type/video_encoder",
              f"onvif://www.onvif.org/name/{product.MODEL.replace(' ', '_')}",
              f"onvif://www.onvif.org/hardware/{product.MODEL.split()[-1]}"]
    items = "".join(f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{esc(s)}"
                    "</tt:ScopeItem></tds:Scopes>" for s in scopes)
    return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"


async def get_hostname(call: Call) -> str:
    name = "vigilcam-" + call.device.identity.serial.lower().replace("-", "")[-8:]
    return ("<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false"
            f"</tt:FromDHCP><tt:Name>{esc(name)}</tt:Name></tds:HostnameInformation>"
            "</tds:GetHostnameResponse>")


async def get_users(call: Call) -> str:
    users = "".join(
        f"<tds:User><tt:Username>{esc(u.username)}</tt:Username>"
        f"<tt:UserLevel>{_LEVEL.get(u.role.value, 'User')}</tt:UserLevel></tds:User>"
        for u in call.device.accounts.list() if not u.disabled)
    return f"<tds:GetUsersResponse>{users}</tds:GetUsersResponse>"


async def system_reboot(call: Call) -> str:
    assert call.caller is not None
    call.device.record(Event.DEVICE_RESTART_REQUESTED, user=call.caller.username,
                       source=call.caller.source, interface="onvif")
    restart = call.device.services.restart
    if restart is not None:
        restart()
        message = "restarting the camera service"
    else:
        message = "restart requested; the service restarts when its supervisor allows"
    return (f"<tds:SystemRebootResponse><tds:Message>{esc(message)}</tds:Message>"
            "</tds:SystemRebootResponse>")


OPERATIONS: dict[str, Operation] = {
    "GetSystemDateAndTime": Operation(get_system_date_and_time, None),
    "GetDeviceInformation": Operation(get_device_information, P.VIEW_DEVICE),
    "GetCapabilities": Operation(get_capabilities, P.VIEW_DEVICE),
    "GetServices": Operation(get_services, P.VIEW_DEVICE),
    "GetServiceCapabilities": Operation(get_device_service_capabilities, P.VIEW_DEVICE),
    "GetNetworkInterfaces": Operation(get_network_interfaces, P.VIEW_DEVICE),
    "GetScopes": Operation(get_scopes, P.VIEW_DEVICE),
    "GetHostname": Operation(get_hostname, P.VIEW_DEVICE),
    "GetUsers": Operation(get_users, P.MANAGE_USERS),
    "SystemReboot": Operation(system_reboot, P.RESTART_DEVICE),
}
