"""``vigilcam recordings list | export | delete | verify``.

Owns the command-line access to recordings that outside checks rely on.
Serves TAICS 5.5.1.1 (an export opens an "export" viewing session: a security event, hence an
alert), IoT-1005-1 5.7.1.1 (delete by range) and 5.4.1.2 (decryption happens in memory; the
only plaintext written is the MP4 the owner asked for) and the integrity of evidence (``verify``
checks every segment against its place on the timeline; exit 1 naming each refused segment).
Times are ISO-8601 or epoch seconds.

The CLI never runs recovery (the service may be recording right now): it sees finished
segments only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from vigilcam.platform.events import Event

CLI = "cli"


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _range(args: argparse.Namespace, *, required: bool) -> tuple[float | None, float | None]:
    from vigilcam.platform.cli_kit import EXIT_USAGE, CliError
    from vigilcam.recording.service import parse_time

    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else None
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if required and (start is None or end is None):
        raise CliError("give the range with --from T --to T", EXIT_USAGE)
    if start is not None and end is not None and end <= start:
        raise CliError("--to must be after --from", EXIT_USAGE)
    return start, end


def cmd_recordings(args: argparse.Namespace) -> int:
    from vigilcam.platform.cli_kit import EXIT_FAIL, EXIT_OK, CliError, confirm, host_of
    from vigilcam.recording.erase import delete_range
    from vigilcam.recording.playback import ExportError, export_range
    from vigilcam.recording.service import list_recordings, open_device_store
    from vigilcam.recording.verify import verify_segments

    start, end = _range(args, required=args.rec_cmd in ("export", "delete"))
    if args.rec_cmd == "delete":
        confirm(args, f"Delete every recording from {_iso(start)} to {_iso(end)}?")
    device = host_of(args).open_device(args)
    store = None
    try:
        store = open_device_store(device)
        if args.rec_cmd == "list":
            listing: dict[str, Any] = (
                {"segments": [], "spans": []} if store is None
                else list_recordings(store, start, end).to_json()
            )
            if args.json:
                print(json.dumps(listing, indent=1))
            else:
                for span in listing["spans"]:
                    print(f"{_iso(span['start'])}  ->  {_iso(span['end'])}  "
                          f"{span['end'] - span['start']:8.1f} s  {span['segments']:5d} "
                          f"segments  {','.join(span['triggers'])}")
                print(f"{len(listing['segments'])} segments")
            return EXIT_OK
        if args.rec_cmd == "verify":
            if store is None:
                print("recordings OK: nothing was recorded on this device")
                return EXIT_OK
            checked = verify_segments(store, start, end)
            device.record(Event.RECORDING_VERIFIED, result="ok" if checked.ok else "failure",
                          user=CLI, source=CLI, segments=checked.verified + checked.legacy,
                          refused=checked.bad_segments[:20])
            for problem in checked.problems:
                print(f"TAMPERED: {problem}")
            if checked.ok:
                print(f"recordings OK: {checked.verified} segments verified against the "
                      "timeline" + (f", {checked.legacy} of the legacy format (times not bound)"
                                    if checked.legacy else ""))
                return EXIT_OK
            return EXIT_FAIL
        assert start is not None and end is not None
        if args.rec_cmd == "export":
            if store is None:
                raise CliError("nothing was recorded on this device")
            out = Path(args.output)
            viewers = device.services.viewers
            session = viewers.open(CLI, CLI, "export", "main")
            refusals: list[str] = []

            def refused(rec: Any, message: str) -> None:
                refusals.append(message)
                device.record(Event.RECORDING_SEGMENT_REFUSED, result="failure", user=CLI,
                              source=CLI, segment_id=str(rec.id), error=message[:200])

            try:
                result = export_range(store, start, end, out, "main", refused)
            except ExportError as exc:
                device.record(Event.RECORDING_EXPORTED, result="failure", user=CLI, source=CLI,
                              start=_iso(start), end=_iso(end), error=str(exc))
                raise CliError("; ".join([str(exc), *refusals])) from None
            finally:
                viewers.closed(session, reason="done")
            device.record(Event.RECORDING_EXPORTED, user=CLI, source=CLI, start=_iso(start),
                          end=_iso(end), segments=len(result.segments_used),
                          refused=len(result.segments_refused),
                          duration=round(result.duration, 3))
            print(f"exported {result.duration:.2f} s from {len(result.segments_used)} segments "
                  f"to {out}")
            for rec, why in result.segments_refused:
                print(f"  skipped segment {rec.id}: {why}")
            return EXIT_OK if result.segments_used else EXIT_FAIL
        if args.rec_cmd == "delete":
            if store is None:
                print("deleted 0 segments")
                return EXIT_OK
            report = delete_range(store, start, end)
            device.record(Event.RECORDING_DELETED, user=CLI, source=CLI, start=_iso(start),
                          end=_iso(end), segments=report.segments, bytes=report.bytes_freed)
            print(f"deleted {report.segments} segments ({report.bytes_freed} bytes)")
            return EXIT_OK
        raise CliError(f"unknown recordings command {args.rec_cmd}")
    finally:
        if store is not None:
            store.index.close()
        device.close()


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from vigilcam.platform.cli_kit import add_data_dir

    p = sub.add_parser("recordings", help="list, export or delete recordings")
    rsub = p.add_subparsers(dest="rec_cmd", required=True)

    def with_range(q: argparse.ArgumentParser) -> argparse.ArgumentParser:
        q.add_argument("--from", dest="start", metavar="T",
                       help="start: ISO-8601 (2026-11-23T17:00:00Z) or epoch seconds")
        q.add_argument("--to", dest="end", metavar="T", help="end (exclusive)")
        return q

    q = with_range(add_data_dir(rsub.add_parser("list", help="recorded spans and segments")))
    q.add_argument("--json", action="store_true")
    q = with_range(add_data_dir(rsub.add_parser("export", help="export a range as MP4")))
    q.add_argument("output", metavar="OUT.mp4")
    with_range(add_data_dir(rsub.add_parser(
        "verify", help="check every segment against its place on the timeline; exit 1 if not")))
    q = with_range(add_data_dir(rsub.add_parser("delete", help="delete a range")))
    q.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_recordings)
