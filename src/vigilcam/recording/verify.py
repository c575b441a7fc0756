"""Verify every recorded segment against the index: the evidence check behind
``vigilcam recordings verify``.

Owns the judgement "is this recording the footage the timeline says it is". Serves the
integrity of evidence (IoT-1005-1 5.4.1.2 authenticated storage; TAICS 5.2.8.1, a failed check
is a security event recorded by the caller): each segment is decrypted whole with the start
time, end time and timeline seq the index holds (``segment_format.check_timeline``), so edited
or swapped times, reordered or moved footage, and any tampered byte are named per segment.

Invariants:
- Nothing is written; plaintext lives in memory one segment at a time.
- The index alone proves nothing: a row's start, end and seq count only once the segment file
  bound to them authenticated (the order of seqs is not judged separately: a clock step back
  may legitimately start a later segment earlier, and each header already binds its own seq).
- Legacy (format 1) segments are counted and reported as not bound to the timeline, never as
  verified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigilcam.recording.segment_format import SegmentFormatError
from vigilcam.recording.store import SegmentStore


@dataclass
class SegmentsReport:
    verified: int = 0
    legacy: int = 0
    problems: list[str] = field(default_factory=list)
    bad_segments: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_segments(
    store: SegmentStore, start: float | None = None, end: float | None = None
) -> SegmentsReport:
    report = SegmentsReport()
    records = store.index.query(start, end)
    for rec in records:
        try:
            store.read_all(rec)
        except SegmentFormatError as exc:
            report.problems.append(f"segment {rec.id} ({rec.path}): {exc}")
            report.bad_segments.append(str(rec.id))
            continue
        except OSError as exc:
            report.problems.append(f"segment {rec.id} ({rec.path}): unreadable: "
                                   f"{exc.strerror or exc}")
            report.bad_segments.append(str(rec.id))
            continue
        if rec.seq is None:
            report.legacy += 1
        else:
            report.verified += 1
    return report
