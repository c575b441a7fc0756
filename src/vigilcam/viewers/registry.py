"""The registry of viewing sessions: no unseen viewer.

Owns the list of who is watching what, from where, since when. Serves TAICS 5.5.1.1 (every
new access raises an active alert, and the owner sees who is watching: each new viewing session
is a security event through ``record()``, which the alert service turns into an alert) and
IoT-1005-1 5.1.2.1 (an admin can end any viewing session).

Every edge that hands out video (web live view, RTSPS, snapshots, playback, export) opens a
session here before the first byte and closes it after the last; an admin's ``end()`` calls the
edge's close callback. Privacy mode lives here too, since it is a rule about viewing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Recorder = Callable[..., Any]


@dataclass
class ViewingSession:
    id: str
    user: str
    source: str
    kind: str  # "web-live" | "rtsps" | "snapshot" | "playback" | "export"
    stream: str
    since: float
    close: Callable[[], None] = field(repr=False, default=lambda: None)

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

    def open(
        self, user: str, source: str, kind: str, stream: str,
        close: Callable[[], None] = lambda: None,
    ) -> ViewingSession:
        """Register a new viewer (raises PrivacyModeOn while privacy mode is on)."""
        if self._privacy:
            raise PrivacyModeOn("privacy mode is on: video is switched off")
        session = ViewingSession(secrets.token_hex(8), user, source, kind, stream, time.time(),
                                 close)
        with self._lock:
            self._sessions[session.id] = session
        self._record("video.view_started", user=user, source=source, kind=kind, stream=stream,
                     viewing_id=session.id)
        return session

    def closed(self, session: ViewingSession, reason: str = "ended") -> None:
        with self._lock:
            if self._sessions.pop(session.id, None) is None:
                return
        self._record("video.view_ended", user=session.user, source=session.source,
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
        self._record("video.view_terminated", user=by, target=session.user,
                     source=session.source, kind=session.kind, viewing_id=session.id)
        session.close()
        self.closed(session, reason=f"ended by {by}")
        return True

    @property
    def privacy(self) -> bool:
        return self._privacy

    def set_privacy(self, enabled: bool, by: str, source: str) -> None:
        if enabled == self._privacy:
            return
        self._privacy = enabled
        self._record("video.privacy_mode", user=by, source=source, enabled=enabled)
        for listener in list(self._privacy_listeners):
            listener(enabled)
        if enabled:
            for session in self.list():
                session.close()
                self.closed(session, reason="privacy mode")

    def on_privacy_change(self, listener: Callable[[bool], None]) -> None:
        self._privacy_listeners.append(listener)
