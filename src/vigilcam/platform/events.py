"""The names of the security events: one typed table, the docs generated from it.

Owns every ``action`` a security-log record (or an alert, or a syslog notice) can carry, what
each means and the clause(s) it serves. Serves TAICS TS 5100-2-1 5.2.8.1 (the log names the
action of every security event; the owner can read what each name means) and, through the alert
rules that match these members, IoT-1005-1 5.8.1.1 and TAICS 5.5.1.1 / 5.1.2.1 / 5.2.8.2.

Invariants:
- Each member's value is the exact string written in the log, so logs written before this
  table existed, exports and tests read the same.
- ``SecurityLog.record`` takes an :class:`Event` (mypy checks every caller) and refuses at run
  time a name that is not a member, so a misspelt name fails where it is made instead of being
  recorded under a name no alert rule matches.
- Every member has an entry in :data:`CATALOGUE`; ``docs/events.md`` is generated from it and
  from the alert rules (``python -m vigilcam.alerts.events_doc > docs/events.md``) and a test
  fails when the document and the code differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

# The clauses this table cites (REQUIREMENTS: IoT-1005-1 section A, TAICS TS 5100-2-1 section B).
LOG = "TAICS 5.2.8.1"  # every security event is logged with time, user and action
LOG_STORE_ALERT = "TAICS 5.2.8.2"  # a log that cannot be stored is alerted
ACCESS_ALERT = "TAICS 5.5.1.1"  # every new access (login, viewer) is alerted
TAMPER_ALERT = "TAICS 5.1.2.1"  # tamper, signal loss and power loss are alerted
HOTPLUG = "TAICS 5.1.1.2"  # plugging and unplugging external ports is logged
SECURE_BOOT = "TAICS 5.1.4.1"  # only verified code runs
LOGIN_ALERT = "IoT-1005-1 5.8.1.1"  # abnormal logins alert the owner with the device ID
DEVICE_ID = "IoT-1005-1 5.1.1.1"
ROLES = "IoT-1005-1 5.1.2.1"
THROTTLE = "IoT-1005-1 5.1.2.2"
SETUP_SECRET = "IoT-1005-1 5.1.3.1"
UPDATE = "IoT-1005-1 5.3.1.1"
UPDATE_CHANNEL = "IoT-1005-1 5.3.1.2"
UPDATE_CHECK = "IoT-1005-1 5.3.1.3"
STORED_DATA = "IoT-1005-1 5.4.1.2"
SERVICES = "IoT-1005-1 5.2.2.1"
RESILIENCE = "IoT-1005-1 5.6.1.1"
ERASE = "IoT-1005-1 5.7.1.1"


class Event(StrEnum):
    """The action of a security event; its value is the name written in the log."""

    # login and sessions
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILURES = "auth.login_failures"
    AUTH_LOCKOUT = "auth.lockout"
    AUTH_NEW_SOURCE = "auth.new_source"
    AUTH_LOGOUT = "auth.logout"
    AUTH_LOGOUT_ALL = "auth.logout_all"
    AUTH_PASSWORD_CHANGED = "auth.password_changed"
    # accounts and credentials
    USER_ADDED = "user.added"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_ROLE_CHANGED = "user.role_changed"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    STREAM_CREDENTIAL_CREATED = "stream_credential.created"
    STREAM_CREDENTIAL_ROTATED = "stream_credential.rotated"
    STREAM_CREDENTIAL_REVOKED = "stream_credential.revoked"
    ONVIF_CREDENTIAL_CREATED = "onvif_credential.created"
    ONVIF_CREDENTIAL_ROTATED = "onvif_credential.rotated"
    ONVIF_CREDENTIAL_REVOKED = "onvif_credential.revoked"
    # viewers
    VIDEO_VIEW_STARTED = "video.view_started"
    VIDEO_VIEW_ENDED = "video.view_ended"
    VIDEO_VIEW_TERMINATED = "video.view_terminated"
    VIDEO_VIEW_REVOKED = "video.view_revoked"
    VIDEO_PRIVACY_MODE = "video.privacy_mode"
    # the picture: tamper, motion, signal
    TAMPER_COVERED = "tamper.covered"
    TAMPER_DEFOCUSED = "tamper.defocused"
    TAMPER_MOVED = "tamper.moved"
    TAMPER_REBASELINED = "tamper.rebaselined"
    MOTION_STARTED = "motion.started"
    MOTION_ENDED = "motion.ended"
    MEDIA_SIGNAL_LOST = "media.signal_lost"
    MEDIA_SIGNAL_RESTORED = "media.signal_restored"
    # the device's life
    DEVICE_PROVISIONED = "device.provisioned"
    DEVICE_STARTED = "device.started"
    DEVICE_STOPPED = "device.stopped"
    DEVICE_UNCLEAN_SHUTDOWN = "device.unclean_shutdown"
    DEVICE_RESTART_REQUESTED = "device.restart_requested"
    DEVICE_FACTORY_RESET = "device.factory_reset"
    DEVICE_SETUP_SECRET_CREATED = "device.setup_secret_created"
    DEVICE_SETUP_SECRET_RETIRED = "device.setup_secret_retired"
    CODE_VERIFICATION_FAILED = "code.verification_failed"
    VAULT_ROLLBACK_DETECTED = "vault.rollback_detected"
    HOST_DEVICE_ADDED = "host.device_added"
    HOST_DEVICE_REMOVED = "host.device_removed"
    HOST_DEVICE_EVENTS_SUPPRESSED = "host.device_events_suppressed"
    HOST_HOTPLUG_UNAVAILABLE = "host.hotplug_unavailable"
    # the security log itself
    SECLOG_ROTATED = "seclog.rotated"
    SECLOG_WRITE_FAILED = "seclog.write_failed"
    SECLOG_TORN_WRITE_REPAIRED = "seclog.torn_write_repaired"
    SECLOG_TAMPERING_DETECTED = "seclog.tampering_detected"
    SECLOG_EXPORTED = "seclog.exported"
    SECLOG_VERIFIED = "seclog.verified"
    SYSLOG_FORWARD_DROPPED = "syslog.forward_dropped"
    # alerts
    ALERTS_CHANNEL_ADDED = "alerts.channel_added"
    ALERTS_CHANNEL_REMOVED = "alerts.channel_removed"
    ALERTS_CHANNEL_FAILING = "alerts.channel_failing"
    ALERTS_CHANNEL_RECOVERED = "alerts.channel_recovered"
    ALERTS_CORRUPT_DROPPED = "alerts.corrupt_dropped"
    ALERTS_TEST = "alerts.test"
    ALERTS_TEST_SENT = "alerts.test_sent"
    ALERTS_OVERFLOW = "alerts.overflow"
    # configuration
    CONFIG_MOTION_CHANGED = "config.motion_changed"
    CONFIG_MOTION_UNREADABLE = "config.motion_unreadable"
    CONFIG_ONVIF_CHANGED = "config.onvif_changed"
    PRIVACY_MASKS_CHANGED = "privacy.masks_changed"
    PRIVACY_ERASE_STARTED = "privacy.erase_started"
    PRIVACY_ERASED = "privacy.erased"
    # updates
    UPDATE_CHECKED = "update.checked"
    UPDATE_CONFIGURED = "update.configured"
    UPDATE_INSTALLED = "update.installed"
    UPDATE_INSTALL_REQUESTED = "update.install_requested"
    UPDATE_REFUSED = "update.refused"
    UPDATE_ROLLED_BACK = "update.rolled_back"
    # recordings
    RECORDING_EXPORTED = "recording.exported"
    RECORDING_DELETED = "recording.deleted"
    RECORDING_MODE_CHANGED = "recording.mode_changed"
    RECORDING_VERIFIED = "recording.verified"
    RECORDING_SEGMENT_REFUSED = "recording.segment_refused"
    RECORDING_RECOVERED = "recording.recovered"
    RECORDING_UNAVAILABLE = "recording.unavailable"
    RECORDING_STOPPED = "recording.stopped"
    RECORDING_WRITE_FAILED = "recording.write_failed"
    RECORDING_RESUMED = "recording.resumed"
    RECORDING_SEGMENT_DROPPED = "recording.segment_dropped"
    RECORDING_RETENTION_DELETED = "recording.retention_deleted"
    RECORDING_RETENTION_FAILED = "recording.retention_failed"
    # ONVIF
    ONVIF_DISCOVERY_STARTED = "onvif.discovery_started"
    ONVIF_SUBSCRIBED = "onvif.subscribed"

    @property
    def about(self) -> About:
        return CATALOGUE[self]


class Record(Protocol):
    """The shape of ``SecurityLog.record`` as services are handed it (result, user, source
    and details are keywords)."""

    def __call__(self, action: Event, /, *args: Any, **kwargs: Any) -> object: ...


class UnknownEvent(ValueError):
    """A security event name that is not a member of :class:`Event` (a programming error)."""


def event_named(name: str) -> Event:
    """The member whose value is ``name``; :class:`UnknownEvent` when there is none."""
    try:
        return Event(name)
    except ValueError:
        raise UnknownEvent(f"{name!r} is not a security event name: add it to "
                           "vigilcam.platform.events.Event") from None


@dataclass(frozen=True)
class About:
    """What an event means, the clauses it serves and where it appears."""

    description: str
    clauses: tuple[str, ...]
    where: str = "log"
    """``log``: a chained record; ``subscribers``: handed to the alert subscribers only (it
    could not be stored); ``alert``: an alert's event only; ``syslog``: a forwarder notice."""


def _a(description: str, *clauses: str, where: str = "log") -> About:
    return About(description, (LOG, *clauses) if where == "log" else clauses, where)


CATALOGUE: Mapping[Event, About] = {
    Event.AUTH_LOGIN: _a(
        "A login on any interface (web, RTSPS, ONVIF): result ok, or failure for the first few "
        "failures per source and minute; details name the interface and a new source.",
        LOGIN_ALERT, ACCESS_ALERT),
    Event.AUTH_LOGIN_FAILURES: _a(
        "Failed or throttled logins beyond the first few in one window, as one record with the "
        "count, the users tried and the first and last time.", LOGIN_ALERT, THROTTLE),
    Event.AUTH_LOCKOUT: _a(
        "A source or account reached the throttle's lockout (details: kind).",
        THROTTLE, LOGIN_ALERT),
    Event.AUTH_NEW_SOURCE: _a("A successful login from a source not seen before for that user.",
                              LOGIN_ALERT),
    Event.AUTH_LOGOUT: _a("A web session was ended by its user."),
    Event.AUTH_LOGOUT_ALL: _a("A user ended all their sessions (details: sessions ended)."),
    Event.AUTH_PASSWORD_CHANGED: _a("A user changed their password (first login included).",
                                    SETUP_SECRET),
    Event.USER_ADDED: _a("An account was added (details: target, role).", ROLES),
    Event.USER_DISABLED: _a("An account was disabled; its sessions end.", ROLES),
    Event.USER_ENABLED: _a("A disabled account was enabled again.", ROLES),
    Event.USER_PASSWORD_RESET: _a("An admin reset a user's password to a one-time password.",
                                  ROLES),
    Event.USER_ROLE_CHANGED: _a("An account's role changed (details: old, new).", ROLES),
    Event.TOKEN_CREATED: _a("An API token was created (details: token id, scopes).",
                            STORED_DATA),
    Event.TOKEN_REVOKED: _a("An API token was revoked.", STORED_DATA),
    Event.STREAM_CREDENTIAL_CREATED: _a("A user's RTSPS stream credential was made.",
                                        STORED_DATA),
    Event.STREAM_CREDENTIAL_ROTATED: _a("A stream credential was replaced; the old one stops "
                                        "working at once.", STORED_DATA),
    Event.STREAM_CREDENTIAL_REVOKED: _a("A stream credential was deleted.", STORED_DATA),
    Event.ONVIF_CREDENTIAL_CREATED: _a("A user's ONVIF credential was made.", STORED_DATA),
    Event.ONVIF_CREDENTIAL_ROTATED: _a("An ONVIF credential was replaced.", STORED_DATA),
    Event.ONVIF_CREDENTIAL_REVOKED: _a("An ONVIF credential was deleted.", STORED_DATA),
    Event.VIDEO_VIEW_STARTED: _a(
        "A viewer started watching live video or a recording (details: kind, stream, "
        "viewing id).", ACCESS_ALERT),
    Event.VIDEO_VIEW_ENDED: _a("A viewing session ended (details: seconds, reason)."),
    Event.VIDEO_VIEW_TERMINATED: _a("An admin cut another user's viewing session.", ROLES),
    Event.VIDEO_VIEW_REVOKED: _a(
        "A viewing session was cut because its grant was withdrawn (role, password, "
        "credential or account change).", ROLES),
    Event.VIDEO_PRIVACY_MODE: _a("Privacy mode (no live view, no recording) was turned on or "
                                 "off."),
    Event.TAMPER_COVERED: _a("The lens is covered (phase raised), or no longer (phase "
                             "cleared).", TAMPER_ALERT),
    Event.TAMPER_DEFOCUSED: _a("The picture is out of focus (raised), or sharp again "
                               "(cleared).", TAMPER_ALERT),
    Event.TAMPER_MOVED: _a("The camera was turned away from its view (raised), or back "
                           "(cleared).", TAMPER_ALERT),
    Event.TAMPER_REBASELINED: _a("The owner accepted the current view as the new normal.",
                                 TAMPER_ALERT),
    Event.MOTION_STARTED: _a("Motion began in a zone (details: zones, score)."),
    Event.MOTION_ENDED: _a("Motion ended; ONVIF subscribers learn IsMotion false."),
    Event.MEDIA_SIGNAL_LOST: _a("The video source stopped delivering frames.", TAMPER_ALERT,
                                RESILIENCE),
    Event.MEDIA_SIGNAL_RESTORED: _a("The video source delivers again (details: seconds down).",
                                    TAMPER_ALERT, RESILIENCE),
    Event.DEVICE_PROVISIONED: _a("First start: identity, keys and the setup secret were made "
                                 "(details: serial, model, version).", DEVICE_ID, SETUP_SECRET),
    Event.DEVICE_STARTED: _a("The service started (details: version, ports, source kind)."),
    Event.DEVICE_STOPPED: _a("The service stopped in order."),
    Event.DEVICE_UNCLEAN_SHUTDOWN: _a("At start: the previous run ended without stopping "
                                      "(power loss or crash).", TAMPER_ALERT, RESILIENCE),
    Event.DEVICE_RESTART_REQUESTED: _a("A restart was asked for (ONVIF SystemReboot)."),
    Event.DEVICE_FACTORY_RESET: _a("Factory reset: data erased, a new setup secret made, the "
                                   "device ID kept.", ERASE),
    Event.DEVICE_SETUP_SECRET_CREATED: _a("A new one-time setup secret was made (after an "
                                          "erase).", SETUP_SECRET),
    Event.DEVICE_SETUP_SECRET_RETIRED: _a("The setup secret was used and removed.",
                                          SETUP_SECRET),
    Event.CODE_VERIFICATION_FAILED: _a("At start: the installed code does not match its signed "
                                       "manifest; the start is refused.", SECURE_BOOT),
    Event.VAULT_ROLLBACK_DETECTED: _a("The vault is older than its anchor (an old copy was put "
                                      "back).", STORED_DATA),
    Event.HOST_DEVICE_ADDED: _a("A USB device or storage medium was plugged in.", HOTPLUG),
    Event.HOST_DEVICE_REMOVED: _a("A USB device or storage medium was unplugged.", HOTPLUG),
    Event.HOST_DEVICE_EVENTS_SUPPRESSED: _a("Hot-plug events over the budget, as a count.",
                                            HOTPLUG),
    Event.HOST_HOTPLUG_UNAVAILABLE: _a("Kernel hot-plug events cannot be read on this host.",
                                       HOTPLUG),
    Event.SECLOG_ROTATED: _a("The last record of a log file before it is sealed and archived "
                             "encrypted (details: sealed through seq)."),
    Event.SECLOG_WRITE_FAILED: _a(
        "A record could not be stored (disk full, write error); handed to the alert "
        "subscribers with seq 0 (details: pending, lost action).", LOG, LOG_STORE_ALERT,
        where="subscribers"),
    Event.SECLOG_TORN_WRITE_REPAIRED: _a("At start: a half-written last record (a crash) was "
                                         "cut.", RESILIENCE),
    Event.SECLOG_TAMPERING_DETECTED: _a("At start: the log, its head or its anchor do not agree "
                                        "(details: problems)."),
    Event.SECLOG_EXPORTED: _a("The log was exported (details: format, records)."),
    Event.SECLOG_VERIFIED: _a("The chain was verified on request (result: ok or failure)."),
    Event.SYSLOG_FORWARD_DROPPED: _a(
        "Syslog forwarding only: records dropped from the full forwarding queue, as a count "
        "(the log on disk keeps them).", LOG, where="syslog"),
    Event.ALERTS_CHANNEL_ADDED: _a("An alert channel was added (details: kind, host, "
                                   "categories).", LOGIN_ALERT),
    Event.ALERTS_CHANNEL_REMOVED: _a("An alert channel was removed (details: alerts dropped).",
                                     LOGIN_ALERT),
    Event.ALERTS_CHANNEL_FAILING: _a("A channel's deliveries have failed for a long time.",
                                     LOGIN_ALERT),
    Event.ALERTS_CHANNEL_RECOVERED: _a("A failing channel delivers again.", LOGIN_ALERT),
    Event.ALERTS_CORRUPT_DROPPED: _a("A damaged row of the alert outbox was dropped.",
                                     LOGIN_ALERT),
    Event.ALERTS_TEST: _a("The event of a test alert (never a log record).", LOGIN_ALERT,
                          where="alert"),
    Event.ALERTS_TEST_SENT: _a("Test alerts were sent (details: channels, delivered).",
                               LOGIN_ALERT),
    Event.ALERTS_OVERFLOW: _a("Alert only: security events arrived faster than alerts could be "
                              "queued (count).", LOGIN_ALERT, where="alert"),
    Event.CONFIG_MOTION_CHANGED: _a("Motion zones or sensitivity changed."),
    Event.CONFIG_MOTION_UNREADABLE: _a("At start: the motion settings could not be read; "
                                       "defaults are used.", RESILIENCE),
    Event.CONFIG_ONVIF_CHANGED: _a("ONVIF or its discovery was turned on or off.", SERVICES),
    Event.PRIVACY_MASKS_CHANGED: _a("Privacy masks changed (details: masks, applied)."),
    Event.PRIVACY_ERASE_STARTED: _a("The erase of all personal data began.", ERASE),
    Event.PRIVACY_ERASED: _a("All personal data was erased (details: what, how much).", ERASE),
    Event.UPDATE_CHECKED: _a("The update repository was asked (result: ok, or failure that is "
                             "not an attack).", UPDATE_CHECK, UPDATE_CHANNEL),
    Event.UPDATE_CONFIGURED: _a("The update repository or its schedule was configured.",
                                UPDATE_CHECK),
    Event.UPDATE_INSTALLED: _a("A release was installed and passed its health check.", UPDATE),
    Event.UPDATE_INSTALL_REQUESTED: _a("An admin asked for an install the camera service hands "
                                       "to the updater unit (packaged devices).", UPDATE),
    Event.UPDATE_REFUSED: _a("A release or its metadata was refused (signature, rollback, "
                             "freeze, tampered, code manifest).", UPDATE_CHANNEL, UPDATE),
    Event.UPDATE_ROLLED_BACK: _a("A release failed its health check, or the owner went back: "
                                 "the previous slot runs.", UPDATE),
    Event.RECORDING_EXPORTED: _a("Recordings were exported (result failure: refused)."),
    Event.RECORDING_DELETED: _a("Recordings were deleted on request."),
    Event.RECORDING_MODE_CHANGED: _a("The recording mode changed (details: old, new)."),
    Event.RECORDING_VERIFIED: _a("Recorded segments were verified on request.", STORED_DATA),
    Event.RECORDING_SEGMENT_REFUSED: _a("A segment failed authentication and was not played or "
                                        "exported.", STORED_DATA),
    Event.RECORDING_RECOVERED: _a("At start: an unfinished segment was finished or removed.",
                                  RESILIENCE),
    Event.RECORDING_UNAVAILABLE: _a("Recording cannot run (store or key unavailable).",
                                    RESILIENCE),
    Event.RECORDING_STOPPED: _a("The recorder stopped on an error.", RESILIENCE),
    Event.RECORDING_WRITE_FAILED: _a("The disk refused a write (full, read-only, failing); "
                                     "reported once.", RESILIENCE),
    Event.RECORDING_RESUMED: _a("Writes succeed again after a failure.", RESILIENCE),
    Event.RECORDING_SEGMENT_DROPPED: _a("A segment being written was dropped on an error.",
                                        RESILIENCE),
    Event.RECORDING_RETENTION_DELETED: _a("Retention deleted the oldest segments (age or "
                                          "space)."),
    Event.RECORDING_RETENTION_FAILED: _a("A retention pass failed.", RESILIENCE),
    Event.ONVIF_DISCOVERY_STARTED: _a("WS-Discovery started answering probes.", SERVICES),
    Event.ONVIF_SUBSCRIBED: _a("An ONVIF client subscribed to events (pull point)."),
}


TAMPER_EVENTS: Mapping[str, Event] = {
    "covered": Event.TAMPER_COVERED,
    "defocused": Event.TAMPER_DEFOCUSED,
    "moved": Event.TAMPER_MOVED,
}
"""The event of each kind the tamper detector raises and clears."""

