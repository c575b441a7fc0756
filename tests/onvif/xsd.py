"""Validate ONVIF answers against the ONVIF schemas shipped in the onvif-zeep-async wheel.

The service schemas (tds, trt, tev) live inside the WSDL files; they are copied out next to
the wheel's XSD files in a temporary folder, and one wrapper schema imports all of them.
Remote schema locations are mapped to the local copies; the network is never used."""

from __future__ import annotations

import shutil
from pathlib import Path

from lxml import etree

from tests.onvif.onvif_support import wsdl_dir

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
LOCAL = {
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
    "http://www.w3.org/2009/01/xml.xsd": "xml.xsd",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing": "addressing",
}
SERVICES = {"devicemgmt.wsdl": "http://www.onvif.org/ver10/device/wsdl",
            "media.wsdl": "http://www.onvif.org/ver10/media/wsdl",
            "events.wsdl": "http://www.onvif.org/ver10/events/wsdl"}


class _Local(etree.Resolver):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def resolve(self, url, pubid, context):  # noqa: ANN001 - lxml's signature
        if url in LOCAL:
            return self.resolve_filename(str(self.root / LOCAL[url]), context)
        if url.startswith("http"):
            raise AssertionError(f"schema wants the network: {url}")
        return None


def build(tmp: Path) -> etree.XMLSchema:
    src = wsdl_dir()
    for item in src.iterdir():
        if item.is_file() and not item.name.endswith(".wsdl"):
            shutil.copy(item, tmp / item.name)
    imports = []
    for wsdl, ns in SERVICES.items():
        tree = etree.parse(str(src / wsdl))
        schema = tree.find(f"{{{WSDL}}}types/{{{XS}}}schema")
        assert schema is not None and schema.get("targetNamespace") == ns
        name = wsdl.replace(".wsdl", ".xsd")
        (tmp / name).write_bytes(etree.tostring(schema))
        imports.append(f'<xs:import namespace="{ns}" schemaLocation="{name}"/>')
    wrapper = tmp / "all.xsd"
    wrapper.write_text(f'<xs:schema xmlns:xs="{XS}" targetNamespace="urn:vigilcam:test">'
                       + "".join(imports) + "</xs:schema>")
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Local(tmp))
    return etree.XMLSchema(etree.parse(str(wrapper), parser))


def body_element(envelope: bytes) -> etree._Element:
    root = etree.fromstring(envelope, etree.XMLParser(resolve_entities=False, no_network=True))
    body = root.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    assert body is not None and len(body) == 1
    return body[0]
