"""A CycloneDX 1.5 JSON SBOM of the installed Python environment, from importlib.metadata.

Owns which packages and edges the SBOM lists. Serves IoT-1005-1 5.2.1.1 (an SBOM produced for
each release, so a new CVE can be matched against what a device runs). Pure: ``build_bom``
takes package facts (``Package``), ``installed_packages`` reads them from the environment. The
document itself (model, serialisation, spec conformance) is ``cyclonedx-python-lib``'s, the
CycloneDX project's own library.

Choices:
- each component is identified by its package URL (``pkg:pypi/<normalised-name>@<version>``,
  PEP 503 name normalisation), which is also its ``bom-ref``;
- licences go in as ``expression`` when the package declares an SPDX ``License-Expression``
  (PEP 639), else as a free-text ``name`` (never a guessed SPDX id, which could be wrong);
- by default only the product's run-time closure is listed (``runtime_closure``): test and
  development tools installed beside it are not part of the device;
- ``dependencies`` list the edges between installed components from ``Requires-Dist``,
  ignoring requirements that only apply to an extra (optional, maybe not installed).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.output.json import JsonV1Dot5
from packageurl import PackageURL

SPEC_VERSION = "1.5"  # JsonV1Dot5
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    """PEP 503: lower case, runs of -_. become one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def purl(name: str, version: str) -> str:
    return f"pkg:pypi/{normalise(name)}@{version}"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    summary: str = ""
    license_expression: str = ""
    license_text: str = ""
    requires: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ref(self) -> str:
        return purl(self.name, self.version)


def _get(meta: md.PackageMetadata, key: str) -> str:
    try:
        value = meta[key]
    except KeyError:  # Python >= 3.14 raises for a missing field; earlier ones return None
        return ""
    return str(value or "")


def _license_text(meta: md.PackageMetadata) -> str:
    text = _get(meta, "License").strip()
    if text and len(text) < 100 and "\n" not in text and text.upper() != "UNKNOWN":
        return text
    classifiers = [c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    return ", ".join(classifiers)


def installed_packages(dists: Iterable[md.Distribution] | None = None) -> list[Package]:
    """Every distribution importlib.metadata sees (first one wins for duplicates)."""
    out: dict[str, Package] = {}
    for dist in dists if dists is not None else md.distributions():
        meta = dist.metadata
        name = _get(meta, "Name")
        if not name or normalise(name) in out:
            continue
        out[normalise(name)] = Package(
            name=name, version=dist.version or "0",
            summary=_get(meta, "Summary").strip()[:200],
            license_expression=_get(meta, "License-Expression").strip(),
            license_text=_license_text(meta),
            requires=tuple(dist.requires or ()),
        )
    return sorted(out.values(), key=lambda p: normalise(p.name))


def required_names(requires: Iterable[str]) -> list[str]:
    """Names a package always needs (requirements behind an ``extra`` marker left out)."""
    names = []
    for req in requires:
        _, _, marker = req.partition(";")
        if re.search(r"\bextra\s*==", marker):
            continue
        match = _NAME.match(req)
        if match:
            names.append(normalise(match.group(1)))
    return names


def runtime_closure(packages: list[Package], product: str = "vigilcam") -> list[Package]:
    """The product and what it needs at run time, transitively (test and dev tools left out).

    Where the product itself has no package metadata (a packaged device runs it from its A/B
    slot beside a bundle of exactly its run-time dependencies), the whole environment is the
    run-time set."""
    by_name = {normalise(p.name): p for p in packages}
    if normalise(product) not in by_name:
        return list(packages)
    keep: dict[str, Package] = {}
    todo = [normalise(product)]
    while todo:
        name = todo.pop()
        if name in keep or name not in by_name:
            continue
        keep[name] = by_name[name]
        todo.extend(required_names(by_name[name].requires))
    return [p for p in packages if normalise(p.name) in keep]


def _component(pkg: Package, kind: ComponentType = ComponentType.LIBRARY) -> Component:
    licenses: list[License] = []
    if pkg.license_expression:
        licenses.append(LicenseExpression(pkg.license_expression))
    elif pkg.license_text:
        licenses.append(DisjunctiveLicense(name=pkg.license_text))
    return Component(type=kind, name=pkg.name, version=pkg.version, bom_ref=pkg.ref,
                     purl=PackageURL.from_string(pkg.ref), description=pkg.summary or None,
                     licenses=licenses)


def build_bom(
    packages: list[Package],
    *,
    product: str = "vigilcam",
    version: str | None = None,
    serial: uuid.UUID | None = None,
    timestamp: dt.datetime | None = None,
) -> Bom:
    """The BOM: the product as metadata.component, packages as components, their edges."""
    from vigilcam import __version__

    own = next((p for p in packages if normalise(p.name) == normalise(product)), None)
    version = version or (own.version if own else __version__)
    root = _component(Package(product, version), ComponentType.APPLICATION)
    parts = [p for p in packages if p is not own]
    components = {normalise(p.name): _component(p) for p in parts}
    bom = Bom(serial_number=serial or uuid.uuid4())
    bom.metadata.timestamp = (timestamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION,
                                                name="vigilcam-sbom", version=__version__))
    bom.metadata.component = root
    for pkg in [own or Package(product, version), *parts]:
        needs = [components[n] for n in required_names(pkg.requires) if n in components]
        if pkg is not own and normalise(pkg.name) != normalise(product):
            node = components[normalise(pkg.name)]
            bom.components.add(node)
        else:
            node = root
        bom.register_dependency(node, needs)
    return bom


def build_sbom(packages: list[Package], **kwargs: Any) -> dict[str, Any]:
    """The CycloneDX 1.5 document as a dict (see ``build_bom`` for the arguments)."""
    document: dict[str, Any] = json.loads(
        JsonV1Dot5(build_bom(packages, **kwargs)).output_as_string())
    return document


def sbom_json(*, runtime_only: bool = True, product: str = "vigilcam", **kwargs: Any) -> str:
    """The SBOM of this environment as indented JSON (by default what the product runs on)."""
    packages = installed_packages()
    if runtime_only:
        packages = runtime_closure(packages, product)
    return JsonV1Dot5(build_bom(packages, product=product, **kwargs)).output_as_string(indent=2)
