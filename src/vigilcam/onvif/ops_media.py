"""ONVIF Media service (ver10): profiles, sources, encoders, stream and snapshot URIs.

Owns the answers of ``/onvif/media_service``. Serves IoT-1005-1 5.4.2.1 (every URI handed out
is ``rtsps://`` or ``https://``: no plain-text media path is ever advertised) and 5.1.2.1
(stream URIs need ``view_live``, snapshot URIs ``take_snapshot``).

Two profiles mirror the camera's two encoded streams: ``main`` and ``sub`` (H.264), each with
its encoder configuration; both share the one video source.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigilcam.auth.permissions import Permission as P

from .context import Call, Operation
from .soap import NS, SoapFault, attr, esc
from .topics import VIDEO_SOURCE, VIDEO_SOURCE_CONF

SNAPSHOT_PATH = "/onvif/snapshot"


@dataclass(frozen=True)
class StreamProfile:
    token: str  # profile token, also the RTSPS path
    encoder: str
    width: int
    height: int
    fps: float


def profiles(call: Call) -> list[StreamProfile]:
    m = call.device.settings.media
    return [StreamProfile("main", "vec_main", m.width, m.height, m.fps),
            StreamProfile("sub", "vec_sub", m.sub_width, m.sub_height, m.sub_fps)]


def _source_conf(call: Call) -> str:
    m = call.device.settings.media
    return (f'<tt:VideoSourceConfiguration token="{VIDEO_SOURCE_CONF}"><tt:Name>video source'
            f"</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>{VIDEO_SOURCE}"
            f'</tt:SourceToken><tt:Bounds x="0" y="0" width="{m.width}" height="{m.height}"/>'
            "</tt:VideoSourceConfiguration>")


def _encoder_conf(p: StreamProfile, tag: str = "tt:VideoEncoderConfiguration") -> str:
    return (f"<{tag} token={attr(p.encoder)}><tt:Name>{esc(p.token)} stream</tt:Name>"
            "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
            f"<tt:Resolution><tt:Width>{p.width}</tt:Width><tt:Height>{p.height}</tt:Height>"
            "</tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl>"
            f"<tt:FrameRateLimit>{int(p.fps)}</tt:FrameRateLimit>"
            "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>2048"
            "</tt:BitrateLimit></tt:RateControl><tt:H264><tt:GovLength>"
            f"{max(1, int(p.fps * 2))}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile>"
            "</tt:H264><tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>"
            "0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL>"
            "<tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
            f"<tt:SessionTimeout>PT60S</tt:SessionTimeout></{tag}>")


def _profile_xml(call: Call, p: StreamProfile, tag: str) -> str:
    return (f'<{tag} token={attr(p.token)} fixed="true"><tt:Name>{esc(p.token)}</tt:Name>'
            f"{_source_conf(call)}{_encoder_conf(p)}</{tag}>")


def _find_profile(call: Call, token: str) -> StreamProfile:
    for p in profiles(call):
        if p.token == token:
            return p
    raise SoapFault("Sender", ("ter:InvalidArgVal", "ter:NoProfile"), "no such profile")


def _profile_token(call: Call) -> str:
    return (call.request.body.findtext(f"{{{NS['trt']}}}ProfileToken") or "").strip()


async def get_profiles(call: Call) -> str:
    items = "".join(_profile_xml(call, p, "trt:Profiles") for p in profiles(call))
    return f"<trt:GetProfilesResponse>{items}</trt:GetProfilesResponse>"


async def get_profile(call: Call) -> str:
    p = _find_profile(call, _profile_token(call))
    profile = _profile_xml(call, p, "trt:Profile")
    return f"<trt:GetProfileResponse>{profile}</trt:GetProfileResponse>"


async def get_video_sources(call: Call) -> str:
    m = call.device.settings.media
    return (f'<trt:GetVideoSourcesResponse><trt:VideoSources token="{VIDEO_SOURCE}">'
            f"<tt:Framerate>{m.fps}</tt:Framerate><tt:Resolution><tt:Width>{m.width}"
            f"</tt:Width><tt:Height>{m.height}</tt:Height></tt:Resolution>"
            "</trt:VideoSources></trt:GetVideoSourcesResponse>")


async def get_video_source_configurations(call: Call) -> str:
    conf = _source_conf(call).replace("tt:VideoSourceConfiguration",
                                      "trt:Configurations")
    return ("<trt:GetVideoSourceConfigurationsResponse>"
            f"{conf}</trt:GetVideoSourceConfigurationsResponse>")


async def get_video_encoder_configurations(call: Call) -> str:
    items = "".join(_encoder_conf(p, "trt:Configurations") for p in profiles(call))
    return ("<trt:GetVideoEncoderConfigurationsResponse>"
            f"{items}</trt:GetVideoEncoderConfigurationsResponse>")


def media_service_capabilities(prefix: str = "trt") -> str:
    return (f'<{prefix}:Capabilities SnapshotUri="true" Rotation="false" '
            'VideoSourceMode="false" OSD="false"><trt:ProfileCapabilities MaximumNumberOfProfiles'
            '="2"/><trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" '
            f'RTP_RTSP_TCP="true" NonAggregateControl="false"/></{prefix}:Capabilities>')


async def get_media_service_capabilities(call: Call) -> str:
    return ("<trt:GetServiceCapabilitiesResponse>"
            f"{media_service_capabilities()}</trt:GetServiceCapabilitiesResponse>")


def _media_uri(uri: str) -> str:
    return (f"<trt:MediaUri><tt:Uri>{esc(uri)}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
            "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def get_stream_uri(call: Call) -> str:
    p = _find_profile(call, _profile_token(call))
    setup = call.request.body.find(f"{{{NS['trt']}}}StreamSetup")
    stream = (setup.findtext(f"{{{NS['tt']}}}Stream") or "").strip() if setup is not None else ""
    if stream and stream != "RTP-Unicast":
        raise SoapFault("Sender", ("ter:InvalidArgVal", "ter:InvalidStreamSetup"),
                        "only RTP-Unicast over RTSPS is offered")
    port = call.device.settings.rtsps_port
    if not port:
        raise SoapFault("Receiver", ("ter:Action", "ter:IncompleteConfiguration"),
                        "the RTSPS server is not enabled on this camera", 500)
    uri = f"rtsps://{_url_host(call.host)}:{port}/{p.token}"
    return f"<trt:GetStreamUriResponse>{_media_uri(uri)}</trt:GetStreamUriResponse>"


async def get_snapshot_uri(call: Call) -> str:
    p = _find_profile(call, _profile_token(call))
    uri = f"{call.base_url}{SNAPSHOT_PATH}/{p.token}.jpg"
    return f"<trt:GetSnapshotUriResponse>{_media_uri(uri)}</trt:GetSnapshotUriResponse>"


OPERATIONS: dict[str, Operation] = {
    "GetProfiles": Operation(get_profiles, P.VIEW_LIVE),
    "GetProfile": Operation(get_profile, P.VIEW_LIVE),
    "GetVideoSources": Operation(get_video_sources, P.VIEW_LIVE),
    "GetVideoSourceConfigurations": Operation(get_video_source_configurations, P.VIEW_LIVE),
    "GetVideoEncoderConfigurations": Operation(get_video_encoder_configurations, P.VIEW_LIVE),
    "GetServiceCapabilities": Operation(get_media_service_capabilities, P.VIEW_LIVE),
    "GetStreamUri": Operation(get_stream_uri, P.VIEW_LIVE),
    "GetSnapshotUri": Operation(get_snapshot_uri, P.TAKE_SNAPSHOT),
}
