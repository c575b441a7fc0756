"""What the Debian package and its update channel cost on a real install (docs/install.md).

Owns the packaging numbers (IoT-1005-1 5.3.1.1-5.3.1.3, TAICS 5.1.4.1). Each figure has a
reference measured in the same run:
- package size (compressed .deb, installed size) per architecture built;
- install to first HTTPS answer (apt-get install, postinst provisioning, start as the unit
  does, first TLS answer) vs unpacking the same .deb with ``dpkg-deb -x``;
- update check with nothing new (``vigilcam update check``) vs ``curl`` fetching the same
  metadata bytes from the same HTTPS server;
- full update to 0.1.1 (download, verify, install into the slot, health check, switch) vs
  ``curl`` fetching the same metadata and package bytes;
- verified start (the signed manifest check of the installed slot) vs reading every file.

Needs root on Debian (it installs and purges the package). Run:
``sudo PYTHONPATH=src .venv/bin/python benchmarks/packaging_costs.py [--arm64-deb PATH]``
(about 4 minutes: one release build with gzip, one install, one update).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.packaging.conftest import Built, build, generate_keys  # noqa: E402
from tests.packaging.test_device import (  # noqa: E402
    INSTALL_ROOT,
    Device,
    vc,
)


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def curl(device: Device, paths: list[str], out: Path) -> float:
    """One curl process fetching ``paths`` over HTTPS from the repository server (the floor)."""
    args = ["curl", "-sS", "--fail", "--cacert", str(device.pki.ca_file)]
    for p in paths:
        args += ["-o", str(out / p.replace("/", "_")), f"{device.repo_server.url}/{p}"]
    t, done = timed(lambda: subprocess.run(args, capture_output=True, text=True))
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    return t


def installed_size(deb: Path) -> int:
    return int(subprocess.run(["dpkg-deb", "-f", str(deb), "Installed-Size"],
                              capture_output=True, text=True).stdout.strip()) * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--arm64-deb", help="an arm64 .deb built with make release ARCH=arm64")
    ap.add_argument("--xz-deb", help="the amd64 .deb make release built (xz) for its size")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark installs and purges the package")
    rows: list[tuple[str, float, str, float]] = []
    sizes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        keys = generate_keys(tmp / "keys")
        t_build, done = timed(lambda: build(tmp / "dist", keys))
        assert done.returncode == 0, done.stderr[-2000:]  # type: ignore[attr-defined]
        deb = next((tmp / "dist").glob("vigilcam_*.deb"))
        built = Built(tmp / "dist", deb, keys, tmp / "dist" / "repo", t_build)
        for label, path in (("amd64 (gzip, as the tests build)", deb),
                            ("amd64 (xz, make release)", args.xz_deb),
                            ("arm64 (xz, make release ARCH=arm64)", args.arm64_deb)):
            if path:
                p = Path(path)
                sizes.append(f"| {label} | {p.stat().st_size / 1e6:.1f} MB | "
                             f"{installed_size(p) / 1e6:.0f} MB |")
        t_unpack, _ = timed(lambda: subprocess.run(["dpkg-deb", "-x", str(deb),
                                                    str(tmp / "unpacked")], check=True))
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        start = time.perf_counter()
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", str(deb)],
                       check=True, capture_output=True, env=env)
        t_apt = time.perf_counter() - start
        shared = Path(tempfile.mkdtemp(prefix="vigilcam-bench-"))
        shared.chmod(0o755)
        device = Device(built, shared)
        try:
            device.start()
            t_first = time.perf_counter() - start
            rows.append(("install to first HTTPS answer (apt-get + start)", t_first,
                         "dpkg-deb -x of the same package", t_unpack))
            rows.append(("  of which apt-get install (postinst provisioning)", t_apt,
                         "dpkg-deb -x", t_unpack))
            assert vc("update", "configure", "--url", device.repo_server.url, "--ca",
                      str(device.pki.ca_file)).returncode == 0
            vc("update", "check")  # the first check fills the TUF cache
            meta = ["metadata/timestamp.json"]
            snap = sorted((device.repo_dir / "metadata").glob("*.snapshot.json"))[-1].name
            targ = sorted((device.repo_dir / "metadata").glob("*.targets.json"))[-1].name
            checks = [timed(lambda: vc("update", "check"))[0] for _ in range(5)]
            ref = [curl(device, [*meta, f"metadata/{snap}", f"metadata/{targ}"], tmp)
                   for _ in range(5)]
            rows.append(("update check, nothing new (CLI, incl. Python start)",
                         sorted(checks)[2], "curl: timestamp+snapshot+targets", sorted(ref)[2]))
            blob = device.publish("0.1.1")
            snap = sorted((device.repo_dir / "metadata").glob("*.snapshot.json"))[-1].name
            targ = sorted((device.repo_dir / "metadata").glob("*.targets.json"))[-1].name
            t_update, out = timed(lambda: vc("update", "install", "--yes", timeout=300))
            assert out.returncode == 0, out.stdout + out.stderr  # type: ignore[attr-defined]
            t_ref = curl(device, [*meta, f"metadata/{snap}", f"metadata/{targ}",
                                  f"targets/{blob.name}"], tmp)
            rows.append((f"full update to 0.1.1 ({blob.stat().st_size / 1e6:.1f} MB package: "
                         "download, verify, install, health check, switch)", t_update,
                         "curl: the same metadata and package", t_ref))
            from vigilcam.update.manifest import verify_start

            slot = INSTALL_ROOT / "current" / "vigilcam"
            key = Path("/usr/share/vigilcam/trust/code-signing.pub")
            verify = [timed(lambda: verify_start(slot, key))[0] for _ in range(9)]
            files = [p for p in slot.rglob("*") if p.is_file()]
            read = [timed(lambda: [p.read_bytes() for p in files])[0] for _ in range(9)]
            rows.append((f"verified start: manifest check of the slot ({len(files)} files)",
                         sorted(verify)[4], "read every file", sorted(read)[4]))
        finally:
            device.close()
            subprocess.run(["apt-get", "purge", "-y", "vigilcam"], capture_output=True,
                           env=env)
    print(f"release build (gzip, wheels cached): {t_build:.1f} s")
    print("| package | .deb | installed |")
    print("|---|---|---|")
    print("\n".join(sizes))
    print()
    print("| figure | s | reference | s | ratio |")
    print("|---|---|---|---|---|")
    for name, value, ref_name, ref in rows:
        print(f"| {name} | {value:.3f} | {ref_name} | {ref:.3f} | {value / ref:.1f} |")


if __name__ == "__main__":
    main()
