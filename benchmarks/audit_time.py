"""Time a full local audit and a remote audit of one target (target: under 60 s each).

Runs on loopback only: a real ``vigilcam run`` subprocess (local audit with the service
running, then a remote audit of it with the owner probes) and the test suite's deliberately
weak camera (remote audit). Reference measured in the same run: one bare sslyze scan of the
same HTTPS port, the single most expensive step. Prints a table: figure, reference, ratio.

    .venv/bin/python benchmarks/audit_time.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.compliance.conftest import make_clean_host  # noqa: E402
from tests.compliance.weak_camera import WeakCamera  # noqa: E402
from tests.support import free_port, start_server  # noqa: E402
from vigilcam.compliance.audit import run_local, run_remote  # noqa: E402
from vigilcam.compliance.host_facts import HostRoot  # noqa: E402
from vigilcam.compliance.remote import DEFAULT_PORTS, Target, collect  # noqa: E402
from vigilcam.compliance.state import LocalContext  # noqa: E402
from vigilcam.compliance.tls_scan import scan  # noqa: E402
from vigilcam.platform.paths import DataPaths  # noqa: E402

warnings.filterwarnings("ignore")
TARGET_S = 60.0


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="vc-audit-bench-"))
    rows = []
    srv = start_server(work / "data")
    try:
        ref_s, _ = timed(lambda: scan("127.0.0.1", srv.port))
        paths = DataPaths(srv.data_dir)
        local_s, local = timed(lambda: run_local(LocalContext(paths, host=HostRoot(Path("/")))))
        rows.append(("local audit, service running, real host", local_s, local))
        clean = make_clean_host(work / "host")
        idle_srv_s, _ = timed(lambda: run_local(LocalContext(paths, host=clean)))
        rows.append(("local audit, service running, fake host", idle_srv_s, None))
        # the full default port list of the CLI, on loopback
        plan = dict(DEFAULT_PORTS)
        remote_s, remote = timed(lambda: run_remote(collect(
            Target("127.0.0.1", srv.port), owner=True, ports=plan)))
        rows.append(("remote audit of vigilcam (default ports, owner probes)", remote_s, remote))
    finally:
        srv.kill()
    cam = WeakCamera(work).start()
    try:
        plan = {cam.http_port: "http", cam.rtsp_port: "rtsp", free_port(): "telnet"}
        weak_s, weak = timed(lambda: run_remote(collect(
            Target("127.0.0.1", cam.https_port), owner=True, ports=plan)))
        rows.append(("remote audit of the weak camera (owner probes)", weak_s, weak))
    finally:
        cam.stop()
    print(f"{'measurement':58} {'seconds':>8} {'ref sslyze s':>12} {'ratio':>7} {'target':>7}")
    for name, seconds, report in rows:
        verdicts = f"  ({report.counts()['PASS']} pass, {report.counts()['FAIL']} fail)" \
            if report is not None else ""
        print(f"{name:58} {seconds:8.2f} {ref_s:12.2f} {seconds / ref_s:7.1f} "
              f"{'ok' if seconds < TARGET_S else 'SLOW':>7}{verdicts}")


if __name__ == "__main__":
    main()
