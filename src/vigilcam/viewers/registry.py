"""The registry of viewing sessions: no unseen viewer.

Owns the list of who is watching what, from where, since when. Serves TAICS 5.5.1.1 (every
new access raises an active alert, and the owner sees who is watching: each new viewing session
is a security event through ``record()``, which the alert service turns into an alert) and
IoT-1005-1 5.1.2.1 (an admin can end any viewing session).

Every edge that hands out video (web live view, RTSPS, snapshots, playback, export) opens a
session here before the first byte and closes it after the last; an admin's ``end()`` calls the
edge's close callback. Privacy mode lives here too, since it is a rule about viewing.

A session opened with an admission (``viewers/revocation.py``) is re-checked while it runs;
``revoke()`` ends one whose grant is gone (account disabled, password changed, session ended,
role changed, credential revoked, privacy mode): the edge's close callback cuts the stream, the
reason is kept on the session and in a short list of recent revocations, and the security log
gets ``video.view_revoked`` (user, interface, reason) before ``video.view_ended``.
"""

from __future__ import annotations

import builtins
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from vigilcam.platform.events import Event, Record

Recorder = Record
RECENT_REVOCATIONS = 50


@dataclass
class ViewingSession:
    id: str
    user: str
    source: str
    kind: str  # "web-live" | "rtsps" | "snapshot" | "playback" | "export"
    stream: str
    since: float
    close: Callable[[], None] = field(repr=False, default=lambda: None)
    admission: object = field(repr=False, default=None)  # revocation.Admission, if re-checked
    revoked: str | None = None  # why the stream was cut, set before the close callback runs

    def public(self) -> dict[str, object]:
        return {"id": self.id, "user": self.user, "source": self.source, "kind": self.kind,
                "stream": self.stream, "since": self.since}


class PrivacyModeOn(Exception):
    """Video is switched off by an administrator."""


class ViewerRegistry:
    def __init__(self, record: Recorder) -> None:
        self._record = record
        self._lock = threading.Lock()
        self._sessions: dict[str, ViewingSession] = {}
        self._privacy = False
        self._privacy_listeners: list[Callable[[bool], None]] = []
        self._revoked: deque[dict[str, object]] = deque(maxlen=RECENT_REVOCATIONS)

    def open(
        self, user: str, source: str, kind: str, stream: str,
        close: Callable[[], None] = lambda: None, admission: object = None,
    ) -> ViewingSession:
        """Register a new viewer (raises PrivacyModeOn while privacy mode is on)."""
        if self._privacy:
            raise PrivacyModeOn("privacy mode is on: video is switched off")
        session = ViewingSession(secrets.token_hex(8), user, source, kind, stream, time.time(),
                                 close, admission)
        with self._lock:
            self._sessions[session.id] = session
        self._record(Event.VIDEO_VIEW_STARTED, user=user, source=source, kind=kind, stream=stream,
                     viewing_id=session.id)
        return session

    def closed(self, session: ViewingSession, reason: str = "ended") -> None:
        with self._lock:
            if self._sessions.pop(session.id, None) is None:
                return
        self._record(Event.VIDEO_VIEW_ENDED, user=session.user, source=session.source,
                     kind=session.kind, stream=session.stream, viewing_id=session.id,
                     seconds=round(time.time() - session.since, 1), reason=reason)

    def once(self, user: str, source: str, kind: str, stream: str) -> None:
        """A one-shot access (a snapshot): logged as a viewing session that ends at once."""
        self.closed(self.open(user, source, kind, stream), reason="done")

    def list(self) -> list[ViewingSession]:
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.since)

    def end(self, session_id: str, by: str) -> bool:
        """An admin ends a viewing session; the edge's close callback cuts the stream."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            return False
        self._record(Event.VIDEO_VIEW_TERMINATED, user=by, target=session.user,
                     source=session.source, kind=session.kind, viewing_id=session.id)
        session.close()
        self.closed(session, reason=f"ended by {by}")
        return True

    def revoke(self, session: ViewingSession, reason: str) -> bool:
        """End a viewer whose grant is gone; False when it had already ended."""
        with self._lock:
            if self._sessions.pop(session.id, None) is None:
                return False
            session.revoked = reason
            self._revoked.append({**session.public(), "ended": time.time(), "reason": reason})
        self._record(Event.VIDEO_VIEW_REVOKED, user=session.user, source=session.source,
                     interface=session.kind, stream=session.stream, viewing_id=session.id,
                     reason=reason)
        self._record(Event.VIDEO_VIEW_ENDED, user=session.user, source=session.source,
                     kind=session.kind, stream=session.stream, viewing_id=session.id,
                     seconds=round(time.time() - session.since, 1), reason=reason)
        session.close()  # after the log: whoever sees the cut finds the reason recorded
        return True

    def revocations(self) -> builtins.list[dict[str, object]]:
        """The most recent revoked viewers, newest last, with the reason."""
        with self._lock:
            return list(self._revoked)

    @property
    def privacy(self) -> bool:
        return self._privacy

    def set_privacy(self, enabled: bool, by: str, source: str) -> None:
        if enabled == self._privacy:
            return
        self._privacy = enabled
        self._record(Event.VIDEO_PRIVACY_MODE, user=by, source=source, enabled=enabled)
        for listener in list(self._privacy_listeners):
            listener(enabled)
        if enabled:
            for session in self.list():
                self.revoke(session, "privacy mode")

    def on_privacy_change(self, listener: Callable[[bool], None]) -> None:
        self._privacy_listeners.append(listener)
