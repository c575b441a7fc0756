"""What updates and verified start cost: manifest check at start, package crypto, TUF check.

Owns the update numbers (TAICS 5.1.4.1: verified start delays every start; IoT-1005-1 5.3.1.2:
a TUF check and an encrypted package). Each figure has a reference measured in the same run:
- verify_installed on the whole vigilcam package vs just reading every file (the floor);
- AES-256-GCM decrypt of a release package vs copying the same bytes in memory;
- a full TUF check (root/timestamp/snapshot/targets over HTTPS, fresh cache) vs one HTTPS GET
  of the timestamp file with the same TLS policy on the same loopback server.

Run: ``.venv/bin/python benchmarks/update_costs.py [--n 20]`` (about 15 s).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from tests.update.helpers import (  # noqa: E402
    HttpsFileServer,
    make_pki,
    new_repository,
    package_copy,
)
from vigilcam.platform.tls import client_context  # noqa: E402
from vigilcam.update import package  # noqa: E402
from vigilcam.update.client import UpdateClient  # noqa: E402
from vigilcam.update.manifest import MANIFEST_NAME, verify_installed  # noqa: E402


def median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    n = ap.parse_args().n
    rows = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        key = Ed25519PrivateKey.generate()
        tree = package_copy(tmp / "build", "0.2.0", code_key=key)
        pkg = tree / "vigilcam"
        files = [p for p in pkg.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)

        def read_all() -> None:
            for p in files:
                p.read_bytes()

        verify = median_ms(lambda: verify_installed(pkg / MANIFEST_NAME, key.public_key()), n)
        floor = median_ms(read_all, n)
        rows.append((f"verify code manifest ({len(files)} files, {size / 1e6:.1f} MB)",
                     verify, "read every file", floor))

        tar = package.build_tar(tree)
        pkey = package.new_key()
        blob = package.encrypt(tar, pkey, "vigilcam.pkg", "0.2.0")
        dec = median_ms(lambda: package.decrypt(blob, pkey, "vigilcam.pkg", "0.2.0"), n)
        copy = median_ms(lambda: bytes(bytearray(blob)), n)
        rows.append((f"AES-256-GCM decrypt package ({len(blob) / 1e6:.1f} MB)", dec,
                     "copy the same bytes", copy))

        repo = new_repository(tmp / "repo")
        repo.publish("0.2.0", tar)
        pki = make_pki(tmp / "pki")
        ctx = client_context(cafile=pki.ca_file)
        with HttpsFileServer(repo.folder, pki) as server:
            count = [0]

            def tuf_check() -> None:
                count[0] += 1
                d = tmp / f"dev{count[0]}"
                UpdateClient(metadata_dir=d / "m", downloads_dir=d / "d",
                             trusted_root=repo.trusted_root(), repository_url=server.url,
                             context=ctx).check("0.1.0")

            def one_get() -> None:
                conn = http.client.HTTPSConnection("localhost", server.port, context=ctx)
                conn.request("GET", "/metadata/timestamp.json")
                conn.getresponse().read()
                conn.close()

            check = median_ms(tuf_check, n)
            get = median_ms(one_get, n)
        rows.append(("TUF check, fresh cache (4+ HTTPS fetches, verify)", check,
                     "one HTTPS GET (timestamp.json)", get))

    print(f"{'figure':<52} {'ms':>9}  {'reference':<34} {'ms':>9} {'ratio':>7}")
    for name, value, ref_name, ref in rows:
        print(f"{name:<52} {value:>9.2f}  {ref_name:<34} {ref:>9.2f} {value / ref:>7.1f}")


if __name__ == "__main__":
    main()
