"""Every ONVIF answer validates against the ONVIF XSDs (those shipped with onvif-zeep-async),
for each operation offered, so strict NVR clients parse what Home Assistant parses."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.onvif.onvif_support import SOAP, envelope, secrets_of, token
from tests.onvif.xsd import body_element, build
from vigilcam.onvif.lifecycle import start_events


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> etree.XMLSchema:
    return build(tmp_path_factory.mktemp("onvif-xsd"))


CALLS = [
    ("/onvif/device_service", "tds", "<tds:GetSystemDateAndTime/>"),
    ("/onvif/device_service", "tds", "<tds:GetCapabilities><tds:Category>All</tds:Category>"
                                     "</tds:GetCapabilities>"),
    ("/onvif/device_service", "tds", "<tds:GetServices><tds:IncludeCapability>true"
                                     "</tds:IncludeCapability></tds:GetServices>"),
    ("/onvif/device_service", "tds", "<tds:GetServiceCapabilities/>"),
    ("/onvif/device_service", "tds", "<tds:GetDeviceInformation/>"),
    ("/onvif/device_service", "tds", "<tds:GetNetworkInterfaces/>"),
    ("/onvif/device_service", "tds", "<tds:GetScopes/>"),
    ("/onvif/device_service", "tds", "<tds:GetHostname/>"),
    ("/onvif/device_service", "tds", "<tds:GetUsers/>"),
    ("/onvif/media_service", "trt", "<trt:GetProfiles/>"),
    ("/onvif/media_service", "trt", "<trt:GetProfile><trt:ProfileToken>sub</trt:ProfileToken>"
                                    "</trt:GetProfile>"),
    ("/onvif/media_service", "trt", "<trt:GetVideoSources/>"),
    ("/onvif/media_service", "trt", "<trt:GetVideoSourceConfigurations/>"),
    ("/onvif/media_service", "trt", "<trt:GetVideoEncoderConfigurations/>"),
    ("/onvif/media_service", "trt", "<trt:GetServiceCapabilities/>"),
    ("/onvif/media_service", "trt", "<trt:GetSnapshotUri><trt:ProfileToken>main"
                                    "</trt:ProfileToken></trt:GetSnapshotUri>"),
    ("/onvif/events_service", "tev", "<tev:GetServiceCapabilities/>"),
    ("/onvif/events_service", "tev", "<tev:GetEventProperties/>"),
]


def _check(schema, answer: bytes) -> None:
    elem = body_element(answer)
    if not schema.validate(etree.ElementTree(elem)):
        raise AssertionError(f"{elem.tag}: {schema.error_log}\n{answer.decode()[:3000]}")


@pytest.mark.parametrize(("path", "prefix", "body"), CALLS,
                         ids=[c[2].split(">")[0].split(":")[1].rstrip("/") for c in CALLS])
def test_answer_validates(schema, client, onvif_device, path, prefix, body):
    secret = secrets_of(onvif_device)["boss"]
    r = client.post(path, content=envelope(body, token("boss", secret), prefix),
                    headers={"Content-Type": SOAP})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/soap+xml")
    _check(schema, r.content)


async def test_pull_point_answers_validate(schema, client, onvif_device, onvif_edge):
    secret = secrets_of(onvif_device)["ha"]
    start_events(onvif_edge, None)

    def call(path: str, prefix: str, body: str) -> bytes:
        r = client.post(path, content=envelope(body, token("ha", secret), prefix),
                        headers={"Content-Type": SOAP})
        assert r.status_code == 200, r.text
        _check(schema, r.content)
        return r.content

    made = call("/onvif/events_service", "tev", "<tev:CreatePullPointSubscription>"
                "<tev:InitialTerminationTime>PT60S</tev:InitialTerminationTime>"
                "</tev:CreatePullPointSubscription>")
    address = body_element(made).findtext(
        "{http://www.onvif.org/ver10/events/wsdl}SubscriptionReference/"
        "{http://www.w3.org/2005/08/addressing}Address")
    path = "/" + address.split("/", 3)[3]
    pulled = call(path, "tev", "<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout>"
                  "<tev:MessageLimit>10</tev:MessageLimit></tev:PullMessages>")
    assert pulled.count(b"NotificationMessage>") == 10  # five open + five close tags
    call(path, "tev", "<tev:SetSynchronizationPoint/>")
    wsnt = 'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2"'
    r = client.post(path, content=envelope(
        f"<wsnt:Renew {wsnt}><wsnt:TerminationTime>PT120S</wsnt:TerminationTime></wsnt:Renew>",
        token("ha", secret), "tev"), headers={"Content-Type": SOAP})
    assert r.status_code == 200 and b"RenewResponse" in r.content, r.text
    r = client.post(path, content=envelope(f"<wsnt:Unsubscribe {wsnt}/>", token("ha", secret),
                                           "tev"), headers={"Content-Type": SOAP})
    assert r.status_code == 200 and b"UnsubscribeResponse" in r.content
    r = client.post(path, content=envelope("<tev:PullMessages><tev:Timeout>PT1S</tev:Timeout>"
                                           "<tev:MessageLimit>1</tev:MessageLimit>"
                                           "</tev:PullMessages>", token("ha", secret), "tev"),
                    headers={"Content-Type": SOAP})
    assert r.status_code == 400 and b"ter:NoSubscription" in r.content
