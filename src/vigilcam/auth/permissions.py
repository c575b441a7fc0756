"""The role and permission matrix: the single source of who may do what.

Serves IoT-1005-1 5.1.2.1 (roles such as user and administrator, permissions documented, and
enforcement that matches the documents). ``docs/roles.md`` is generated from this module and the
route table (``vigilcam.web.routes``); a test fails when they drift, and another walks every
route with every role and checks the answer equals this matrix.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


class Permission(StrEnum):
    VIEW_DEVICE = "view_device"
    CHANGE_OWN_PASSWORD = "change_own_password"
    VIEW_LIVE = "view_live"
    TAKE_SNAPSHOT = "take_snapshot"
    VIEW_RECORDINGS = "view_recordings"
    EXPORT_RECORDINGS = "export_recordings"
    CONFIGURE_MEDIA = "configure_media"
    MANAGE_VIEWERS = "manage_viewers"
    PRIVACY_MODE = "privacy_mode"
    MANAGE_USERS = "manage_users"
    MANAGE_TOKENS = "manage_tokens"
    VIEW_SECURITY_LOG = "view_security_log"
    EXPORT_SECURITY_LOG = "export_security_log"
    MANAGE_ALERTS = "manage_alerts"
    ERASE_DATA = "erase_data"
    MANAGE_UPDATES = "manage_updates"
    RESTART_DEVICE = "restart_device"
    CONFIGURE_SERVICES = "configure_services"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.VIEW_DEVICE: "See model, version, device ID, serial, certificate, support period",
    Permission.CHANGE_OWN_PASSWORD: "Change one's own password, log out, log out everywhere",
    Permission.VIEW_LIVE: "Watch live video (browser, RTSPS with a stream credential)",
    Permission.TAKE_SNAPSHOT: "Fetch a JPEG snapshot",
    Permission.VIEW_RECORDINGS: "Browse and play back recordings",
    Permission.EXPORT_RECORDINGS: "Export recordings as MP4 files",
    Permission.CONFIGURE_MEDIA: "Change recording mode, privacy masks, motion zones",
    Permission.MANAGE_VIEWERS: "See who is watching and end any viewing session",
    Permission.PRIVACY_MODE: "Switch privacy mode (all video output stopped)",
    Permission.MANAGE_USERS: "Add users, change roles, disable, reset passwords",
    Permission.MANAGE_TOKENS: "Create and revoke scoped API tokens",
    Permission.VIEW_SECURITY_LOG: "Read the security event log",
    Permission.EXPORT_SECURITY_LOG: "Export the security event log (CSV, JSON)",
    Permission.MANAGE_ALERTS: "Add, test and remove alert channels",
    Permission.ERASE_DATA: "Delete recordings, erase personal data, factory reset",
    Permission.MANAGE_UPDATES: "Check for and install signed software updates",
    Permission.RESTART_DEVICE: "Restart the camera service (ONVIF SystemReboot)",
    Permission.CONFIGURE_SERVICES: "Turn network services on or off (ONVIF, WS-Discovery)",
}

_VIEWER = frozenset(
    {
        Permission.VIEW_DEVICE,
        Permission.CHANGE_OWN_PASSWORD,
        Permission.VIEW_LIVE,
        Permission.TAKE_SNAPSHOT,
        Permission.VIEW_RECORDINGS,
    }
)
_OPERATOR = _VIEWER | {Permission.EXPORT_RECORDINGS, Permission.CONFIGURE_MEDIA}

MATRIX: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.ADMIN: frozenset(Permission),
}


def allowed(role: Role | str | None, permission: Permission) -> bool:
    if role is None:
        return False
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:
        return False
