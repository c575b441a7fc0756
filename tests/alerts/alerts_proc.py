"""A device process for the crash test: runs the AlertService against a data dir, optionally
records view events, and waits to be killed. Usage: alerts_proc.py DATA_DIR record|serve"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.alerts.conftest import FAST, alert_settings  # noqa: E402
from vigilcam.alerts.service import AlertService  # noqa: E402
from vigilcam.app import mark_running, open_device  # noqa: E402
from vigilcam.platform.paths import DataPaths  # noqa: E402


async def main(data_dir: str, mode: str) -> None:
    device = open_device(DataPaths(Path(data_dir)), alert_settings())
    service = AlertService(device, policy=FAST, backoff_base_s=0.2, backoff_cap_s=0.5,
                           poll_s=0.1)
    mark_running(device)  # a leftover marker means the previous run died: power-loss alert
    await service.start()
    if mode == "record":
        for n in range(5):
            device.record("video.view_started", user=f"viewer{n}", source=f"10.1.0.{n}",
                          stream="main")
    print("READY", flush=True)
    await asyncio.sleep(600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
