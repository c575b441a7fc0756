"""A recorder process to be killed with SIGKILL at random moments (test_rec_crash.py).

argv: DATA_DIR KEY_FILE PACKETS_PICKLE. Runs ``recover()`` like a restart, prints its actions
as one JSON line, prints "ready", then records the pattern forever (8x real time, 0.3 s
segments, 256-byte chunks, so kills land in every phase: chunk writes, fsync, rename, index).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from rec_support import retime  # noqa: E402

from vigilcam.recording.index import SegmentIndex  # noqa: E402
from vigilcam.recording.planner import PlannerSettings  # noqa: E402
from vigilcam.recording.recorder import Recorder, RecorderSettings  # noqa: E402
from vigilcam.recording.store import SegmentStore  # noqa: E402


class Forever:
    def __init__(self, info, packets) -> None:
        self.info = info
        self.packets = packets
        self.closed = False
        self.close_reason = None

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        n = self.packets[-1].dts // 3000 + 1
        base = time.time()
        k = 0
        while not self.closed:
            for p in retime(self.packets, k * n, wallclock0=base):
                yield p
                await asyncio.sleep(1 / 240)
            k += 1

    def close(self) -> None:
        self.closed = True


async def main() -> None:
    data, key_file, pk = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    info, packets = pickle.loads(pk.read_bytes())
    index = SegmentIndex(data / "recordings.db")
    store = SegmentStore(data / "recordings", key_file.read_bytes(), index, chunk_size=256)
    actions = store.recover()
    print(json.dumps([a.to_json() for a in actions]), flush=True)
    print("ready", flush=True)
    source = Forever(info, packets)
    rec = Recorder(store, "main", lambda: source,
                   settings=RecorderSettings(planner=PlannerSettings(segment_seconds=0.3),
                                             fragment_seconds=0.1))
    await rec.run()


if __name__ == "__main__":
    asyncio.run(main())
