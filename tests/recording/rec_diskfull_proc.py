"""Run inside a private mount namespace on a 8 MiB tmpfs: record, fill the disk, free it,
make the segment folder read-only, then writable again; print the events as JSON. Used by test_rec_recorder."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

from vigilcam.media.hub import StreamHub
from vigilcam.recording import fmp4_probe
from vigilcam.recording.index import SegmentIndex
from vigilcam.recording.planner import PlannerSettings
from vigilcam.recording.recorder import Recorder, RecorderSettings
from vigilcam.recording.store import SegmentStore


async def main(mnt: Path, work: Path) -> dict:
    info, packets = pickle.loads((work / "packets.pickle").read_bytes())
    key = (work / "key").read_bytes()
    index = SegmentIndex(mnt / "recordings.db")  # same disk as the segments
    store = SegmentStore(mnt / "recordings", key, index)
    hub = StreamHub("main")
    hub.set_info(info)
    events: list = []
    rec = Recorder(store, "main", hub.subscribe, on_event=lambda *a: events.append(a),
                   settings=RecorderSettings(planner=PlannerSettings(segment_seconds=0.5),
                                             retry_interval=0.1))
    live = hub.subscribe(max_queue=10_000)
    task = asyncio.create_task(rec.run())
    live_count = 0

    async def viewer() -> None:
        nonlocal live_count
        async for _ in live:
            live_count += 1

    vtask = asyncio.create_task(viewer())
    await asyncio.sleep(0.05)
    phases = {"resume_mark": 0}

    def count(action: str) -> int:
        return sum(1 for e in events if e[0] == action)

    def produce() -> None:
        filler = mnt / "filler"
        phase = 0
        seg_dir = ""
        since = 0
        for i, p in enumerate(packets):
            since += 1
            if phase == 0 and i >= 45:  # the disk fills up (another writer, or old footage)
                with open(filler, "wb") as fh:
                    try:
                        while True:
                            fh.write(b"\0" * 65536)
                            fh.flush()
                    except OSError:
                        pass
                phase, since = 1, 0
            elif phase == 1 and count("recording.write_failed") >= 1 and since > 10:
                filler.unlink()
                phases["resume_mark"] = len(index.all())
                phase, since = 2, 0
            elif phase == 2 and count("recording.resumed") >= 1 and since > 30:
                # read-only: the segment folder becomes a read-only bind mount of itself
                seg_dir = str(mnt / "recordings" / "segments")
                subprocess.run(["mount", "--bind", seg_dir, seg_dir], check=True)
                subprocess.run(["mount", "-o", "remount,bind,ro", seg_dir], check=True)
                phase, since = 3, 0
            elif phase == 3 and count("recording.write_failed") >= 2 and since > 10:
                subprocess.run(["umount", seg_dir], check=True)
                phase, since = 4, 0
            elif phase == 4 and count("recording.resumed") >= 2 and since > 30:
                break
            hub.publish(p)
            time.sleep(1 / 120)
        time.sleep(0.3)
        hub.close()

    await asyncio.to_thread(produce)
    await asyncio.wait_for(task, 30)
    await asyncio.wait_for(vtask, 5)
    segs = index.all()
    ok = True
    for s in segs:
        try:
            fmp4_probe.duration_seconds(store.read_all(s))
        except Exception:  # noqa: BLE001
            ok = False
    return {
        "events": events,
        "published": hub.published,
        "live_packets": live_count,
        "segments_after_resume": len(segs) - phases["resume_mark"],
        "all_decrypt": ok and all(s.state == "complete" for s in segs),
    }


if __name__ == "__main__":
    res = asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
    print(json.dumps(res))
