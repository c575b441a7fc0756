"""Cost of encryption at rest for recordings (docs/performance.md 'Recording').

Prints, each with a reference measured in the same run and the ratio:
- CPU time to write segments (fMP4 mux + AES-256-GCM chunks + fsync + rename + index) vs the
  same steps writing plaintext;
- raw AES-256-GCM segment encryption throughput vs a plain memory copy;
- playback start time (index query + read + authenticate + decrypt the first segment) vs reading
  the same plaintext file;
- export throughput (decrypt + remux to a faststart MP4) vs remuxing the plaintext file;
- disk overhead of the segment format in percent of the plaintext size.

Run: .venv/bin/python benchmarks/recording_crypto.py [--seconds 20] [--width 1280 --height 720]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vigilcam.media import fmp4
from vigilcam.media.types import PTS_CLOCK, EncodedPacket, StreamInfo
from vigilcam.platform.fsutil import fsync_dir
from vigilcam.recording.index import SegmentIndex
from vigilcam.recording.playback import export_mp4, iter_playback
from vigilcam.recording.segment_format import DEFAULT_CHUNK_SIZE, SegmentWriter
from vigilcam.recording.store import SegmentStore


def split_annexb(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    for part in data.split(b"\x00\x00\x01"):
        part = part.rstrip(b"\x00")
        if part:
            out.append(part)
    return out


def encode(seconds: float, width: int, height: int, fps: int) -> tuple[StreamInfo, list[EncodedPacket]]:
    cc = av.CodecContext.create("libx264", "w")
    cc.width, cc.height, cc.pix_fmt = width, height, "yuv420p"
    cc.time_base = Fraction(1, fps)
    cc.framerate = Fraction(fps, 1)
    cc.bit_rate = 2_000_000
    cc.options = {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0:repeat-headers=1",
    }
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    raw = []
    for i in range(int(seconds * fps)):
        img = np.roll(base, i * 4, axis=1)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        raw += [(p.pts, p.is_keyframe, bytes(p)) for p in cc.encode(frame)]
    raw += [(p.pts, p.is_keyframe, bytes(p)) for p in cc.encode(None)]
    step = PTS_CLOCK // fps
    sps = pps = b""
    packets = []
    t0 = time.time()
    for pts, key, data in raw:
        nals = [n for n in split_annexb(data) if n[0] & 0x1F != 9]
        for n in nals:
            sps = sps or (n if n[0] & 0x1F == 7 else b"")
            pps = pps or (n if n[0] & 0x1F == 8 else b"")
        packets.append(EncodedPacket("main", tuple(nals), pts * step, pts * step, bool(key),
                                     t0 + pts / fps))
    return StreamInfo("main", width, height, float(fps), sps, pps), packets


def segments_of(packets: list[EncodedPacket], seconds: float) -> list[list[EncodedPacket]]:
    out: list[list[EncodedPacket]] = []
    for p in packets:
        if p.keyframe and (not out or p.dts - out[-1][0].dts >= seconds * PTS_CLOCK):
            out.append([])
        if out:
            out[-1].append(p)
    return out


def mux(info: StreamInfo, seg: list[EncodedPacket]) -> list[bytes]:
    """init segment + one fragment per GOP, as the recorder does."""
    parts = [fmp4.init_segment(info)]
    gop: list[EncodedPacket] = []
    seq = 1
    for p in seg:
        if p.keyframe and gop:
            parts.append(fmp4.fragment(gop, seq, gop[0].dts - seg[0].dts))
            seq += 1
            gop = []
        gop.append(p)
    if gop:
        parts.append(fmp4.fragment(gop, seq, gop[0].dts - seg[0].dts))
    return parts


def write_plain(root: Path, index: SegmentIndex, parts: list[bytes], start: float) -> Path:
    """The same durable steps as SegmentStore, without encryption (the reference)."""
    sid = uuid.uuid4()
    index.add_writing(sid, "main", start, "continuous", f"{sid}.mp4")
    final = root / f"{sid}.mp4"
    partial = root / f"{sid}.mp4.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for part in parts:
            os.write(fd, part)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, final)
    fsync_dir(root)
    index.mark_complete(sid, start + 1, final.stat().st_size)
    return final


def cpu(fn: Callable[[], object]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def wall(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--segment", type=float, default=4.0)
    args = ap.parse_args()

    print(f"encoding {args.seconds:.0f} s of {args.width}x{args.height}@{args.fps} test video...",
          file=sys.stderr)
    info, packets = encode(args.seconds, args.width, args.height, args.fps)
    segs = segments_of(packets, args.segment)
    muxed = [mux(info, s) for s in segs]
    media_bytes = sum(len(b) for parts in muxed for b in parts)
    key = os.urandom(32)
    rows: list[tuple[str, str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "plain").mkdir()
        plain_index = SegmentIndex(root / "plain.db")
        index = SegmentIndex(root / "enc.db")
        store = SegmentStore(root / "enc", key, index, chunk_size=DEFAULT_CHUNK_SIZE)
        span = args.segment * (len(segs) + 1)
        plain_files: list[Path] = []
        t0 = 1_700_000_000.0

        def run_plain() -> None:
            plain_files.clear()
            for i, s in enumerate(segs):
                plain_files.append(write_plain(root / "plain", plain_index, mux(info, s),
                                               t0 + i * args.segment))

        def run_enc() -> None:
            for i, s in enumerate(segs):
                seg = store.open_segment("main", t0 + i * args.segment, "continuous")
                for part in mux(info, s):
                    seg.write(part)
                seg.commit(t0 + (i + 1) * args.segment)

        plain_runs, enc_runs = [], []
        for k in range(3):  # interleaved, median: the same disk and cache state for both
            t0 = 1_700_000_000.0 + k * span
            plain_runs.append(cpu(run_plain))
            enc_runs.append(cpu(run_enc))
        c_plain = statistics.median(plain_runs)
        c_enc = statistics.median(enc_runs)
        rows.append(("CPU to record (mux+write+fsync+index)",
                     f"{c_enc * 1000 / args.seconds:.2f} ms per s of video (encrypted)",
                     f"{c_plain * 1000 / args.seconds:.2f} ms (plaintext)",
                     f"{c_enc / c_plain:.2f}x"))

        blob = b"".join(muxed[0]) * 8

        class Null:
            def write(self, data: bytes, /) -> int:
                return len(data)

        def aes() -> None:
            w = SegmentWriter(Null(), key, uuid.uuid4(), "main")
            w.write(blob)
            w.finish()

        def copy() -> None:
            sink, view = Null(), memoryview(blob)
            for i in range(0, len(blob), DEFAULT_CHUNK_SIZE):
                sink.write(bytes(view[i : i + DEFAULT_CHUNK_SIZE]))

        t_aes = wall(aes)
        t_copy = wall(copy)
        rows.append(("AES-256-GCM segment encryption",
                     f"{len(blob) / t_aes / 1e6:.0f} MB/s",
                     f"{len(blob) / t_copy / 1e6:.0f} MB/s (same chunks, copied only)",
                     f"{t_aes / t_copy:.1f}x time"))

        first_plain = plain_files
        recs = index.query(t0, t0 + span)  # the last run

        def start_enc() -> bytes:
            return next(iter_playback(store, recs[0].start, recs[-1].end)).data

        def start_plain() -> bytes:
            plain_index.query(t0, t0 + 1)
            return first_plain[0].read_bytes()

        s_enc = wall(start_enc, 9)
        s_plain = wall(start_plain, 9)
        rows.append(("playback start (first segment ready)", f"{s_enc * 1000:.2f} ms",
                     f"{s_plain * 1000:.2f} ms (plaintext read)", f"{s_enc / s_plain:.1f}x"))

        out = root / "export.mp4"
        e_enc = wall(lambda: export_mp4(store, recs, recs[0].start, recs[-1].end + 1, out), 3)

        def export_plain() -> None:
            ref = root / "ref.mp4"
            with av.open(str(ref), "w", format="mp4", options={"movflags": "+faststart"}) as o:
                ost = None
                offset = 0
                for f in plain_files:
                    with av.open(str(f)) as i:
                        vs = i.streams.video[0]
                        if ost is None:
                            ost = o.add_stream_from_template(vs)
                        end = offset
                        for p in i.demux(vs):
                            if p.dts is None:
                                continue
                            p.dts += offset
                            p.pts += offset
                            end = max(end, p.dts + (p.duration or 0))
                            p.stream = ost
                            o.mux(p)
                        offset = end

        e_plain = wall(export_plain, 3)
        mb = media_bytes / 1e6
        rows.append(("export throughput (decrypt+remux)",
                     f"{mb / e_enc:.0f} MB/s = {args.seconds / e_enc:.0f}x real time",
                     f"{mb / e_plain:.0f} MB/s (plaintext remux)", f"{e_plain / e_enc:.2f}x"))

        enc_bytes = sum(r.size for r in recs)
        rows.append(("disk overhead of the format",
                     f"{(enc_bytes / media_bytes - 1) * 100:.3f} % ({enc_bytes - media_bytes} B)",
                     f"{media_bytes} B plaintext fMP4",
                     f"{enc_bytes / media_bytes:.5f}x"))
        index.close()
        plain_index.close()

    print(f"\nrecording_crypto: {len(segs)} segments of ~{args.segment:.0f} s, "
          f"{media_bytes / 1e6:.1f} MB of {args.width}x{args.height} H.264")
    w = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("figure", "measured", "reference (same run)", "ratio")
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(head)))
    for r in rows:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))


if __name__ == "__main__":
    main()
