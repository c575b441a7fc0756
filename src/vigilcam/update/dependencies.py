"""The bundled dependency set a release was built against, and the rule that an update over
the channel keeps it.

Owns the "does this update need other dependencies?" decision, IoT-1005-1 5.3.1.1: an A/B slot
holds only the ``vigilcam`` package; its dependencies live in the environment the system package
installed. The release build writes ``vigilcam/dependencies.txt`` (sorted ``name==version``
lines, the same on every architecture) into the package tree before the code manifest is
signed, so the list is covered by the signature. An update whose list differs from the running
release's is refused with the packages named: it must be installed as a new system package
(docs/install.md). A tree without the file (a development build) is not checked.

Pure apart from reading the two files.
"""

from __future__ import annotations

from pathlib import Path

DEPENDENCIES_NAME = "dependencies.txt"


def parse(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def read(package_dir: Path) -> dict[str, str] | None:
    """The pins a package tree declares, or None when it declares none."""
    try:
        return parse((package_dir / DEPENDENCIES_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def render(pins: dict[str, str]) -> str:
    return "".join(f"{name}=={pins[name]}\n" for name in sorted(pins))


def changes(running: dict[str, str], new: dict[str, str]) -> list[str]:
    """What differs, one item per package: ``numpy 2.2.6 -> 2.3.0``, ``+foo 1.0``, ``-bar``."""
    out = []
    for name in sorted(set(running) | set(new)):
        if name not in new:
            out.append(f"-{name}")
        elif name not in running:
            out.append(f"+{name} {new[name]}")
        elif running[name] != new[name]:
            out.append(f"{name} {running[name]} -> {new[name]}")
    return out
